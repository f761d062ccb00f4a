"""Rewards, their approvals, and the ledger queries."""

from __future__ import annotations

from collections.abc import Sequence

from storage.db import Connection, Row, fetch_all, fetch_one
from storage.records import RewardRecord

_COLUMNS = (
    "id, report_id, status, tier, amount_minor, currency, proposer_id, proposed_at,"
    " sealed_justification, finance_chat_id, finance_message_id, refused_by, refused_at,"
    " approved_at, code_for_receipt, offered_at, expires_at, paid_by, paid_at,"
    " payout_reference, id_checked, expired_at"
)


def _record(row: Row) -> RewardRecord:
    def blob(name: str) -> bytes | None:
        value = row[name]
        return bytes(value) if value is not None else None

    checked = row["id_checked"]
    return RewardRecord(
        id=row["id"],
        report_id=row["report_id"],
        status=row["status"],
        tier=row["tier"],
        amount_minor=row["amount_minor"],
        currency=row["currency"],
        proposer_id=row["proposer_id"],
        proposed_at=row["proposed_at"],
        sealed_justification=blob("sealed_justification"),
        finance_chat_id=row["finance_chat_id"],
        finance_message_id=row["finance_message_id"],
        refused_by=row["refused_by"],
        refused_at=row["refused_at"],
        approved_at=row["approved_at"],
        code_for_receipt=blob("code_for_receipt"),
        offered_at=row["offered_at"],
        expires_at=row["expires_at"],
        paid_by=row["paid_by"],
        paid_at=row["paid_at"],
        payout_reference=row["payout_reference"],
        id_checked=bool(checked) if checked is not None else None,
        expired_at=row["expired_at"],
    )


async def insert(
    conn: Connection,
    *,
    report_id: int,
    tier: str,
    amount_minor: int,
    currency: str,
    proposer_id: int,
    proposed_at: int,
    sealed_justification: bytes,
    finance_chat_id: int,
) -> int:
    return await conn.insert(
        "INSERT INTO rewards (report_id, status, tier, amount_minor, currency, proposer_id,"
        " proposed_at, sealed_justification, finance_chat_id)"
        " VALUES (?, 'proposed', ?, ?, ?, ?, ?, ?, ?)",
        (
            report_id,
            tier,
            amount_minor,
            currency,
            proposer_id,
            proposed_at,
            sealed_justification,
            finance_chat_id,
        ),
    )


async def by_id(conn: Connection, reward_id: int) -> RewardRecord | None:
    row = await fetch_one(conn, f"SELECT {_COLUMNS} FROM rewards WHERE id = ?", [reward_id])
    return _record(row) if row else None


async def latest_for_report(conn: Connection, report_id: int) -> RewardRecord | None:
    row = await fetch_one(
        conn,
        f"SELECT {_COLUMNS} FROM rewards WHERE report_id = ? ORDER BY id DESC LIMIT 1",
        [report_id],
    )
    return _record(row) if row else None


async def by_code_hash(conn: Connection, hashes: Sequence[bytes]) -> RewardRecord | None:
    marks = ", ".join("?" for _ in hashes)
    row = await fetch_one(
        conn, f"SELECT {_COLUMNS} FROM rewards WHERE code_hash IN ({marks})", hashes
    )
    return _record(row) if row else None


async def set_finance_message(conn: Connection, reward_id: int, message_id: int) -> None:
    await conn.run(
        "UPDATE rewards SET finance_message_id = ? WHERE id = ? AND finance_message_id IS NULL",
        (message_id, reward_id),
    )


async def forget_finance_message(conn: Connection, reward_id: int) -> None:
    """The reward is to be posted anew: its next post becomes the one that is refreshed."""
    await conn.run("UPDATE rewards SET finance_message_id = NULL WHERE id = ?", (reward_id,))


async def approvals(conn: Connection, reward_id: int) -> list[tuple[int, int]]:
    rows = await fetch_all(
        conn,
        "SELECT approver_id, at FROM reward_approvals WHERE reward_id = ? ORDER BY at",
        [reward_id],
    )
    return [(row[0], row[1]) for row in rows]


async def add_approval(conn: Connection, reward_id: int, approver_id: int, at: int) -> bool:
    changed = await conn.run(
        "INSERT INTO reward_approvals (reward_id, approver_id, at) VALUES (?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (reward_id, approver_id, at),
    )
    return changed == 1


async def refuse(conn: Connection, reward_id: int, by: int, at: int, sealed_reason: bytes) -> bool:
    changed = await conn.run(
        "UPDATE rewards SET status = 'refused', refused_by = ?, refused_at = ?,"
        " sealed_refusal = ? WHERE id = ? AND status = 'proposed'",
        (by, at, sealed_reason, reward_id),
    )
    return changed == 1


async def offer(
    conn: Connection,
    reward_id: int,
    *,
    at: int,
    expires_at: int,
    code_hash: bytes,
    code_for_receipt: bytes | None,
) -> bool:
    changed = await conn.run(
        "UPDATE rewards SET status = 'offered', approved_at = ?, offered_at = ?, expires_at = ?,"
        " code_hash = ?, code_for_receipt = ? WHERE id = ? AND status = 'proposed'",
        (at, at, expires_at, code_hash, code_for_receipt, reward_id),
    )
    return changed == 1


async def pay(
    conn: Connection,
    reward_id: int,
    *,
    by: int,
    at: int,
    payout_reference: str,
    id_checked: bool,
) -> bool:
    """Record the payout; the claim code stops working (its hash and sealed copy are erased)."""
    changed = await conn.run(
        "UPDATE rewards SET status = 'paid', paid_by = ?, paid_at = ?, payout_reference = ?,"
        " id_checked = ?, code_hash = NULL, code_for_receipt = NULL"
        " WHERE id = ? AND status = 'offered'",
        (by, at, payout_reference, int(id_checked), reward_id),
    )
    return changed == 1


async def expire(conn: Connection, reward_id: int, at: int) -> bool:
    changed = await conn.run(
        "UPDATE rewards SET status = 'expired', expired_at = ?, code_hash = NULL,"
        " code_for_receipt = NULL WHERE id = ? AND status = 'offered' AND expires_at <= ?",
        (at, reward_id, at),
    )
    return changed == 1


async def amount_approved_between(
    conn: Connection, start: int, end: int, statuses: Sequence[str]
) -> int:
    """Minor units of rewards approved in [start, end) that are now in one of `statuses`."""
    marks = ", ".join("?" for _ in statuses)
    row = await fetch_one(
        conn,
        "SELECT COALESCE(SUM(amount_minor), 0) FROM rewards"
        f" WHERE approved_at >= ? AND approved_at < ? AND status IN ({marks})",
        [start, end, *statuses],
    )
    return int(row[0]) if row else 0


async def for_ledger(conn: Connection, start: int, end: int) -> list[RewardRecord]:
    """Rewards proposed, approved or paid in [start, end)."""
    rows = await fetch_all(
        conn,
        f"SELECT {_COLUMNS} FROM rewards WHERE (proposed_at >= ? AND proposed_at < ?)"
        " OR (approved_at >= ? AND approved_at < ?) OR (paid_at >= ? AND paid_at < ?)"
        " ORDER BY id",
        [start, end, start, end, start, end],
    )
    return [_record(row) for row in rows]


async def by_status(conn: Connection, status: str) -> list[RewardRecord]:
    rows = await fetch_all(
        conn, f"SELECT {_COLUMNS} FROM rewards WHERE status = ? ORDER BY id", [status]
    )
    return [_record(row) for row in rows]


async def erase_sealed_for_report(conn: Connection, report_id: int) -> None:
    """Blank the sealed texts and the receipt-sealed code of the report's rewards."""
    await conn.run(
        "UPDATE rewards SET sealed_justification = NULL, sealed_refusal = NULL,"
        " code_for_receipt = NULL WHERE report_id = ?",
        (report_id,),
    )

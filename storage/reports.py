"""Submitted reports: insert, look up by receipt hash or id, contact removal."""

from __future__ import annotations

from collections.abc import Sequence

from storage.db import Connection, Row, fetch_all, fetch_one
from storage.records import ReportRecord

_COLUMNS = (
    "id, uid, reference, category, alias, language, status, key_id, wrapped_key, sealed_area, "
    "sealed_contact, review_chat_id, review_message_id, submitted_at, updated_at, holder_id,"
    " duplicate_of, receipt_box, verified_at, campaign"
)


def _report(row: Row) -> ReportRecord:
    def blob(name: str) -> bytes | None:
        value = row[name]
        return bytes(value) if value is not None else None

    return ReportRecord(
        id=row["id"],
        uid=row["uid"],
        reference=row["reference"],
        category=row["category"],
        alias=row["alias"],
        language=row["language"],
        status=row["status"],
        key_id=row["key_id"],
        wrapped_key=blob("wrapped_key"),
        sealed_area=blob("sealed_area"),
        sealed_contact=blob("sealed_contact"),
        review_chat_id=row["review_chat_id"],
        review_message_id=row["review_message_id"],
        submitted_at=row["submitted_at"],
        updated_at=row["updated_at"],
        holder_id=row["holder_id"],
        duplicate_of=row["duplicate_of"],
        receipt_box=blob("receipt_box"),
        verified_at=row["verified_at"],
        campaign=row["campaign"],
    )


async def next_sequence(conn: Connection, year: int) -> int:
    """The year's next tip number; no other writer takes one until the transaction ends."""
    await conn.lock(f"reports.seq:{year}")
    row = await fetch_one(
        conn, "SELECT COALESCE(MAX(seq), 0) + 1 FROM reports WHERE year = ?", [year]
    )
    return int(row[0]) if row else 1


async def insert(
    conn: Connection,
    *,
    uid: str,
    reference: str,
    year: int,
    seq: int,
    receipt_hash: bytes,
    category: str,
    alias: str,
    language: str,
    status: str,
    key_id: str,
    wrapped_key: bytes,
    sealed_area: bytes | None,
    sealed_contact: bytes | None,
    review_chat_id: int,
    now: int,
    receipt_box: bytes | None = None,
    contact_until: int | None = None,
    campaign: str | None = None,
) -> int:
    return await conn.insert(
        "INSERT INTO reports (uid, reference, year, seq, receipt_hash, category, alias, language,"
        " status, key_id, wrapped_key, sealed_area, sealed_contact, review_chat_id,"
        " submitted_at, updated_at, receipt_box, contact_until, campaign)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            uid,
            reference,
            year,
            seq,
            receipt_hash,
            category,
            alias,
            language,
            status,
            key_id,
            wrapped_key,
            sealed_area,
            sealed_contact,
            review_chat_id,
            now,
            now,
            receipt_box,
            contact_until if sealed_contact is not None else None,
            campaign,
        ),
    )


async def by_receipt(conn: Connection, hashes: Sequence[bytes]) -> ReportRecord | None:
    if not hashes:
        return None
    marks = ", ".join("?" for _ in hashes)
    row = await fetch_one(
        conn, f"SELECT {_COLUMNS} FROM reports WHERE receipt_hash IN ({marks})", hashes
    )
    return _report(row) if row else None


async def by_id(conn: Connection, report_id: int) -> ReportRecord | None:
    row = await fetch_one(conn, f"SELECT {_COLUMNS} FROM reports WHERE id = ?", [report_id])
    return _report(row) if row else None


async def clear_contact(conn: Connection, report_id: int, now: int) -> bool:
    changed = await conn.run(
        "UPDATE reports SET sealed_contact = NULL, updated_at = ?"
        " WHERE id = ? AND sealed_contact IS NOT NULL",
        (now, report_id),
    )
    return changed > 0


async def extend_contact(conn: Connection, report_id: int, until: int) -> None:
    """Keep the contact until at least `until` (a message to the tipster); a closed tip's
    contact is not extended: it goes once its last messages are out."""
    await conn.run(
        f"UPDATE reports SET contact_until = {conn.dialect.greatest}(COALESCE(contact_until, 0), ?)"
        " WHERE id = ? AND sealed_contact IS NOT NULL AND status != 'closed'",
        (until, report_id),
    )


async def end_contact_at(conn: Connection, report_id: int, at: int) -> None:
    """The contact goes as soon as nothing keeps it (the tip was closed)."""
    await conn.run(
        f"UPDATE reports SET contact_until = {conn.dialect.least}(COALESCE(contact_until, ?), ?)"
        " WHERE id = ? AND sealed_contact IS NOT NULL",
        (at, at, report_id),
    )


async def contacts_expired(
    conn: Connection, now: int, keep_for: Sequence[str], limit: int = 500
) -> list[int]:
    """Tips whose contact is past its time, with no message to the tipster waiting and no
    reward in one of the `keep_for` states."""
    marks = ", ".join("?" for _ in keep_for) or "NULL"
    rows = await fetch_all(
        conn,
        "SELECT r.id FROM reports r WHERE r.sealed_contact IS NOT NULL"
        " AND r.contact_until IS NOT NULL AND r.contact_until <= ?"
        " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.report_id = r.id"
        "   AND o.target = 'tipster' AND o.status = 'pending')"
        f" AND NOT EXISTS (SELECT 1 FROM rewards w WHERE w.report_id = r.id"
        f"   AND w.status IN ({marks}))"
        " ORDER BY r.contact_until LIMIT ?",
        [now, *keep_for, limit],
    )
    return [int(row[0]) for row in rows]


async def forget_review_message(conn: Connection, report_id: int) -> None:
    """The tip's card is to be posted anew: the next post's first message becomes the card."""
    await conn.run("UPDATE reports SET review_message_id = NULL WHERE id = ?", (report_id,))


async def set_review_message(conn: Connection, report_id: int, message_id: int) -> None:
    await conn.run(
        "UPDATE reports SET review_message_id = ? WHERE id = ? AND review_message_id IS NULL",
        (message_id, report_id),
    )


async def by_reference(conn: Connection, reference: str) -> ReportRecord | None:
    row = await fetch_one(conn, f"SELECT {_COLUMNS} FROM reports WHERE reference = ?", [reference])
    return _report(row) if row else None


async def move(
    conn: Connection,
    report_id: int,
    *,
    expected: str,
    status: str,
    holder_id: int | None,
    now: int,
    duplicate_of: int | None = None,
    verified_at: int | None = None,
    closed_at: int | None = None,
) -> bool:
    """Compare-and-set the status; False when someone else moved the report first. A given
    `verified_at` or `closed_at` replaces the stored one; None keeps it."""
    changed = await conn.run(
        "UPDATE reports SET status = ?, holder_id = ?, duplicate_of = ?, updated_at = ?,"
        " verified_at = COALESCE(?, verified_at), closed_at = COALESCE(?, closed_at)"
        " WHERE id = ? AND status = ?",
        (status, holder_id, duplicate_of, now, verified_at, closed_at, report_id, expected),
    )
    return changed == 1


async def list_by_status(
    conn: Connection, statuses: Sequence[str], review_chat_id: int, limit: int = 50
) -> list[ReportRecord]:
    """Reports in these states for one review chat, oldest first."""
    marks = ", ".join("?" for _ in statuses)
    rows = await fetch_all(
        conn,
        f"SELECT {_COLUMNS} FROM reports WHERE review_chat_id = ? AND status IN ({marks})"
        " ORDER BY submitted_at, id LIMIT ?",
        [review_chat_id, *statuses, limit],
    )
    return [_report(row) for row in rows]


async def list_recent(conn: Connection, review_chat_id: int, limit: int) -> list[ReportRecord]:
    rows = await fetch_all(
        conn,
        f"SELECT {_COLUMNS} FROM reports WHERE review_chat_id = ? AND wrapped_key IS NOT NULL"
        " ORDER BY id DESC LIMIT ?",
        [review_chat_id, limit],
    )
    return [_report(row) for row in rows]


async def due_for_shredding(
    conn: Connection, closed_before: int, limit: int = 100
) -> list[ReportRecord]:
    rows = await fetch_all(
        conn,
        f"SELECT {_COLUMNS} FROM reports WHERE closed_at IS NOT NULL AND closed_at <= ?"
        " AND shredded_at IS NULL ORDER BY closed_at LIMIT ?",
        [closed_before, limit],
    )
    return [_report(row) for row in rows]


async def erase_content(conn: Connection, report_id: int, now: int) -> None:
    """Drop the report's data key and sealed fields; the bare record stays."""
    await conn.run(
        "UPDATE reports SET key_id = NULL, wrapped_key = NULL, sealed_area = NULL,"
        " sealed_contact = NULL, receipt_box = NULL, shredded_at = ? WHERE id = ?",
        (now, report_id),
    )


async def linked_to(conn: Connection, report_id: int, status: str) -> list[str]:
    """References of the tips in `status` that link to this one as their original."""
    rows = await fetch_all(
        conn,
        "SELECT reference FROM reports WHERE duplicate_of = ? AND status = ? ORDER BY id",
        [report_id, status],
    )
    return [row[0] for row in rows]

"""The outbox: messages committed with the change that causes them, drained by the sender."""

from __future__ import annotations

from collections.abc import Sequence

from storage.db import Connection, Row, fetch_all
from storage.records import OutboxRecord

_COLUMNS = (
    "id, report_id, target, chat_id, kind, sealed_payload, not_before, status, parts_sent,"
    " anchor_message_id, attempts"
)


def _record(row: Row) -> OutboxRecord:
    payload = row["sealed_payload"]
    return OutboxRecord(
        id=row["id"],
        report_id=row["report_id"],
        target=row["target"],
        chat_id=row["chat_id"],
        kind=row["kind"],
        sealed_payload=bytes(payload) if payload is not None else None,
        not_before=row["not_before"],
        status=row["status"],
        parts_sent=row["parts_sent"],
        anchor_message_id=row["anchor_message_id"],
        attempts=row["attempts"],
    )


async def enqueue(
    conn: Connection,
    *,
    target: str,
    kind: str,
    now: int,
    not_before: int,
    report_id: int | None = None,
    chat_id: int | None = None,
    sealed_payload: bytes | None = None,
) -> int:
    return await conn.insert(
        "INSERT INTO outbox (report_id, target, chat_id, kind, sealed_payload, not_before,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (report_id, target, chat_id, kind, sealed_payload, not_before, now),
    )


async def pending(conn: Connection, target: str, limit: int) -> list[OutboxRecord]:
    """Pending rows for one kind of recipient, in creation order; the sender decides which are
    due and in what order."""
    rows = await fetch_all(
        conn,
        f"SELECT {_COLUMNS} FROM outbox WHERE status = 'pending' AND target = ?"
        " ORDER BY id LIMIT ?",
        [target, limit],
    )
    return [_record(row) for row in rows]


async def record_part(
    conn: Connection, outbox_id: int, parts_sent: int, anchor_message_id: int | None
) -> None:
    await conn.run(
        "UPDATE outbox SET parts_sent = ?, anchor_message_id = COALESCE(anchor_message_id, ?)"
        " WHERE id = ?",
        (parts_sent, anchor_message_id, outbox_id),
    )


async def finish(
    conn: Connection,
    outbox_id: int,
    status: str,
    now: int,
    error: str | None = None,
    *,
    not_before: int | None = None,
) -> None:
    """Close a row; its sealed payload is no longer needed and is erased. A given
    `not_before` replaces the due time it was sent at."""
    await conn.run(
        "UPDATE outbox SET status = ?, finished_at = ?, last_error = ?, sealed_payload = NULL,"
        " not_before = COALESCE(?, not_before) WHERE id = ?",
        (status, now, error, not_before, outbox_id),
    )


async def held_back(conn: Connection, kind: str, report_ids: Sequence[int], now: int) -> set[int]:
    """Of these reports, those with a pending row of this kind due only after `now`."""
    if not report_ids:
        return set()
    marks = ", ".join("?" for _ in report_ids)
    rows = await fetch_all(
        conn,
        "SELECT report_id FROM outbox WHERE status = 'pending' AND kind = ? AND not_before > ?"
        f" AND report_id IN ({marks})",
        [kind, now, *report_ids],
    )
    return {int(row[0]) for row in rows}


async def drop_pending(conn: Connection, report_id: int, kind: str, now: int) -> int:
    """End the report's pending rows of one kind unsent (they are queued anew)."""
    changed = await conn.run(
        "UPDATE outbox SET status = 'dropped', finished_at = ?, sealed_payload = NULL"
        " WHERE status = 'pending' AND report_id = ? AND kind = ?",
        (now, report_id, kind),
    )
    return changed


async def purge_finished(conn: Connection, before: int, limit: int) -> int:
    """Delete up to `limit` rows finished before `before` (sent, failed or dropped)."""
    changed = await conn.run(
        "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox"
        " WHERE status != 'pending' AND finished_at < ? LIMIT ?)",
        (before, limit),
    )
    return changed


async def record_attempt(conn: Connection, outbox_id: int, error: str) -> None:
    await conn.run(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
        (error, outbox_id),
    )


async def delay(conn: Connection, outbox_id: int, not_before: int) -> None:
    await conn.run("UPDATE outbox SET not_before = ? WHERE id = ?", (not_before, outbox_id))


async def erase_for_report(conn: Connection, report_id: int, now: int) -> None:
    """Drop the report's pending rows and blank every payload of its rows."""
    await conn.run(
        "UPDATE outbox SET status = 'dropped', finished_at = ? WHERE report_id = ?"
        " AND status = 'pending'",
        (now, report_id),
    )
    await conn.run("UPDATE outbox SET sealed_payload = NULL WHERE report_id = ?", (report_id,))


async def pending_notices(conn: Connection) -> list[tuple[int, int, bytes]]:
    """(id, chat, sealed payload) of pending rows about no tip (sealed under a transient key)."""
    rows = await fetch_all(
        conn,
        "SELECT id, chat_id, sealed_payload FROM outbox WHERE status = 'pending'"
        " AND report_id IS NULL AND sealed_payload IS NOT NULL AND chat_id IS NOT NULL",
    )
    return [(int(row[0]), int(row[1]), bytes(row[2])) for row in rows]


async def reseal(conn: Connection, outbox_id: int, sealed: bytes) -> None:
    await conn.run("UPDATE outbox SET sealed_payload = ? WHERE id = ?", (sealed, outbox_id))

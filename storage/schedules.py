"""Due times of scheduled work, claimed by compare-and-set so each runs once."""

from __future__ import annotations

from storage.db import Connection, fetch_all
from storage.records import ScheduleRecord


async def add(
    conn: Connection,
    *,
    kind: str,
    due_at: int,
    report_id: int | None = None,
    reward_id: int | None = None,
) -> int:
    return await conn.insert(
        "INSERT INTO schedules (kind, report_id, reward_id, due_at) VALUES (?, ?, ?, ?)",
        (kind, report_id, reward_id, due_at),
    )


async def due(conn: Connection, now: int, limit: int = 100) -> list[ScheduleRecord]:
    rows = await fetch_all(
        conn,
        "SELECT id, kind, report_id, reward_id, due_at FROM schedules"
        " WHERE status = 'pending' AND due_at <= ? ORDER BY due_at, id LIMIT ?",
        [now, limit],
    )
    return [
        ScheduleRecord(row["id"], row["kind"], row["report_id"], row["reward_id"], row["due_at"])
        for row in rows
    ]


async def claim(conn: Connection, schedule_id: int, now: int) -> bool:
    """Mark one due row done; False when another sweeper already took it."""
    changed = await conn.run(
        "UPDATE schedules SET status = 'done', done_at = ? WHERE id = ? AND status = 'pending'",
        (now, schedule_id),
    )
    return changed == 1


async def cancel(conn: Connection, *, reward_id: int) -> None:
    await conn.run(
        "UPDATE schedules SET status = 'cancelled' WHERE reward_id = ? AND status = 'pending'",
        (reward_id,),
    )


async def pending_of_kind(conn: Connection, kind: str) -> bool:
    rows = await fetch_all(
        conn, "SELECT 1 FROM schedules WHERE kind = ? AND status = 'pending' LIMIT 1", [kind]
    )
    return bool(rows)


async def pending_for(conn: Connection, kind: str, report_id: int) -> bool:
    """Whether the report has a pending row of this kind."""
    rows = await fetch_all(
        conn,
        "SELECT 1 FROM schedules WHERE kind = ? AND status = 'pending' AND report_id = ? LIMIT 1",
        [kind, report_id],
    )
    return bool(rows)


async def pending_for_reports(conn: Connection, kind: str) -> dict[int, int]:
    """Reports with pending rows of this kind, each with its latest due time."""
    rows = await fetch_all(
        conn,
        "SELECT report_id, MAX(due_at) FROM schedules WHERE kind = ? AND status = 'pending'"
        " AND report_id IS NOT NULL GROUP BY report_id",
        [kind],
    )
    return {int(row[0]): int(row[1]) for row in rows}

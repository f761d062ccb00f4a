"""Plain rows for the desk's statistics (bot.domain.stats aggregates them): no sealed field,
no free text, no staff id leaves these queries."""

from __future__ import annotations

from collections.abc import Sequence

from storage.db import Connection, fetch_all, fetch_one

_DECISIONS = ("verified", "unfounded", "duplicate", "spam")


async def submitted(conn: Connection, chat_id: int, start: int, end: int) -> list[tuple[str, int]]:
    """(category, submitted_at) of the chat's tips submitted in [start, end) and posted there
    (a tip still held back by its random delay is not counted: counting it would tell the
    desk that it arrived)."""
    rows = await fetch_all(
        conn,
        "SELECT category, submitted_at FROM reports"
        " WHERE review_chat_id = ? AND submitted_at >= ? AND submitted_at < ?"
        " AND review_message_id IS NOT NULL",
        [chat_id, start, end],
    )
    return [(row[0], row[1]) for row in rows]


async def campaigns(conn: Connection, chat_id: int, start: int, end: int) -> dict[str, int]:
    """Tips per campaign key among the chat's tips submitted in [start, end) and posted
    there (tips from no campaign are not counted)."""
    rows = await fetch_all(
        conn,
        "SELECT campaign, COUNT(*) FROM reports"
        " WHERE review_chat_id = ? AND submitted_at >= ? AND submitted_at < ?"
        " AND review_message_id IS NOT NULL AND campaign IS NOT NULL GROUP BY campaign",
        [chat_id, start, end],
    )
    return {row[0]: row[1] for row in rows}


async def by_status(conn: Connection, chat_id: int, statuses: Sequence[str]) -> dict[str, int]:
    """The chat's posted tips in these states, now."""
    marks = ", ".join("?" * len(statuses))
    rows = await fetch_all(
        conn,
        f"SELECT status, COUNT(*) FROM reports WHERE review_chat_id = ? AND status IN ({marks})"
        " AND review_message_id IS NOT NULL GROUP BY status",
        [chat_id, *statuses],
    )
    return {row[0]: row[1] for row in rows}


async def first_event_delays(
    conn: Connection, chat_id: int, start: int, end: int, *, decision: bool
) -> list[int]:
    """Seconds from submission to the first claim (or the first decision) of each tip of the
    chat submitted in [start, end) that has one."""
    condition = (
        f"e.to_status IN ({', '.join('?' * len(_DECISIONS))})" if decision else "e.action = ?"
    )
    params: list[object] = list(_DECISIONS) if decision else ["claim"]
    rows = await fetch_all(
        conn,
        "SELECT MIN(e.at) - r.submitted_at FROM reports r JOIN report_events e"
        f" ON e.report_id = r.id AND {condition}"
        " WHERE r.review_chat_id = ? AND r.submitted_at >= ? AND r.submitted_at < ?"
        " GROUP BY r.id",
        [*params, chat_id, start, end],
    )
    return [max(0, row[0]) for row in rows]


async def past_reminder(conn: Connection, chat_id: int, kind: str) -> int:
    """The chat's unclaimed tips whose reminder has gone out."""
    row = await fetch_one(
        conn,
        "SELECT COUNT(DISTINCT r.id) FROM reports r JOIN schedules s ON s.report_id = r.id"
        " WHERE r.review_chat_id = ? AND r.status = 'new' AND s.kind = ? AND s.status = 'done'",
        [chat_id, kind],
    )
    return int(row[0]) if row else 0


async def outcomes(conn: Connection, chat_id: int, start: int, end: int) -> list[tuple[int, int]]:
    """(arrested, heroin mg) of the chat's outcomes recorded in [start, end)."""
    rows = await fetch_all(
        conn,
        "SELECT o.arrested, o.heroin_eq_mg FROM outcomes o JOIN reports r ON r.id = o.report_id"
        " WHERE r.review_chat_id = ? AND o.recorded_at >= ? AND o.recorded_at < ?",
        [chat_id, start, end],
    )
    return [(row[0], row[1]) for row in rows]


async def reward_month(
    conn: Connection, start: int, end: int
) -> tuple[dict[str, int], dict[str, int]]:
    """Counts and amounts of rewards proposed, approved, paid and expired in [start, end)."""
    counts: dict[str, int] = {}
    amounts: dict[str, int] = {}
    for name, column in (
        ("proposed", "proposed_at"),
        ("approved", "approved_at"),
        ("paid", "paid_at"),
        ("expired", "expired_at"),
    ):
        row = await fetch_one(
            conn,
            f"SELECT COUNT(*), COALESCE(SUM(amount_minor), 0) FROM rewards"
            f" WHERE {column} >= ? AND {column} < ?",
            [start, end],
        )
        counts[name], amounts[name] = (int(row[0]), int(row[1])) if row else (0, 0)
    return counts, amounts

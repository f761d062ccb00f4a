"""The one way a report changes state: checked against the table, then compare-and-set."""

from __future__ import annotations

from bot.domain.errors import RaceLost
from bot.domain.report import ReportStatus, plan_move
from storage import reports
from storage.db import Connection
from storage.records import ReportRecord


async def move_report(
    conn: Connection,
    report: ReportRecord,
    target: ReportStatus,
    *,
    holder_id: int | None,
    now: int,
    duplicate_of: int | None = None,
) -> ReportRecord:
    """Move `report` to `target` and return it as it is now. TransitionError when the table
    forbids the move; RaceLost when someone else moved the report first."""
    move = plan_move(ReportStatus(report.status), target, now)
    moved = await reports.move(
        conn,
        report.id,
        expected=move.current,
        status=move.target,
        holder_id=holder_id,
        now=now,
        duplicate_of=duplicate_of,
        verified_at=move.verified_at,
        closed_at=move.closed_at,
    )
    fresh = await reports.by_id(conn, report.id)
    if not moved or fresh is None:
        raise RaceLost(
            reference=report.reference,
            holder_id=fresh.holder_id if fresh else None,
            status=fresh.status if fresh else "",
        )
    if move.target is ReportStatus.CLOSED:  # a closed tip keeps no way to its tipster
        await reports.end_contact_at(conn, report.id, now)
    return fresh

"""The desk's statistics: a review chat's tips, backlog, delays and outcomes; the reward
scheme's months against the budget. Aggregates only (bot.domain.stats); drawing is
bot.telegram.charts'."""

from __future__ import annotations

from bot.domain.deadlines import month_bounds
from bot.domain.report import ReportStatus
from bot.domain.schedule import ScheduleKind
from bot.domain.stats import (
    FinanceStats,
    MonthMoney,
    Period,
    ReviewStats,
    last_months,
    review_stats,
)
from bot.services.base import UseCases
from storage import stats as stats_repo

_BACKLOG = (ReportStatus.NEW, ReportStatus.IN_REVIEW, ReportStatus.AWAITING_TIPSTER)


class StatsService(UseCases):
    async def review(self, chat_id: int, period: Period) -> ReviewStats:
        """One review chat over the period; the backlog and reminders as they are now."""
        async with self._db.read() as conn:
            submitted = await stats_repo.submitted(conn, chat_id, period.start, period.end)
            backlog = await stats_repo.by_status(conn, chat_id, [s.value for s in _BACKLOG])
            claims = await stats_repo.first_event_delays(
                conn, chat_id, period.start, period.end, decision=False
            )
            decisions = await stats_repo.first_event_delays(
                conn, chat_id, period.start, period.end, decision=True
            )
            reminded = await stats_repo.past_reminder(conn, chat_id, ScheduleKind.SLA_REMINDER)
            outcome_rows = await stats_repo.outcomes(conn, chat_id, period.start, period.end)
        ordered = {s.value: backlog.get(s.value, 0) for s in _BACKLOG}
        return review_stats(period, submitted, ordered, claims, decisions, reminded, outcome_rows)

    async def finance(self, year: int, month: int) -> FinanceStats:
        """The six months ending with this one."""
        months: list[MonthMoney] = []
        async with self._db.read() as conn:
            for y, m in last_months(year, month):
                start, end = month_bounds(y, m)
                counts, amounts = await stats_repo.reward_month(conn, start, end)
                months.append(MonthMoney(f"{y}-{m:02d}", counts, amounts))
        return FinanceStats(tuple(months), self._policy.rewards.monthly_budget_minor)

"""The desk's statistics: a review chat's tips, backlog, delays and outcomes; the reward
scheme's months against the budget. Aggregates only (bot.domain.stats); drawing is
bot.telegram.charts'. The CLI (`tipline stats --csv`) reads the same functions."""

from __future__ import annotations

import csv
import io

from bot.domain.localtime import LocalTime
from bot.domain.report import ReportStatus
from bot.domain.schedule import ScheduleKind
from bot.domain.stats import (
    FINANCE_SERIES,
    FinanceStats,
    MonthMoney,
    Period,
    ReviewStats,
    last_months,
    review_stats,
    shown,
)
from bot.services.base import UseCases
from storage import stats as stats_repo
from storage.db import Connection

_BACKLOG = (ReportStatus.NEW, ReportStatus.IN_REVIEW, ReportStatus.AWAITING_TIPSTER)


async def review_of(conn: Connection, chat_id: int, period: Period) -> ReviewStats:
    """One review chat over the period; the backlog and reminders as they are now."""
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
    campaigns = await stats_repo.campaigns(conn, chat_id, period.start, period.end)
    ordered = {s.value: backlog.get(s.value, 0) for s in _BACKLOG}
    return review_stats(
        period, submitted, ordered, claims, decisions, reminded, outcome_rows, campaigns
    )


async def finance_of(
    conn: Connection, year: int, month: int, budget_minor: int, local: LocalTime
) -> FinanceStats:
    """The six (local) months ending with this one."""
    months: list[MonthMoney] = []
    for y, m in last_months(year, month):
        start, end = local.month_bounds(y, m)
        counts, amounts = await stats_repo.reward_month(conn, start, end)
        months.append(MonthMoney(f"{y}-{m:02d}", counts, amounts))
    return FinanceStats(tuple(months), budget_minor)


def stats_csv(reviews: dict[int, ReviewStats], finance: FinanceStats) -> str:
    """The aggregates as CSV, one figure a row, counts of 1-4 as "<5" like the charts."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "review_chat", "period", "key", "detail", "value"])
    for chat, stats in reviews.items():
        label = stats.period.label
        for week in stats.weeks:
            for category in stats.categories:
                count = stats.per_week[week][category]
                writer.writerow(["tips_per_week", chat, label, week, category, shown(count)])
        for state, count in stats.backlog.items():
            writer.writerow(["backlog_now", chat, label, state, "", shown(count)])
        for key, value in (
            ("median_claim_seconds", stats.median_claim_s),
            ("median_decision_seconds", stats.median_decision_s),
        ):
            writer.writerow(["review", chat, label, key, "", "" if value is None else value])
        writer.writerow(
            ["review", chat, label, "past_reminder_now", "", shown(stats.past_reminder)]
        )
        writer.writerow(["outcomes", chat, label, "recorded", "", shown(stats.outcomes)])
        writer.writerow(["outcomes", chat, label, "arrested", "", shown(stats.arrested)])
        writer.writerow(["outcomes", chat, label, "heroin_eq_mg", "", stats.heroin_eq_mg])
        for campaign, count in stats.campaigns.items():
            writer.writerow(["tips_per_campaign", chat, label, campaign, "", shown(count)])
    for month in finance.months:
        for series in FINANCE_SERIES:
            shown_count = shown(month.counts[series])
            writer.writerow(["rewards", "", month.month, series, "count", shown_count])
            writer.writerow(
                ["rewards", "", month.month, series, "amount_minor", month.amounts[series]]
            )
    writer.writerow(["rewards", "", "", "monthly_budget", "amount_minor", finance.budget_minor])
    return out.getvalue()


class StatsService(UseCases):
    async def review(self, chat_id: int, period: Period) -> ReviewStats:
        async with self._db.read() as conn:
            return await review_of(conn, chat_id, period)

    async def finance(self, year: int, month: int) -> FinanceStats:
        async with self._db.read() as conn:
            budget = self._policy.rewards.monthly_budget_minor
            return await finance_of(conn, year, month, budget, self._local)

"""Statistics for the desk: aggregates only, never a tip's text, a free-text area or a name.

A count from 1 to 4 in a cell is shown as "<5" (SMALL_COUNT), so a chart or a digest cannot
single out one tip, one tipster or one day; 0 stays 0. The numbers are computed here from
plain rows (storage gives them), and rendered elsewhere (bot.telegram.charts): nothing in this
module does I/O or draws.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from bot.domain.deadlines import month_bounds
from bot.domain.localtime import format_date

SMALL_COUNT = 5
WEEK = 7 * 86_400
MAX_CATEGORY_SERIES = 4  # more categories are summed as OTHER: few series, readable on a phone
# The series of the categories beyond those: not an identifier, so never a category's key.
OTHER = "+other"
FINANCE_MONTHS = 6
MAX_CAMPAIGNS_SHOWN = 5  # in a caption; more are summed as "other campaigns" (the CSV has all)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def shown(count: int) -> str:
    """A count as a cell shows it: "<5" for 1-4."""
    return f"<{SMALL_COUNT}" if 0 < count < SMALL_COUNT else str(count)


def is_small(count: int) -> bool:
    return 0 < count < SMALL_COUNT


def median(values: Iterable[int]) -> int | None:
    """The median of whole seconds (the lower middle of an even count); None when empty."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[(len(ordered) - 1) // 2]


@dataclass(frozen=True)
class Period:
    start: int
    end: int  # exclusive
    label: str
    zone: tzinfo  # the zone its days, weeks and months are counted in


class BadPeriod(ValueError):
    """Not `week`, `month` or YYYY-MM."""


def parse_period(argument: str | None, now: int, zone: tzinfo) -> Period:
    """`week` (the last 7 days), `month` (this calendar month, the default) or YYYY-MM, in
    the zone's calendar."""
    moment = datetime.fromtimestamp(now, zone)
    text = (argument or "month").strip().lower()
    if text == "week":
        since = now - WEEK
        label = f"{format_date(since, zone)} – {format_date(now, zone)}"
        return Period(since, now + 1, label, zone)
    if text == "month":
        year, month = moment.year, moment.month
    else:
        match = _MONTH.match(text)
        if match is None or not 1 <= int(match.group(2)) <= 12:
            raise BadPeriod(text)
        year, month = int(match.group(1)), int(match.group(2))
    start, end = month_bounds(year, month, zone)
    return Period(start, end, f"{year}-{month:02d}", zone)


def week_start(at: int, zone: tzinfo) -> str:
    """The Monday of the (local) week of `at`, as YYYY-MM-DD."""
    day = datetime.fromtimestamp(at, zone).date()
    return (day - timedelta(days=day.weekday())).isoformat()


@dataclass(frozen=True)
class ReviewStats:
    """One review chat over a period."""

    period: Period
    weeks: tuple[str, ...]  # Mondays, oldest first
    categories: tuple[str, ...]  # series keys, the biggest first; OTHER last if any
    per_week: dict[str, dict[str, int]]  # week -> category -> tips
    backlog: dict[str, int]  # open state -> tips (now)
    median_claim_s: int | None
    median_decision_s: int | None
    past_reminder: int  # unclaimed tips whose reminder has gone out (now)
    outcomes: int  # tips whose outcome was recorded in the period
    arrested: int
    heroin_eq_mg: int
    total: int = field(default=0)
    campaigns: dict[str, int] = field(default_factory=dict)  # campaign key -> tips, by key


def review_stats(
    period: Period,
    submitted: Sequence[tuple[str, int]],
    backlog: dict[str, int],
    claim_delays: Iterable[int],
    decision_delays: Iterable[int],
    past_reminder: int,
    outcome_rows: Sequence[tuple[int, int]],
    campaign_counts: Mapping[str, int] | None = None,
) -> ReviewStats:
    """The aggregates from plain rows: (category, submitted_at) per tip of the period,
    the open tips by state, delays in seconds, (arrested, heroin mg) per outcome, and the
    period's tips per campaign key."""
    submitted = [(c, at) for c, at in submitted if period.start <= at < period.end]
    totals: dict[str, int] = {}
    for category, _ in submitted:
        totals[category] = totals.get(category, 0) + 1
    ranked = sorted(totals, key=lambda c: (-totals[c], c))
    kept = ranked[:MAX_CATEGORY_SERIES] if len(ranked) > MAX_CATEGORY_SERIES + 1 else ranked
    series = tuple(kept) + ((OTHER,) if len(kept) < len(ranked) else ())
    weeks: list[str] = []
    cursor = period.start
    while cursor < period.end:
        label = week_start(cursor, period.zone)
        if label not in weeks:
            weeks.append(label)
        cursor += 86_400
    per_week: dict[str, dict[str, int]] = {w: dict.fromkeys(series, 0) for w in weeks}
    for category, at in submitted:
        week = week_start(at, period.zone)
        if week not in per_week:
            continue
        name = category if category in kept else OTHER
        per_week[week][name] += 1
    return ReviewStats(
        period=period,
        weeks=tuple(weeks),
        categories=series,
        per_week=per_week,
        backlog=dict(backlog),
        median_claim_s=median(claim_delays),
        median_decision_s=median(decision_delays),
        past_reminder=past_reminder,
        outcomes=len(outcome_rows),
        arrested=sum(a for a, _ in outcome_rows),
        heroin_eq_mg=sum(h for _, h in outcome_rows),
        total=len(submitted),
        campaigns={k: n for k, n in sorted((campaign_counts or {}).items()) if n > 0},
    )


def campaigns_shown(
    counts: Mapping[str, int], order: Sequence[str]
) -> tuple[list[tuple[str, int]], int]:
    """The campaigns a caption names, with their tips: in the policy's `order` (keys it no
    longer lists after those, by key, never by count, which "<5" hides), at most
    MAX_CAMPAIGNS_SHOWN of them; and the tips of the campaigns left out, summed."""
    listed = [key for key in order if counts.get(key, 0) > 0]
    gone = sorted(key for key, count in counts.items() if count > 0 and key not in order)
    ranked = listed + gone
    kept = ranked[:MAX_CAMPAIGNS_SHOWN] if len(ranked) > MAX_CAMPAIGNS_SHOWN + 1 else ranked
    return [(key, counts[key]) for key in kept], sum(counts[key] for key in ranked[len(kept) :])


@dataclass(frozen=True)
class MonthMoney:
    """One month of the reward scheme: counts and amounts (minor units) by what happened."""

    month: str
    counts: dict[str, int]  # proposed, approved, paid, expired
    amounts: dict[str, int]


FINANCE_SERIES = ("proposed", "approved", "paid", "expired")


@dataclass(frozen=True)
class FinanceStats:
    months: tuple[MonthMoney, ...]  # oldest first, the asked month last
    budget_minor: int


def last_months(year: int, month: int, count: int = FINANCE_MONTHS) -> list[tuple[int, int]]:
    """The `count` months ending with (year, month), oldest first."""
    found: list[tuple[int, int]] = []
    for _ in range(count):
        found.append((year, month))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return found[::-1]


def format_duration(seconds: int | None) -> str:
    """A median delay as people read it: 45 min, 3.5 h, 2.0 d; "–" without data."""
    if seconds is None:
        return "–"
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} min"
    if seconds < 2 * 86_400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86_400:.1f} d"

"""Deadline arithmetic in UTC: working days (Monday to Friday) and calendar months."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta


def add_working_days(at: int, days: int) -> int:
    """The moment `days` working days (Mon-Fri) after `at`; public holidays are not known."""
    moment = datetime.fromtimestamp(at, UTC)
    added = 0
    while added < days:
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            added += 1
    return int(moment.timestamp())


def add_months(at: int, months: int) -> int:
    """Same day and time `months` later, clamped to the end of a shorter month."""
    moment = datetime.fromtimestamp(at, UTC)
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp())


def month_bounds(year: int, month: int) -> tuple[int, int]:
    """[start, end) of a calendar month in UTC, as timestamps."""
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return int(start.timestamp()), int(end.timestamp())

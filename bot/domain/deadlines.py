"""Deadline arithmetic in the line's time zone: working days and calendar months.

Which days are working days is the official calendar's answer (public holidays off, make-up
working days on) for the years it knows, and Monday to Friday otherwise. The calendar itself
is given from outside the domain (bot.services.holidays): this module only counts.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta, tzinfo
from typing import Protocol


class OfficialCalendar(Protocol):
    """The official calendar of working days where the line runs."""

    def is_working_day(self, day: date) -> bool | None:
        """True or False as the calendar says; None for a year it has no data for."""


def is_working_day(day: date, official: OfficialCalendar | None) -> bool:
    """The official calendar's answer, or Monday to Friday where it has none."""
    known = official.is_working_day(day) if official is not None else None
    return day.weekday() < 5 if known is None else known


def add_working_days(
    at: int, days: int, zone: tzinfo, official: OfficialCalendar | None = None
) -> int:
    """The moment `days` working days after `at`, at the same local time of day."""
    moment = datetime.fromtimestamp(at, zone)
    day = moment.date()
    added = 0
    while added < days:
        day += timedelta(days=1)
        if is_working_day(day, official):
            added += 1
    return _local(day, moment, zone)


def add_months(at: int, months: int, zone: tzinfo) -> int:
    """Same local day and time `months` later, clamped to the end of a shorter month."""
    moment = datetime.fromtimestamp(at, zone)
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return _local(date(year, month, day), moment, zone)


def month_bounds(year: int, month: int, zone: tzinfo) -> tuple[int, int]:
    """[start, end) of a calendar month in the zone, as timestamps."""
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    return int(start.timestamp()), int(end.timestamp())


def _local(day: date, moment: datetime, zone: tzinfo) -> int:
    """`day` at `moment`'s local time of day (a time a clock change skips moves on with it)."""
    return int(datetime.combine(day, moment.timetz().replace(tzinfo=zone)).timestamp())

"""The line's local time and official calendar: how every date and time is shown to people,
which local month or week a moment falls in, and the deadlines counted in working days.

Times are stored in UTC (timestamps) and turned into the zone of `[locale] timezone` only
here, where they are shown or counted. A time says its zone as its offset from UTC at that
moment ("2026-10-08 14:00 UTC+8"); a date alone is the local calendar day ("2026-10-08").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from bot.domain import deadlines
from bot.domain.deadlines import OfficialCalendar

_Day = date  # the type, which LocalTime.date (a method) hides inside the class


def zone_label(at: int, zone: tzinfo) -> str:
    """The zone as its offset from UTC at `at`: "UTC+8", "UTC-3", "UTC+5:30", "UTC"."""
    offset = datetime.fromtimestamp(at, zone).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}:{rest:02d}" if rest else f"UTC{sign}{hours}"


def format_date(at: int, zone: tzinfo) -> str:
    """The local calendar day of a moment: "2026-10-08"."""
    return datetime.fromtimestamp(at, zone).strftime("%Y-%m-%d")


def format_time(at: int, zone: tzinfo) -> str:
    """A moment to the minute, in the zone, saying which: "2026-10-08 14:00 UTC+8"."""
    return f"{datetime.fromtimestamp(at, zone):%Y-%m-%d %H:%M} {zone_label(at, zone)}"


@dataclass(frozen=True)
class LocalTime:
    """The zone dates and times are shown and counted in, and the official calendar of
    working days (None: Monday to Friday)."""

    zone: tzinfo = UTC
    official: OfficialCalendar | None = None

    def date(self, at: int) -> str:
        return format_date(at, self.zone)

    def time(self, at: int) -> str:
        return format_time(at, self.zone)

    def moment(self, at: int) -> datetime:
        return datetime.fromtimestamp(at, self.zone)

    def month_of(self, at: int) -> tuple[int, int]:
        """(year, month) of the local calendar month `at` falls in."""
        moment = self.moment(at)
        return moment.year, moment.month

    def month_bounds(self, year: int, month: int) -> tuple[int, int]:
        return deadlines.month_bounds(year, month, self.zone)

    def add_months(self, at: int, months: int) -> int:
        return deadlines.add_months(at, months, self.zone)

    def add_working_days(self, at: int, days: int) -> int:
        return deadlines.add_working_days(at, days, self.zone, self.official)

    def is_working_day(self, day: _Day) -> bool:
        return deadlines.is_working_day(day, self.official)

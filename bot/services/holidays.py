"""The official calendars of working days, from maintained data, and the line's local time.

The domain counts working days against any `OfficialCalendar` (bot.domain.deadlines); the
data lives here, outside the domain, because it comes from a third-party package whose data
ends: "CN" is the State Council's public holidays and make-up working days (调休) as the
`chinesecalendar` package publishes them. For a year the package does not know yet, the
calendar answers None, so the domain counts Monday to Friday for that year, and the log says
so once per year (a year is all it names).
"""

from __future__ import annotations

import logging
from datetime import date

import chinese_calendar

from bot.domain.deadlines import OfficialCalendar
from bot.domain.localtime import LocalTime
from bot.domain.policy import CalendarName, LocalePolicy

log = logging.getLogger(__name__)


class ChineseCalendar:
    """Mainland China's working days: weekends and public holidays off, make-up days on."""

    def __init__(self) -> None:
        self._unknown_years: set[int] = set()

    def is_working_day(self, day: date) -> bool | None:
        if day.year in self._unknown_years:
            return None
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            self._unknown_years.add(day.year)
            log.warning(
                "the official calendar (chinesecalendar) has no data for %d: working days in"
                " %d are counted Monday to Friday; upgrade chinesecalendar once it has that year",
                day.year,
                day.year,
            )
            return None


def official_calendar(name: CalendarName) -> OfficialCalendar | None:
    """The calendar the policy names; None for "none" (Monday to Friday)."""
    if name is CalendarName.CN:
        return ChineseCalendar()
    return None


def local_time(locale: LocalePolicy) -> LocalTime:
    """The policy's zone and official calendar, as the services and renderers use them."""
    return LocalTime(locale.zone, official_calendar(locale.calendar))

"""Local time and the official calendar: how dates and times are shown, which days are
working days (mainland China's public holidays and make-up working days, or Monday to
Friday), what happens when the calendar's data ends, and the services counting with them."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from bot.crypto.vault import KeyRing, Vault, new_master_key_text
from bot.domain.localtime import LocalTime, format_date, format_time, zone_label
from bot.domain.policy import CalendarName
from bot.domain.policy import load as load_policy
from bot.domain.report import Action
from bot.domain.schedule import ScheduleKind
from bot.domain.staff import Actor
from bot.services.holidays import ChineseCalendar, local_time, official_calendar
from bot.services.review import ReviewService
from storage.blobs import BlobStore
from storage.db import Database
from tests.services import TipsterSide, service_env

SHANGHAI = ZoneInfo("Asia/Shanghai")
CN = LocalTime(SHANGHAI, ChineseCalendar())
WEEKDAYS = LocalTime(SHANGHAI, None)
# A year no release of chinesecalendar will have data for.
UNKNOWN_YEAR = 2099


def _at(*args: int, zone: ZoneInfo = SHANGHAI) -> int:
    return int(datetime(*args, tzinfo=zone).timestamp())


def _local(at: int) -> datetime:
    return datetime.fromtimestamp(at, SHANGHAI)


# ----- showing dates and times ------------------------------------------------------------


def test_a_time_is_shown_in_the_zone_and_says_which() -> None:
    at = _at(2026, 10, 7, 20, 30, 15, zone=UTC)
    assert format_time(at, SHANGHAI) == "2026-10-08 04:30 UTC+8"
    assert format_date(at, SHANGHAI) == "2026-10-08"
    assert format_time(at, UTC) == "2026-10-07 20:30 UTC"
    assert format_date(at, UTC) == "2026-10-07"
    assert format_time(at, ZoneInfo("America/Sao_Paulo")) == "2026-10-07 17:30 UTC-3"
    assert zone_label(at, ZoneInfo("Asia/Kolkata")) == "UTC+5:30"
    # A zone with summer time says the offset of that moment.
    berlin = ZoneInfo("Europe/Berlin")
    assert zone_label(_at(2026, 7, 1, zone=UTC), berlin) == "UTC+2"
    assert zone_label(_at(2026, 12, 1, zone=UTC), berlin) == "UTC+1"
    assert CN.time(at) == "2026-10-08 04:30 UTC+8" and CN.date(at) == "2026-10-08"


def test_the_shipped_policy_shows_shanghai_time_and_counts_the_cn_calendar() -> None:
    locale = load_policy(None).locale
    assert locale.timezone == "Asia/Shanghai" and locale.calendar is CalendarName.CN
    local = local_time(locale)
    assert local.zone == SHANGHAI
    assert isinstance(local.official, ChineseCalendar)
    assert official_calendar(CalendarName.NONE) is None


def test_months_are_local_months() -> None:
    # 2026-10-31 20:00 UTC is already 1 November in Shanghai.
    assert CN.month_of(_at(2026, 10, 31, 20, zone=UTC)) == (2026, 11)
    assert CN.month_bounds(2026, 11) == (_at(2026, 11, 1), _at(2026, 12, 1))
    assert CN.add_months(_at(2026, 12, 31, 9), 2) == _at(2027, 2, 28, 9)


# ----- working days -----------------------------------------------------------------------


def test_the_library_data_for_national_day_2025_is_what_the_tests_assume() -> None:
    """The State Council's notice for 2025: 1-8 October off, Sunday 28 September and
    Saturday 11 October worked instead."""
    for day in range(1, 9):
        assert not chinese_calendar.is_workday(date(2025, 10, day))
    assert chinese_calendar.is_workday(date(2025, 9, 28))  # a Sunday
    assert chinese_calendar.is_workday(date(2025, 10, 11))  # a Saturday
    assert not chinese_calendar.is_workday(date(2025, 10, 12))


def test_fifteen_working_days_across_the_national_day_week() -> None:
    verified = _at(2025, 9, 26, 10, 0)  # a Friday, 10:00 in Shanghai
    # 28, 29, 30 Sep; 9, 10, 11 (Saturday, made up), 13-17, 20-23 Oct: the 15th is the 23rd.
    assert _local(CN.add_working_days(verified, 15)) == datetime(2025, 10, 23, 10, tzinfo=SHANGHAI)
    # Monday to Friday alone would have ended a week early, on the 17th.
    assert _local(WEEKDAYS.add_working_days(verified, 15)) == datetime(
        2025, 10, 17, 10, tzinfo=SHANGHAI
    )


def test_a_deadline_lands_on_a_make_up_saturday() -> None:
    friday = _at(2025, 10, 10, 16, 0)
    assert _local(CN.add_working_days(friday, 1)).date() == date(2025, 10, 11)
    assert CN.is_working_day(date(2025, 10, 11))
    assert _local(WEEKDAYS.add_working_days(friday, 1)).date() == date(2025, 10, 13)
    assert not WEEKDAYS.is_working_day(date(2025, 10, 11))


def test_calendar_none_counts_monday_to_friday_through_holidays() -> None:
    tuesday = _at(2025, 9, 30, 9, 0)
    assert [WEEKDAYS.is_working_day(date(2025, 10, d)) for d in range(1, 8)] == [
        True,
        True,
        True,
        False,
        False,
        True,
        True,
    ]
    assert _local(WEEKDAYS.add_working_days(tuesday, 3)).date() == date(2025, 10, 3)
    assert _local(CN.add_working_days(tuesday, 3)).date() == date(2025, 10, 11)


def test_working_days_are_local_days() -> None:
    """Thursday 2 October 2025, 18:00 UTC is Friday 3 October 02:00 in Shanghai: counting
    starts from the local day, so the first working day after it is Thursday the 9th."""
    at = _at(2025, 10, 2, 18, 0, zone=UTC)
    assert _local(CN.add_working_days(at, 1)) == datetime(2025, 10, 9, 2, tzinfo=SHANGHAI)


def test_a_year_without_data_falls_back_to_monday_to_friday_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(UNKNOWN_YEAR, 1, 5))
    local = LocalTime(SHANGHAI, ChineseCalendar())
    start = _at(UNKNOWN_YEAR, 1, 2, 10, 0)  # a Friday
    with caplog.at_level(logging.WARNING, logger="bot.services.holidays"):
        first = local.add_working_days(start, 15)
        again = local.add_working_days(start, 20)
        # New Year's Day would be a holiday; without data it is a Thursday like any other.
        assert local.is_working_day(date(UNKNOWN_YEAR, 1, 1))
    assert _local(first) == datetime(UNKNOWN_YEAR, 1, 23, 10, tzinfo=SHANGHAI)
    assert first == WEEKDAYS.add_working_days(start, 15)
    assert again == WEEKDAYS.add_working_days(start, 20)
    lines = [r for r in caplog.records if r.name == "bot.services.holidays"]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert lines[0].levelno == logging.WARNING
    assert lines[0].getMessage() == (
        f"the official calendar (chinesecalendar) has no data for {UNKNOWN_YEAR}: working days"
        f" in {UNKNOWN_YEAR} are counted Monday to Friday; upgrade chinesecalendar once it has"
        " that year"
    )
    # Years with data are still the official calendar's.
    assert not local.is_working_day(date(2025, 10, 1))


# ----- the services count with the policy's calendar ----------------------------------------


@pytest.fixture
async def desk(tmp_path, request, database_url):
    db = await Database.open(tmp_path, database_url)
    await db.migrate()
    blobs = BlobStore(tmp_path / "blobs")
    blobs.ensure()
    vault = Vault(KeyRing.from_texts([new_master_key_text()]))
    overrides = {"review": {"post_delay_max_seconds": 0}, "locale": {"calendar": request.param}}
    policy = load_policy(None, overrides)
    now = [float(_at(2025, 9, 26, 10, 0))]
    env = service_env(db, vault, blobs, policy, clock=lambda: now[0])
    yield TipsterSide(env), ReviewService(env), db
    await db.close()


@pytest.mark.parametrize(
    ("desk", "nudge_day"),
    [("CN", date(2025, 10, 20)), ("none", date(2025, 10, 14))],
    indirect=["desk"],
)
async def test_a_verified_tips_reward_reminder_is_due_by_the_policys_calendar(
    desk, nudge_day: date
) -> None:
    """Verified on Friday 26 September 2025: reviewers are reminded 3 working days before the
    15 run out, so on the 12th working day, counted by the calendar the policy names."""
    intake, review, db = desk
    user, chat, anna = 5, -1_001, Actor(11)
    await intake.start(user, "en")
    await intake.choose_category(user, "other")
    await intake.choose_area(user, area_key=None, typed=None)
    await intake.add_text(user, "tip")
    await intake.review(user)
    submission = await intake.submit(user, user)
    await review.act(submission.reference, chat, anna, Action.CLAIM)
    await review.act(submission.reference, chat, anna, Action.VERIFY)
    async with db.read() as conn:
        cursor_rows = await conn.fetch_all(
            "SELECT due_at FROM schedules WHERE kind = ?", [ScheduleKind.REWARD_NUDGE.value]
        )
        nudges = [row[0] for row in cursor_rows]
    assert len(nudges) == 1
    assert _local(nudges[0]) == datetime.combine(
        nudge_day, datetime(2025, 9, 26, 10, tzinfo=SHANGHAI).timetz()
    )

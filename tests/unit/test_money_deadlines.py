"""Money stays integer; deadlines count working days and clamp months."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.deadlines import add_months, add_working_days, month_bounds
from bot.domain.money import AmountError, format_money, format_whole, parse_amount


def _ts(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp())


@pytest.mark.parametrize(
    ("text", "minor"),
    [("5000", 500000), ("5,000", 500000), ("¥5000.50", 500050), ("0.01", 1), (" 300 ", 30000)],
)
def test_amounts_parse_exactly(text: str, minor: int) -> None:
    assert parse_amount(text, 100) == minor


@pytest.mark.parametrize("text", ["", "abc", "-5", "0", "1.001", "NaN", "Infinity", "1e400"])
def test_bad_amounts_are_refused(text: str) -> None:
    with pytest.raises(AmountError):
        parse_amount(text, 100)


@given(st.integers(min_value=1, max_value=10**12))
def test_format_then_parse_round_trips(minor: int) -> None:
    assert parse_amount(format_money(minor, "CNY"), 100) == minor


def test_formatting() -> None:
    assert format_money(500000, "CNY") == "¥5,000.00"
    assert format_money(123, "EUR") == "1.23 EUR"
    # A poster's amount, in whole units when it is whole.
    assert format_whole(30_000_000, "CNY") == "¥300,000"
    assert format_whole(150, "CNY") == "¥1.50"
    assert format_whole(500, "EUR", 10) == "50 EUR"


def test_working_days_skip_weekends() -> None:
    friday = _ts(2026, 11, 27, 10)
    assert add_working_days(friday, 1, UTC) == _ts(2026, 11, 30, 10)
    assert add_working_days(friday, 15, UTC) == _ts(2026, 12, 18, 10)


def test_months_clamp_to_month_end() -> None:
    assert add_months(_ts(2026, 12, 31, 9), 2, UTC) == _ts(2027, 2, 28, 9)
    assert add_months(_ts(2026, 11, 28), 2, UTC) == _ts(2027, 1, 28)
    assert month_bounds(2026, 12, UTC) == (_ts(2026, 12, 1), _ts(2027, 1, 1))

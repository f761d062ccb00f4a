"""/start and /help fit on one phone screen in both languages; the full promises say the
periods the policy sets."""

from __future__ import annotations

import pytest

from bot.domain.policy import load as load_policy
from bot.telegram.i18n import LANGUAGES, Catalogue
from sandbox.emulator.markup import parse_html
from tests.phone import overflow, rows

CATALOGUE = Catalogue.load()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("key", ["start.welcome", "help.text"])
def test_start_and_help_fit_on_one_phone_screen(language: str, key: str) -> None:
    plain, _ = parse_html(CATALOGUE.text(language, key))
    assert overflow(plain) == [], plain


def test_the_measure_can_tell_a_long_text() -> None:
    """The promises in full are longer than a screen (which is why they are behind a button),
    and a Chinese character takes the room of two Latin letters."""
    promises = CATALOGUE.text("en", "start.promises", days=30, draft_hours=24, retention_days=365)
    plain, _ = parse_html(promises)
    assert overflow(plain)
    assert rows("x" * 40) == 1 and rows("x" * 41) == 2
    assert rows("码" * 20) == 1 and rows("码" * 21) == 2
    assert rows("word " * 8) == 1 and rows("word " * 8 + "words") == 2


@pytest.mark.parametrize(
    ("language", "periods"),
    [("en", ["30 days", "24 hours", "365 days"]), ("zh", ["30 天", "24 小时", "365 天"])],
)
def test_the_promises_name_the_periods_of_the_policy(language: str, periods: list[str]) -> None:
    policy = load_policy(None)
    assert (policy.contact_days, policy.intake.draft_ttl_hours, policy.retention_days) == (
        30,
        24,
        365,
    )
    text = CATALOGUE.text(
        language,
        "start.promises",
        days=policy.contact_days,
        draft_hours=policy.intake.draft_ttl_hours,
        retention_days=policy.retention_days,
    )
    for period in periods:
        assert period in text, period

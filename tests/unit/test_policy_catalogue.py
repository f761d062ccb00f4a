"""Policy loading and validation; the catalogue is complete in both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.domain.policy import PolicyError, load
from bot.domain.report import TRANSITIONS, Action, ReportStatus, TransitionError, check_transition
from bot.telegram.i18n import Catalogue, Html, language_for

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_policy_loads_with_the_drug_categories() -> None:
    policy = load(None)
    keys = [c.key for c in policy.intake.categories]
    assert keys[:5] == [
        "drug_trafficking",
        "drug_production",
        "drug_use_venue",
        "drugged_driving",
        "cultivation",
    ]
    assert all(c.label("zh") != c.label("en") for c in policy.intake.categories)
    assert policy.review.post_delay_max_seconds == 180


def test_policy_file_overrides_key_by_key(tmp_path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(
        '[intake]\nmax_tips_per_day = 9\n[[intake.areas]]\nkey = "north"\nen = "North"\n'
        'zh = "北区"\n[review]\npost_delay_max_seconds = 0\n',
        encoding="utf-8",
    )
    policy = load(path)
    assert policy.intake.max_tips_per_day == 9
    assert policy.intake.max_text_chars == 4000
    assert policy.intake.area("north").label("zh") == "北区"
    assert policy.review.post_delay_max_seconds == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[intake]\nmax_tips_per_day = -1\n", "max_tips_per_day"),
        ("[intake]\nmax_attachment_bytes = 50000000\n", "20 MB"),
        ("[intake]\ncategories = []\n", "at least one"),
        ('[[intake.areas]]\nkey = "a b"\nen = "x"\n', "areas"),
        ("not toml [", "not valid TOML"),
    ],
)
def test_bad_policy_files_name_the_problem(tmp_path, text: str, message: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError, match=re.escape(message)):
        load(path)


def test_both_catalogues_have_every_key_with_the_same_placeholders() -> None:
    catalogue = Catalogue.load()
    assert catalogue.problems() == []
    assert catalogue.keys("en") == catalogue.keys("zh")


def test_every_key_the_code_uses_exists() -> None:
    """Scan the sources for literal catalogue keys; each must be in the catalogue."""
    catalogue = Catalogue.load()
    used: set[str] = set()
    pattern = re.compile(
        r'"((?:start|help|command|button|report|kind|summary|receipt|status|state|forget|'
        r'refuse|error|review|staff|notice|answer|reward|reward_status)(?:\.[a-z_]+)+)"'
    )
    for folder in ("bot", "handlers"):
        for source in (ROOT / folder).rglob("*.py"):
            used |= set(pattern.findall(source.read_text("utf-8")))
    assert used, "the scan found no keys: the pattern is broken"
    assert sorted(used - catalogue.keys("en")) == []
    for status in ReportStatus:
        assert f"state.{status.value}" in catalogue.keys("en")
        assert f"staff.state.{status.value}" in catalogue.keys("en")
    for reward_status in ("proposed", "refused", "offered", "paid", "expired"):
        assert f"reward.state.{reward_status}" in catalogue.keys("en")
    for reward_status in ("offered", "paid", "expired"):
        assert f"reward_status.{reward_status}" in catalogue.keys("en")
    for action in Action:
        assert f"staff.button.{action.value}" in catalogue.keys("en")
        assert f"staff.action.{action.value}" in catalogue.keys("en")


def test_parameters_are_escaped_unless_marked_html() -> None:
    catalogue = Catalogue.load()
    text = catalogue.text("en", "summary.area", area="<b>x</b> & y")
    assert "&lt;b&gt;x&lt;/b&gt; &amp; y" in text
    assert "<i>ok</i>" in catalogue.text("en", "summary.area", area=Html("<i>ok</i>"))


@pytest.mark.parametrize(
    ("code", "language"),
    [("zh-hans", "zh"), ("zh-CN", "zh"), ("zh", "zh"), ("en-GB", "en"), ("ru", "en"), (None, "en")],
)
def test_telegram_language_codes_map_to_catalogues(code: str | None, language: str) -> None:
    assert language_for(code) == language


def test_transition_table_allows_only_listed_moves() -> None:
    check_transition(ReportStatus.NEW, ReportStatus.IN_REVIEW)
    with pytest.raises(TransitionError):
        check_transition(ReportStatus.NEW, ReportStatus.VERIFIED)
    assert TRANSITIONS[ReportStatus.CLOSED] == frozenset()
    assert set(TRANSITIONS) == set(ReportStatus)

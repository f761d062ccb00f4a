"""Plural forms in the catalogue: Babel's CLDR rules choose the form by a named count, in
English (`one`, `other`) and Chinese (`other` only), and problems() checks every table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.telegram.i18n import Catalogue, CatalogueError, categories, plural_rule

CATALOGUE = Catalogue.load()
LOCALES = Path(__file__).resolve().parents[2] / "bot" / "telegram" / "locales"


def _added(language: str, count: int) -> str:
    return CATALOGUE.text(language, "report.added", what="text", count=count)


def test_english_says_1_part_and_2_parts() -> None:
    assert "Your tip has 1 part. Send more" in _added("en", 1)
    assert "Your tip has 2 parts. Send more" in _added("en", 2)
    assert "Your tip has 0 parts." in _added("en", 0)
    warned = CATALOGUE.text("en", "report.added_not_clean", what="file", count=1)
    assert warned.endswith("Your tip has 1 part.")


def test_chinese_has_one_form_for_every_count() -> None:
    assert _added("zh", 1) == "已添加：text。您的线索现有 1 部分。可以继续发送，或检查并发送。"
    assert _added("zh", 2) == _added("zh", 1).replace("1", "2")
    assert categories("zh") == {"other"} and categories("en") == {"one", "other"}


def _header(language: str, parts: int, attachments: int) -> str:
    return CATALOGUE.text(
        language,
        "review.post_header",
        reference="T-2026-0001",
        category="c",
        area="a",
        alias="Blue Heron",
        parts=parts,
        attachments=attachments,
    )


def test_the_card_counts_attachments_zero_one_and_more() -> None:
    assert _header("en", 1, 0).endswith("Parts: 1 (0 attachments follow)")
    assert _header("en", 2, 1).endswith("Parts: 2 (1 attachment follows)")
    assert _header("en", 3, 2).endswith("Parts: 3 (2 attachments follow)")
    assert _header("zh", 1, 0).endswith("部分：1（随后附 0 个附件）")
    assert _header("zh", 2, 1).endswith("部分：2（随后附 1 个附件）")


def test_the_other_counting_messages_in_english() -> None:
    t = CATALOGUE.text
    reminder = {
        "amount": "¥300.00",
        "reference": "T-1",
        "expires": "2026-10-08",
        "instructions": "",
    }
    assert "(1 day left)" in t("en", "notice.reward_reminder", days=1, **reminder)
    assert "(14 days left)" in t("en", "notice.reward_reminder", days=14, **reminder)
    assert "（还剩 1 天）" in t("zh", "notice.reward_reminder", days=1, **reminder)
    ledger = {"month": "2026-10", "paid": 0, "total": "¥0.00"}
    assert "1 reward in the ledger" in t("en", "reward.ledger_summary", count=1, **ledger)
    assert "0 rewards in the ledger" in t("en", "reward.ledger_summary", count=0, **ledger)
    quarantined = t("en", "jobs.quarantined", count=1, admins="")
    assert "1 incoming update failed" in quarantined and "was set aside" in quarantined
    assert "2 incoming updates failed" in t("en", "jobs.quarantined", count=2, admins="")
    assert "1 character:" in t("en", "summary.item_text", n=1, chars=1, preview="?")
    assert "5 characters:" in t("en", "summary.item_text", n=1, chars=5, preview="hello")


def test_a_message_with_two_counts_chooses_each_form() -> None:
    def digest(language: str, proposed: int, expiring: int) -> str:
        return CATALOGUE.text(
            language, "jobs.digest_finance", proposed=proposed, expiring=expiring, references="—"
        )

    assert "1 reward proposal waiting for approval, 1 offer expiring" in digest("en", 1, 1)
    assert "1 reward proposal waiting for approval, 3 offers expiring" in digest("en", 1, 3)
    assert "2 reward proposals waiting for approval, 1 offer expiring" in digest("en", 2, 1)
    assert "0 reward proposals waiting for approval, 0 offers expiring" in digest("en", 0, 0)
    assert "1 项奖励申请待批准，3 项奖励" in digest("zh", 1, 3)


def test_a_count_shown_as_less_than_five_takes_the_other_form() -> None:
    params = {
        "period": "2026-10",
        "claim": "–",
        "decision": "–",
        "past": "0",
        "outcomes": "0",
        "arrested": "0",
        "heroin": "0 g",
    }
    assert "2026-10: &lt;5 tips." in CATALOGUE.text(
        "en", "stats.caption_review", total="<5", **params
    )
    assert "2026-10: 12 tips." in CATALOGUE.text("en", "stats.caption_review", total="12", **params)
    assert plural_rule("en")("<5") == "other" and plural_rule("en")(True) == "other"


def test_the_shipped_catalogues_have_no_parenthesised_plural_left() -> None:
    for name in ("en.toml", "zh_Hans.toml"):
        assert "(s)" not in (LOCALES / name).read_text("utf-8"), name
    assert CATALOGUE.problems() == []


# ----- problems() checks the plural tables ------------------------------------------------

EN = """
[a]
n.plural = "count"
n.one = "{count} thing"
n.other = "{count} things"
"""
ZH = """
[a]
n.plural = "count"
n.other = "{count} 个"
"""


def _problems(en: str, zh: str) -> list[str]:
    return Catalogue.parse({"en": en, "zh": zh}).problems()


def test_well_formed_tables_have_no_problems() -> None:
    assert _problems(EN, ZH) == []


@pytest.mark.parametrize(
    ("en", "zh", "problem"),
    [
        (EN.replace('n.one = "{count} thing"\n', ""), ZH, "en: a.n lacks the plural forms one"),
        (
            EN,
            ZH + 'n.one = "{count} 个"\n',
            "zh: a.n has plural forms its language never uses: one",
        ),
        (EN, ZH.replace("{count} 个", "{number} 个"), "zh: a.n has different placeholders"),
        (EN.replace('"{count} thing"', '"one thing"'), ZH, "en: a.n has different placeholders"),
        (EN, '[a]\nn = "{count} 个"\n', "zh: a.n counts by different parameters than en"),
        (
            EN.replace('"count"', '"items"').replace("{count}", "{items} of {count}"),
            ZH.replace("{count}", "{items} of {count}"),
            "zh: a.n counts by different parameters than en",
        ),
        (
            EN.replace("{count}", "some"),
            ZH.replace("{count}", "some"),
            "en: a.n does not show {count}, the count it chooses by",
        ),
    ],
)
def test_problems_name_a_bad_plural_table(en: str, zh: str, problem: str) -> None:
    assert problem in _problems(en, zh)


def test_a_form_that_is_no_cldr_category_is_refused_on_loading() -> None:
    with pytest.raises(CatalogueError, match=re.escape("a.n.single is not a plural category")):
        Catalogue.parse({"en": EN + 'n.single = "{count} thing"\n', "zh": ZH})


def test_the_categories_a_language_needs_are_babels_cldr_rules() -> None:
    """Russian needs one, few, many and other: the rules are CLDR's, not a fixed pair."""
    russian = '[a]\nn.plural = "count"\nn.one = "{count} вещь"\nn.other = "{count} вещи"\n'
    found = Catalogue.parse({"en": EN, "ru": russian}).problems()
    assert "ru: a.n lacks the plural forms few, many" in found
    rule = plural_rule("ru")
    assert [rule(n) for n in (1, 3, 5, 21)] == ["one", "few", "many", "one"]

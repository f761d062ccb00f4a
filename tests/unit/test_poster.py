"""The poster's words, lines and page: all from the catalogue, wrapped within the page, and a
QR code that reads back as the campaign's link."""

from __future__ import annotations

import re

import pytest
import zxingcpp

from bot.domain.money import format_whole
from bot.domain.policy import load as load_policy
from bot.telegram import poster
from bot.telegram.i18n import LANGUAGES, Catalogue

POLICY = {
    "intake": {
        "areas": [{"key": "north", "en": "North district", "zh": "北区", "level": "district"}]
    },
    "campaigns": [
        {
            "key": "north-venues",
            "en": "North district: drug venues",
            "zh": "北区：吸毒场所",
            "category": "drug_use_venue",
            "area": "north",
        },
        {"key": "citywide", "en": "City-wide poster", "zh": "全市宣传海报"},
    ],
}


@pytest.fixture(scope="module")
def policy():
    return load_policy(None, POLICY)


def test_the_posters_words_are_plain_text_in_both_catalogues() -> None:
    catalogue = Catalogue.load()
    for language in LANGUAGES:
        keys = [k for k in catalogue.keys(language) if k.startswith("poster.")]
        assert len(keys) == 10
        for key in keys:
            assert not re.search(
                r"<[a-z/]", catalogue.text(language, key, amount="", area="", category="")
            ), key


def test_the_words_come_from_the_catalogue_and_the_policy(policy) -> None:
    catalogue = Catalogue.load()
    text = poster.poster_text(
        catalogue, policy, policy.campaign("north-venues"), "tipline_test_bot", ("zh", "en")
    )
    assert text.link == "https://t.me/tipline_test_bot?start=north-venues"
    assert text.title == {"zh": "涉毒违法犯罪匿名举报", "en": "Anonymous drug-crime tip line"}
    assert text.what["zh"][1:] == ["本海报征集：容留、聚众吸毒场所", "地区：北区"]
    assert text.what["en"][1:] == [
        "This poster asks about: A place where people use drugs",
        "Area: North district",
    ]
    assert len(text.promises["zh"]) == len(text.promises["en"]) == 3
    assert "¥300,000" in text.reward["en"] and "¥300,000" in text.reward["zh"]
    assert format_whole(policy.rewards.top_amount_minor, "CNY") == "¥300,000"
    # A campaign that chooses nothing names no category and no area.
    plain = poster.poster_text(catalogue, policy, policy.campaign("citywide"), "x_bot", ("en",))
    assert len(plain.what["en"]) == 1 and plain.languages == ("en",)


@pytest.mark.parametrize(
    "text",
    [
        "Telegram 本身知道哪些账号在和本机器人对话：如有顾虑，请使用与您本人无关的账号。"
        "如有人正处于危险之中，请立即拨打 110 报警。",
        "A verified tip can earn a reward of up to ¥300,000 under the official scheme,"
        " claimed with a code, never with your name.",
        "https://t.me/a_very_long_username_of_a_bot?start=" + "k" * 64,
    ],
)
@pytest.mark.parametrize("width", [250, 400, 700, 1500])
def test_lines_keep_every_character_and_stay_within_the_width(text: str, width: int) -> None:
    font = poster._font(40, False)
    lines = poster._wrap(text, font, width)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    for line in lines:
        # Only a single word wider than the page may overflow (it cannot be broken).
        assert font.getlength(line) <= width or " " not in line.strip()
    assert not any(line != line.strip() for line in lines)
    if len(lines) > 1:
        assert len(lines[-1].replace(" ", "")) > 1  # no lone character or word at the end


@pytest.mark.parametrize(
    ("languages", "dpi"), [(("zh", "en"), 300), (("en",), 100), (("zh",), 150)]
)
def test_the_page_is_a4_and_its_qr_code_reads_back_as_the_link(
    policy, languages: tuple[str, ...], dpi: int
) -> None:
    assert poster.has_chinese_font()  # fonts-noto-cjk is installed (.ci/run)
    text = poster.poster_text(
        Catalogue.load(), policy, policy.campaign("north-venues"), "tipline_test_bot", languages
    )
    page = poster.render(text, dpi)
    assert page.size == (round(210 / 25.4 * dpi), round(297 / 25.4 * dpi))
    found = zxingcpp.read_barcodes(page)
    assert [(code.format, code.text) for code in found] == [
        (zxingcpp.BarcodeFormat.QRCode, "https://t.me/tipline_test_bot?start=north-venues")
    ]


def test_a_non_ascii_pdf_title_is_refused_rather_than_garbled(policy) -> None:
    text = poster.poster_text(
        Catalogue.load(), policy, policy.campaign("citywide"), "x_bot", ("en",)
    )
    page = poster.render(text, 72)
    assert poster.pdf_bytes(page, "tipline poster: citywide", 72).startswith(b"%PDF")
    with pytest.raises(ValueError, match="ASCII"):
        poster.pdf_bytes(page, "涉毒违法犯罪匿名举报", 72)

"""Relayed questions are inert: the fake Bot API finds links in the lures as Telegram would,
and none once the bot has made them inert."""

from __future__ import annotations

import pytest

from bot.domain.inert import make_inert
from sandbox.emulator.autolink import find_entities, with_found_entities

LURES = {
    "https://evil.example/x": "url",
    "evil.example": "url",
    "@lure_bot": "mention",
    "t.me/lure": "url",
    "someone@evil.example": "email",
    "tg://resolve?domain=lure_bot": "url",
    "http://203.0.113.7:8080/a": "url",
    "mailto:someone@mail.example": "email",
    "www.evil.example/?q=1": "url",
    "例子.中国": "url",
}
LINKS = {"url", "email", "mention", "text_link", "text_mention"}


def _kinds(text: str) -> list[str]:
    return [entity["type"] for entity in find_entities(text)]


@pytest.mark.parametrize(("lure", "kind"), sorted(LURES.items()))
def test_the_fake_links_what_telegram_links_and_the_inert_text_has_nothing(
    lure: str, kind: str
) -> None:
    question = f"Did you see {lure} there?"
    assert kind in _kinds(question), f"the fake should find a {kind} in {lure!r}"
    inert = make_inert(question)
    assert not LINKS & set(_kinds(inert)), inert
    assert make_inert(inert) == inert  # applying it twice changes nothing


def test_hidden_characters_cannot_smuggle_a_link_through() -> None:
    for trick in ("evil\u200b.example", "evil.\u2060example", "@\u200dlure_bot", "t\u200e.me/x"):
        inert = make_inert(f"see {trick}")
        assert "\u200b" not in inert and "\u2060" not in inert and "\u200d" not in inert
        assert not LINKS & set(_kinds(inert)), inert


def test_ordinary_questions_are_left_as_written() -> None:
    for text in (
        "Was it 3.5 g or 35 g? Which stall, e.g. number 12?",
        "他说的是3.5克吗？明天下午几点？",
        "Was the plate 粤B 12345, and at 23:00?",
        "Call it #stall12 — did it cost $USD 50 and/or more?",
    ):
        assert make_inert(text) == text
    assert make_inert("Do you know evil.example?") == "Do you know evil[.]example?"
    assert make_inert("write to a@b.example") == "write to a[@]b[.]example"
    assert make_inert("https://x.example") == "https[:]//x[.]example"


def test_found_entities_keep_out_of_code_and_links_but_not_of_italics() -> None:
    plain = "see evil.example and evil.example"
    code = {"type": "code", "offset": 4, "length": 12}
    italic = {"type": "italic", "offset": 21, "length": 12}
    found = with_found_entities(plain, [code, italic])
    urls = [e for e in found if e["type"] == "url"]
    assert [u["offset"] for u in urls] == [21]

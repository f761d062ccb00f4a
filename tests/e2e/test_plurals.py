"""Counts read right in both languages, through the real dialogue and card: 1 part, 2 parts,
0 attachments; Chinese has one form for every count."""

from __future__ import annotations

from tests.e2e.conftest import REVIEW_CHAT, RunningBot
from tests.e2e.flows import begin, submit


async def test_the_tipster_and_the_card_count_parts_in_english_and_chinese(
    fake, bot: RunningBot
) -> None:
    english = fake.add_user(8500000001, "E", language_code="en")
    chinese = fake.add_user(8500000002, "Z", language_code="zh-hans")
    await begin(fake, english)
    fake.user_sends_text(english, "Plural canary one: a scooter at the gate")
    await fake.wait_for_message(english.id, lambda m: "Your tip has 1 part. " in m["_plain"])
    fake.user_sends_text(english, "and a second message")
    await fake.wait_for_message(english.id, lambda m: "Your tip has 2 parts. " in m["_plain"])
    await submit(fake, english)
    card = await fake.wait_for_message(REVIEW_CHAT, lambda m: "Plural canary one" in m["_plain"])
    assert "Parts: 2 (0 attachments follow)" in card["_plain"]

    await begin(fake, chinese)
    fake.user_sends_text(chinese, "复数测试：大门口的摩托车")
    await fake.wait_for_message(chinese.id, lambda m: "您的线索现有 1 部分。" in m["_plain"])
    fake.user_sends_text(chinese, "第二条消息")
    await fake.wait_for_message(chinese.id, lambda m: "您的线索现有 2 部分。" in m["_plain"])

"""Reviewer actions through the fake Bot API."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import REVIEW_CHAT
from tests.e2e.flows import send_text_tip
from tests.fake_telegram import FakeTelegram, FakeUser

Message = dict[str, Any]


def find_card(fake: FakeTelegram, reference: str, chat_id: int = REVIEW_CHAT) -> Message:
    """The tip's card as it looks now (after edits)."""
    for message in fake.messages_in(chat_id):
        if any(d.endswith(f":{reference}") for d in fake.button_data(message)) or (
            message["_plain"].startswith(f"📋 Tip {reference}")
        ):
            return message
    raise AssertionError(f"no card for {reference}: {fake.describe_chat(chat_id)}")


async def tip_with_card(
    fake: FakeTelegram, tipster: FakeUser, text: str, chat_id: int = REVIEW_CHAT, **kwargs: Any
) -> tuple[str, str]:
    """A tipster sends a text tip; returns (receipt, reference) once its card is posted."""
    receipt = await send_text_tip(fake, tipster, text, **kwargs)
    card = await fake.wait_for_message(
        chat_id,
        lambda m: text[:30] in m["_plain"] and m["_plain"].startswith("📋 Tip"),
        timeout=10,
    )
    reference = card["_plain"].split()[2]
    return receipt, reference


def press(
    fake: FakeTelegram, reviewer: FakeUser, reference: str, action: str, chat_id: int = REVIEW_CHAT
) -> dict[str, Any]:
    card = find_card(fake, reference, chat_id)
    return fake.user_presses(reviewer, card, f"v1:r:{action}:{reference}")


async def answer_of(
    fake: FakeTelegram, query: dict[str, Any], timeout: float = 5.0
) -> dict[str, Any]:
    """The bot's answerCallbackQuery for a press."""
    await fake.wait_until(lambda: query["id"] in fake.callback_answers, timeout=timeout)
    return fake.callback_answers[query["id"]]


async def card_shows(
    fake: FakeTelegram, reference: str, text: str, chat_id: int = REVIEW_CHAT
) -> Message:
    await fake.wait_until(lambda: text in find_card(fake, reference, chat_id)["_plain"], timeout=10)
    return find_card(fake, reference, chat_id)

"""Tipster actions through the fake Bot API, as a person would do them on their phone."""

from __future__ import annotations

import re
from typing import Any

from tests.fake_telegram import FakeTelegram, FakeUser

RECEIPT = re.compile(r"<code>([0-9A-Z]{4}(?:-[0-9A-Z]{4}){4})</code>")
Message = dict[str, Any]


def with_button(fake: FakeTelegram, data: str):
    return lambda message: data in fake.button_data(message)


async def wait_button(fake: FakeTelegram, chat_id: int, data: str, timeout: float = 5.0) -> Message:
    return await fake.wait_for_message(chat_id, with_button(fake, data), timeout=timeout)


def latest_with_button(fake: FakeTelegram, chat_id: int, data: str) -> Message:
    for message in reversed(fake.messages_in(chat_id)):
        if data in fake.button_data(message):
            return message
    raise AssertionError(
        f"no message in {chat_id} has a button {data}: {fake.describe_chat(chat_id)}"
    )


def press(fake: FakeTelegram, user: FakeUser, data: str) -> None:
    fake.user_presses(user, latest_with_button(fake, user.id, data), data)


async def begin(
    fake: FakeTelegram,
    user: FakeUser,
    category: str = "drug_trafficking",
    area: str | None = "Harbour street",
) -> None:
    """/report, pick a category, type or skip the area; ends at the describe prompt."""
    fake.user_sends_text(user, "/report")
    await wait_button(fake, user.id, f"v1:t:cat:{category}")
    press(fake, user, f"v1:t:cat:{category}")
    await wait_button(fake, user.id, "v1:t:area-skip")
    if area is None:
        press(fake, user, "v1:t:area-skip")
    else:
        fake.user_sends_text(user, area)
    await wait_button(fake, user.id, "v1:t:review")


async def added(fake: FakeTelegram, user: FakeUser) -> Message:
    """The acknowledgement of one added part."""
    return await fake.wait_for_message(
        user.id, lambda m: m["_plain"].startswith(("Added", "已添加"))
    )


async def submit(fake: FakeTelegram, user: FakeUser, *, contact: bool = True) -> str:
    """Review, optionally refuse contact, send; returns the receipt shown."""
    press(fake, user, "v1:t:review")
    await wait_button(fake, user.id, "v1:t:submit")
    return await submit_from_summary(fake, user, contact=contact)


async def submit_from_summary(fake: FakeTelegram, user: FakeUser, *, contact: bool = True) -> str:
    """On the summary: optionally refuse contact, then send; returns the receipt shown."""
    if not contact:
        press(fake, user, "v1:t:contact:no")
        await fake.wait_until(
            lambda: (
                "v1:t:contact:yes"
                in fake.button_data(latest_with_button(fake, user.id, "v1:t:submit"))
            )
        )
    press(fake, user, "v1:t:submit")
    receipt_message = await fake.wait_for_message(user.id, lambda m: RECEIPT.search(m["text"]))
    match = RECEIPT.search(receipt_message["text"])
    assert match is not None
    return match.group(1)


async def send_text_tip(fake: FakeTelegram, user: FakeUser, text: str, **kwargs: Any) -> str:
    await begin(fake, user)
    fake.user_sends_text(user, text)
    await added(fake, user)
    return await submit(fake, user, **kwargs)

"""The Bot API has a bad day: 502s, 429s and dropped connections. Every message still arrives,
in order, and none twice."""

from __future__ import annotations

import asyncio

from tests.e2e.conftest import REVIEW_CHAT, RunningBot
from tests.e2e.flows import added, begin, submit
from tests.images import jpeg_with_gps


async def test_outage_of_every_kind_loses_nothing_and_repeats_nothing(
    fake, bot: RunningBot
) -> None:
    fake.unreachable_chats.add(REVIEW_CHAT)
    texts = [f"Fault tip number {n}: boat at pier {n}" for n in range(3)]
    tipsters = []
    for n, text in enumerate(texts):
        tipster = fake.add_user(8500000000 + n, f"T{n}")
        tipsters.append(tipster)
        await begin(fake, tipster, area=None)
        fake.user_sends_text(tipster, text)
        await added(fake, tipster)
        fake.user_sends_photo(tipster, jpeg_with_gps(color=(n * 40, 10, 10)))
        await added(fake, tipster)
        await submit(fake, tipster)
    # The receipt comes from the outbox, so it can arrive before the Send press has been
    # answered and its buttons taken off; a connection dropped under those calls would be the
    # handler's error, which this test is not about. Wait until the last of them is done.
    await fake.wait_until(
        lambda: (
            not any(
                "v1:t:submit" in fake.button_data(m)
                for t in tipsters
                for m in fake.messages_in(t.id)
            )
        )
    )
    await fake.wait_until(
        lambda: sum(c.failed and c.params.get("chat_id") == REVIEW_CHAT for c in fake.calls) >= 3
    )
    fake.drop_connections = True  # everything, getUpdates included, until a call has hit it
    # A positive signal, not a fixed stretch: a 1.5 s window sometimes fell between the
    # bot's retries and its long polls, and then nothing was dropped at all.
    await fake.wait_until(
        lambda: any(c.error == "connection dropped" for c in fake.calls), timeout=30
    )
    await asyncio.sleep(0.5)  # and a little longer, so more than one call may hit it
    fake.drop_connections = False
    fake.fail_next("sendPhoto", status=429, retry_after=1, count=2)
    fake.fail_next("sendMessage", status=502, count=2)
    fake.unreachable_chats.clear()

    def delivered() -> bool:
        review = fake.messages_in(REVIEW_CHAT)
        return sum(m.get("method") == "sendPhoto" for m in review) >= 3 and all(
            any(text in m["_plain"] for m in review) for text in texts
        )

    await fake.wait_until(delivered, timeout=40)
    await asyncio.sleep(1.0)  # anything duplicated would show up by now
    review = fake.messages_in(REVIEW_CHAT)
    for text in texts:
        cards = [m for m in review if text in m["_plain"]]
        assert len(cards) == 1, f"{text!r} posted {len(cards)} times"
        card = cards[0]
        photos = [
            m
            for m in review
            if m.get("method") == "sendPhoto"
            and m.get("reply_parameters", {}).get("message_id") == card["message_id"]
        ]
        assert len(photos) == 1
        assert photos[0]["message_id"] > card["message_id"], "a tip's parts arrive in order"
    assert len(review) == 6
    assert any(c.error == "connection dropped" for c in fake.calls)
    assert any(c.failed and c.method == "sendPhoto" for c in fake.calls)

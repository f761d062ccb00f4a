"""Flood limits per chat: a 429 pauses the chat it names; only a flood of the bot pauses all."""

from __future__ import annotations

import asyncio
import datetime as dt

from telegram.error import RetryAfter

from bot.telegram.ratelimit import MessageRateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _limiter(clock: Clock) -> MessageRateLimiter:
    return MessageRateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=0, clock=clock)


async def _send(limiter: MessageRateLimiter, chat: int | None, outcome: list[str]) -> None:
    async def call() -> bool:
        outcome.append(f"sent {chat}")
        return True

    await limiter.process_request(call, (), {}, "sendMessage", {"chat_id": chat}, None)


async def _throttle(limiter: MessageRateLimiter, chat: int | None, seconds: int) -> None:
    async def call() -> bool:
        raise RetryAfter(dt.timedelta(seconds=seconds))

    limiter._max_retries = 1  # one retry: the 429 is noted, then the retry waits its turn
    task = asyncio.create_task(
        limiter.process_request(call, (), {}, "sendMessage", {"chat_id": chat}, 1)
    )
    await asyncio.sleep(0.05)
    limiter._max_retries = 0
    task.cancel()


async def test_a_429_pauses_only_the_chat_it_names() -> None:
    clock = Clock()
    limiter = _limiter(clock)
    await _throttle(limiter, -100, 30)
    outcome: list[str] = []
    await asyncio.wait_for(_send(limiter, 42, outcome), timeout=1)  # another chat: at once
    assert outcome == ["sent 42"]
    waiting = asyncio.create_task(_send(limiter, -100, outcome))
    await asyncio.sleep(0.05)
    assert not waiting.done(), "the throttled chat waits"
    clock.now += 31
    await asyncio.wait_for(waiting, timeout=2)
    assert outcome == ["sent 42", "sent -100"]


async def test_a_flood_of_the_bot_pauses_every_chat() -> None:
    clock = Clock()
    limiter = _limiter(clock)
    for chat in (-1, -2, -3):  # three chats throttled at once: the bot itself is flooding
        await _throttle(limiter, chat, 20)
    outcome: list[str] = []
    waiting = asyncio.create_task(_send(limiter, 42, outcome))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    clock.now += 21
    await asyncio.wait_for(waiting, timeout=2)
    assert outcome == ["sent 42"]


async def test_reads_and_button_answers_are_never_paused() -> None:
    clock = Clock()
    limiter = _limiter(clock)
    await _throttle(limiter, None, 60)  # a 429 not about a chat pauses all messages

    async def answer() -> bool:
        return True

    done = await asyncio.wait_for(
        limiter.process_request(answer, (), {}, "answerCallbackQuery", {}, None), timeout=1
    )
    assert done is True

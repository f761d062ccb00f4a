"""The fake Bot API from tests/, with a cheap per-chat feed of the bot's answers.

`FakeTelegram.wait_for_message` wakes every waiter on every change, which is fine for a test
with three people and quadratic with hundreds of simulated tipsters. Here each stored bot
message is pushed, with the moment it was stored, to a feed that only its own chat reads.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from tests.fake_telegram import FakeTelegram

JSONDict = dict[str, Any]

REVIEW_CHAT = -1001000000001
FINANCE_CHAT = -1001000000002
REVIEWER = 700000001
FINANCE_CLERK = 700000002


class AnswerTimeout(Exception):
    """No matching bot message arrived in time."""


class ChatFeed:
    """The bot's messages in one chat, in order, each with the time it was stored."""

    def __init__(self) -> None:
        self._items: deque[tuple[JSONDict, float]] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def push(self, message: JSONDict, stored_at: float) -> None:
        self._items.append((message, stored_at))
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def next_matching(
        self, predicate: Callable[[JSONDict], bool], seconds: float
    ) -> tuple[JSONDict, float]:
        """The next message matching `predicate`; earlier non-matching ones are consumed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            while self._items:
                message, stored_at = self._items.popleft()
                if predicate(message):
                    return message, stored_at
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AnswerTimeout()
            self._waiter = loop.create_future()
            try:
                await asyncio.wait_for(self._waiter, remaining)
            except TimeoutError:
                pass
            finally:
                self._waiter = None


class BenchTelegram(FakeTelegram):
    """FakeTelegram whose stored bot messages also go to the feed of their chat."""

    def __init__(self, *, latency: float) -> None:
        super().__init__(latency=latency)
        self._feeds: dict[int, ChatFeed] = {}

    def feed(self, chat_id: int) -> ChatFeed:
        """Start collecting the bot's messages in `chat_id` (from now on)."""
        feed = self._feeds[chat_id] = ChatFeed()
        return feed

    def drop_feed(self, chat_id: int) -> None:
        self._feeds.pop(chat_id, None)

    def _commit(self, msg: JSONDict) -> JSONDict:
        # The one place the fake stores a new bot message (send*, copy, forward).
        rendered: JSONDict = super()._commit(msg)
        feed = self._feeds.get(int(msg["chat_id"]))
        if feed is not None:
            feed.push(msg, time.monotonic())
        return rendered

    def add_staff_groups(self) -> None:
        """The review and finance groups tipline checks at start-up (harmless to the baseline)."""
        self.add_group(REVIEW_CHAT, "Reviewers", {self.bot_id: "administrator", REVIEWER: "member"})
        self.add_group(FINANCE_CHAT, "Finance", {self.bot_id: "member", FINANCE_CLERK: "member"})

    def call_counts(self, since: float = 0.0) -> Counter[str]:
        """Bot API calls by method (failed ones as `method!`), received at or after `since`."""
        counts: Counter[str] = Counter()
        for call in self.calls:
            if call.at >= since:
                counts[call.method + ("!" if call.failed else "")] += 1
        return counts

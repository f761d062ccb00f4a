"""The fake Bot API from tests/, with a cheap per-chat feed of the bot's answers.

`FakeTelegram.wait_for_message` wakes every waiter on every change, which is fine for a test
with three people and quadratic with hundreds of simulated tipsters. Here each stored bot
message is pushed, with the moment it was stored, to a feed that only its own chat reads.

The test fake remembers everything forever: every call (with its uploaded bytes), every raw
request body, every message, callback query and file. That is about 100 KB a tip, fine for a
few thousand tips and gigabytes for the 20,000 of the memory phase, where a growing harness
would also slow down (garbage collection) the half it is meant to compare. `lean=True` keeps
the benchmark process flat: calls are only counted, raw bodies are not kept, the bytes of
files the bot uploads are dropped once stored (their size stays in the message), a
finished tipster's chat, messages, photos and callback queries are forgotten once
`keep_finished` more tipsters have finished after them, and a group keeps only its last
`keep_group_messages` bot messages (`bot_message_count` still counts them all). What the bot
sees does not change, unless it touches something forgotten again (it would get a 400, such as
"chat not found", counted as a failed call, `method!`). The default (`lean=False`) is the
test fake as it is.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from sandbox.emulator import FakeTelegram
from sandbox.emulator.models import Upload

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


class _Discard(list[bytes]):
    """A list that keeps nothing appended to it (the fake's raw request bodies, when lean)."""

    def append(self, item: bytes) -> None:
        pass


class BenchTelegram(FakeTelegram):
    """FakeTelegram whose stored bot messages also go to the feed of their chat."""

    def __init__(
        self,
        *,
        latency: float,
        lean: bool = False,
        keep_finished: int = 1000,
        keep_group_messages: int = 1000,
    ) -> None:
        super().__init__(latency=latency)
        self._feeds: dict[int, ChatFeed] = {}
        self.lean = lean
        self.keep_finished = keep_finished
        self.keep_group_messages = keep_group_messages
        self._call_totals: Counter[str] = Counter()
        self._message_totals: Counter[int] = Counter()
        self._finished: deque[int] = deque()
        self._queries_of: dict[int, list[str]] = {}
        if lean:
            self._outgoing = _Discard()

    def feed(self, chat_id: int) -> ChatFeed:
        """Start collecting the bot's messages in `chat_id` (from now on)."""
        feed = self._feeds[chat_id] = ChatFeed()
        return feed

    def drop_feed(self, chat_id: int) -> None:
        self._feeds.pop(chat_id, None)

    def _commit(self, msg: JSONDict) -> JSONDict:
        # The one place the fake stores a new bot message (send*, copy, forward).
        rendered: JSONDict = super()._commit(msg)
        chat_id = int(msg["chat_id"])
        self._message_totals[chat_id] += 1
        feed = self._feeds.get(chat_id)
        if feed is not None:
            feed.push(msg, time.monotonic())
        if self.lean:
            if "_upload" in msg:
                self._drop_upload_bytes(msg)
            if chat_id < 0:
                self._trim_group(chat_id)
        return rendered

    def bot_message_count(self, chat_id: int) -> int:
        """Messages the bot has sent to a chat so far, deleted and forgotten ones included."""
        return self._message_totals[chat_id]

    def _record(
        self,
        method: str,
        params: JSONDict,
        uploads: dict[str, Upload],
        at: float,
        *,
        error: str | None = None,
        result: Any = None,
    ) -> None:
        self._call_totals[method + ("!" if error is not None else "")] += 1
        if self.lean:
            self._touch()
        else:
            super()._record(method, params, uploads, at, error=error, result=result)

    def call_totals(self) -> Counter[str]:
        """Bot API calls so far by method (failed ones as `method!`); kept in lean mode too."""
        return Counter(self._call_totals)

    # --- lean mode ------------------------------------------------------------------------

    def _drop_upload_bytes(self, msg: JSONDict) -> None:
        """Forget the bytes of a file the bot uploaded (message and stored file keep sizes)."""
        msg["_upload"] = {**msg["_upload"], "data": b""}
        stored = self.files.get(str(msg.get("file_id", "")))
        while stored is not None:
            stored.data = b""
            stored = self.files.get(stored.thumb_id) if stored.thumb_id else None

    def _trim_group(self, chat_id: int) -> None:
        """Keep the last `keep_group_messages` bot messages of a group (in batches)."""
        sent = self._bot_messages[chat_id]
        if len(sent) <= 2 * self.keep_group_messages:
            return
        cut = len(sent) - self.keep_group_messages
        for msg in sent[:cut]:
            self._bot_index.pop((chat_id, int(msg["message_id"])), None)
            stored = self.files.pop(str(msg.get("file_id", "")), None)
            while stored is not None:
                self._files_by_path.pop(stored.file_path, None)
                stored = self.files.pop(stored.thumb_id, None) if stored.thumb_id else None
        del sent[:cut]

    def user_presses(self, user: Any, message: JSONDict, callback_data: str) -> JSONDict:
        query: JSONDict = super().user_presses(user, message, callback_data)
        if self.lean:
            self._queries_of.setdefault(int(query["from"]["id"]), []).append(query["id"])
        return query

    def finished(self, user_id: int) -> None:
        """A simulated person is done; in lean mode their state goes `keep_finished` later."""
        self.drop_feed(user_id)
        if not self.lean:
            return
        self._finished.append(user_id)
        while len(self._finished) > self.keep_finished:
            self._forget_user(self._finished.popleft())

    def _forget_user(self, user_id: int) -> None:
        """Drop a private chat and everything in it: messages, photos, callback queries."""
        self.users.pop(user_id, None)
        self.chats.pop(user_id, None)
        self._cursors.pop(user_id, None)
        for msg in self._bot_messages.pop(user_id, []):
            self._bot_index.pop((user_id, int(msg["message_id"])), None)
        for message_id in range(1, self._last_message_id.pop(user_id, 0) + 1):
            key = (user_id, message_id)
            self._deleted_user_messages.discard(key)
            sent = self._user_index.pop(key, None)
            for size in (sent or {}).get("photo", []):
                stored = self.files.pop(size["file_id"], None)
                if stored is not None:
                    self._files_by_path.pop(stored.file_path, None)
        for query_id in self._queries_of.pop(user_id, []):
            self._callback_queries.pop(query_id, None)
            self.callback_answers.pop(query_id, None)

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

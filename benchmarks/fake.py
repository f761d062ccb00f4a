"""The Bot API emulator (`sandbox.emulator`) as the benchmark drives it, with a lean mode.

The emulator already adds the latency to every call, feeds each chat's new bot messages to
whoever waits in that chat (`feed`, cheap with hundreds of simulated tipsters), and counts
every call and message. What the benchmark adds is the lean mode and the staff groups.

The emulator remembers everything forever: every call (with its uploaded bytes), every raw
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
emulator as it is.
"""

from __future__ import annotations

from collections import Counter, deque
from typing import Any

from sandbox.emulator import FakeTelegram
from sandbox.emulator.server import AnswerTimeout, ChatFeed

__all__ = ["FINANCE_CHAT", "REVIEW_CHAT", "AnswerTimeout", "BenchTelegram", "ChatFeed"]

JSONDict = dict[str, Any]

REVIEW_CHAT = -1001000000001
FINANCE_CHAT = -1001000000002
REVIEWER = 700000001
FINANCE_CLERK = 700000002


class BenchTelegram(FakeTelegram):
    """The emulator, lean if asked, with the two staff groups tipline checks at start-up."""

    def __init__(
        self,
        *,
        latency: float,
        lean: bool = False,
        keep_finished: int = 1000,
        keep_group_messages: int = 1000,
    ) -> None:
        super().__init__(latency=latency, keep_requests=not lean, keep_calls=0 if lean else None)
        self.lean = lean
        self.keep_finished = keep_finished
        self.keep_group_messages = keep_group_messages
        self._finished: deque[int] = deque()
        self._queries_of: dict[int, list[str]] = {}

    def _commit(self, msg: JSONDict) -> JSONDict:
        # The one place the emulator stores a new bot message (send*, copy, forward).
        rendered: JSONDict = super()._commit(msg)
        chat_id = int(msg["chat_id"])
        if self.lean:
            if "_upload" in msg:
                self._drop_upload_bytes(msg)
            if chat_id < 0:
                self._trim_group(chat_id)
        return rendered

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

"""Telegram's flood limits, kept per chat: one throttled chat never holds the others back.

python-telegram-bot's AIORateLimiter answers any RetryAfter by pausing every request, so a
review group answering 429 (or a fault there) delayed every tipster's receipt and dialogue
step. Here a 429 pauses the chat it names; only a flood that is not about one chat (a 429
for a request without a chat, or 429s for several chats at once) pauses everything.

Pacing is as before: at most `overall_max_rate` messages a second, and `group_max_rate` a
minute per group, for messages only. Answering a button, downloading files, reading chats and
members, polling and deleting are not messages; throttling them only slows tipsters down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

JSONDict = dict[str, Any]
log = logging.getLogger(__name__)

UNTHROTTLED = frozenset(
    {
        "getUpdates",
        "answerCallbackQuery",
        "getFile",
        "getChat",
        "getChatMember",
        "getChatAdministrators",
        "getMe",
        "setMyCommands",
        "deleteMessages",
    }
)
# 429s for this many different chats within the window are a flood of the bot, not a chat's.
GLOBAL_FLOOD_CHATS = 3
GLOBAL_FLOOD_WINDOW_SECONDS = 2.0
MAX_GROUP_LIMITERS = 512


class MessageRateLimiter(BaseRateLimiter[int]):
    def __init__(
        self,
        overall_max_rate: float,
        group_max_rate: float,
        max_retries: int = 3,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._overall = AsyncLimiter(overall_max_rate, 1) if overall_max_rate else None
        self._group_rate = group_max_rate
        self._groups: dict[int | str, AsyncLimiter] = {}
        self._max_retries = max_retries
        self._clock = clock
        self._chat_until: dict[int | str, float] = {}
        self._all_until = 0.0
        self._recent: deque[tuple[float, int | str]] = deque()

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @staticmethod
    def _chat(data: JSONDict) -> int | str | None:
        chat_id = data.get("chat_id")
        with contextlib.suppress(ValueError, TypeError):
            return int(chat_id)  # type: ignore[arg-type]
        return chat_id if isinstance(chat_id, str) else None

    def _group_limiter(self, chat: int | str) -> AsyncLimiter:
        if len(self._groups) > MAX_GROUP_LIMITERS:
            for key in [k for k, limiter in self._groups.items() if limiter.has_capacity(1)]:
                del self._groups[key]
        limiter = self._groups.get(chat)
        if limiter is None:
            limiter = self._groups[chat] = AsyncLimiter(self._group_rate, 60)
        return limiter

    async def _wait_turn(self, chat: int | str | None) -> None:
        """Sleep out a pause of this chat, or of everything."""
        while True:
            until = max(self._all_until, self._chat_until.get(chat, 0.0) if chat else 0.0)
            wait = until - self._clock()
            if wait <= 0:
                return
            await asyncio.sleep(min(wait, 0.25))  # a flood wait may end early (a clock jump)

    @contextlib.asynccontextmanager
    async def _paced(self, chat: int | str | None) -> AsyncIterator[None]:
        group = chat is not None and (isinstance(chat, str) or chat < 0) and self._group_rate
        async with contextlib.AsyncExitStack() as stack:
            if group and chat is not None:
                await stack.enter_async_context(self._group_limiter(chat))
            if chat is not None and self._overall is not None:
                await stack.enter_async_context(self._overall)
            yield

    def _note_flood(self, chat: int | str | None, seconds: float) -> None:
        now = self._clock()
        if chat is None:
            self._all_until = max(self._all_until, now + seconds)
            log.warning("a flood limit not about one chat: all messages wait %.0f s", seconds)
            return
        if len(self._chat_until) > MAX_GROUP_LIMITERS:  # forget pauses that are over
            self._chat_until = {c: t for c, t in self._chat_until.items() if t > now}
        self._chat_until[chat] = max(self._chat_until.get(chat, 0.0), now + seconds)
        self._recent.append((now, chat))
        while self._recent and self._recent[0][0] < now - GLOBAL_FLOOD_WINDOW_SECONDS:
            self._recent.popleft()
        if len({c for _, c in self._recent}) >= GLOBAL_FLOOD_CHATS:
            self._all_until = max(self._all_until, now + seconds)
            log.warning("flood limits in several chats at once: all messages wait %.0f s", seconds)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        if endpoint in UNTHROTTLED:
            return await callback(*args, **kwargs)
        chat = self._chat(data)
        retries = rate_limit_args if rate_limit_args is not None else self._max_retries
        for attempt in range(retries + 1):
            await self._wait_turn(chat)
            try:
                async with self._paced(chat):
                    return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt == retries:
                    raise
                pause = exc.retry_after
                seconds = pause if isinstance(pause, int | float) else pause.total_seconds()
                self._note_flood(chat, float(seconds) + 0.1)
        raise AssertionError("unreachable")

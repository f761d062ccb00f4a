"""Telegram's flood limits apply to messages, not to reads or to answering a button.

python-telegram-bot's AIORateLimiter counts every request that names a chat against the
overall 30 a second. Answering callback queries, downloading files, reading chats and members,
polling and deleting are not messages; throttling them only slows every tipster down.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from telegram.ext import AIORateLimiter

JSONDict = dict[str, Any]

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


class MessageRateLimiter(AIORateLimiter):
    """AIORateLimiter (30 messages a second overall, 20 a minute per group) for messages only."""

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
        return await super().process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )

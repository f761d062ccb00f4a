"""Who may act in a staff chat: members of it, checked with getChatMember and cached briefly.

Actions by an anonymous group admin (sent as "GroupAnonymousBot") or on behalf of a channel
cannot be attributed to a person, so they are refused: every staff decision is accountable.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from typing import NamedTuple

from telegram import CallbackQuery, Message, Update
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

from bot.domain.staff import Actor
from bot.telegram import callbacks
from bot.telegram.runtime import Context
from storage.records import PromptRecord

ANONYMOUS_ADMIN_ID = 1087968824  # Telegram's GroupAnonymousBot
ROLE_CACHE_SECONDS = 60
_STAFF = {ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}
_ADMINS = {ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}


def unattributable(update: Update) -> bool:
    """True when the sender is an anonymous admin or a channel, not a person."""
    message = update.effective_message
    if message is not None and message.sender_chat is not None and update.callback_query is None:
        return True
    user = update.effective_user
    return user is None or user.id == ANONYMOUS_ADMIN_ID or user.is_bot


async def staff_role(update: Update, context: Context, chat_id: int) -> Actor | None:
    """The sender's role in a staff chat, or None if they are not a member of it."""
    user = update.effective_user
    if user is None:
        return None
    cache = context.bot_data.role_cache
    cached = cache.get((chat_id, user.id))
    now = time.monotonic()
    if cached is not None and cached[1] > now:
        status = cached[0]
    else:
        try:
            member = await context.bot.get_chat_member(chat_id, user.id)
            status = member.status
        except TelegramError:
            return None
        cache[(chat_id, user.id)] = (status, now + ROLE_CACHE_SECONDS)
    if status not in _STAFF:
        return None
    return Actor(user.id, status in _ADMINS)


async def authorize(
    update: Update, context: Context, staff_chats: Collection[int], not_member_text: str
) -> Actor | None:
    """The sender's role in one of these staff chats, or None after telling them why not.

    Outside those chats a button press is answered as not valid; an anonymous admin or a
    channel is told that actions must be attributable; a non-member gets `not_member_text`.
    """
    runtime = context.bot_data.runtime
    language = runtime.settings.staff_language
    chat = update.effective_chat
    if chat is None or chat.id not in staff_chats:
        if update.callback_query is not None:
            text = runtime.catalogue.text(language, "staff.error.forged")
            await update.callback_query.answer(text, show_alert=True)
        return None
    role: Actor | None = None
    if unattributable(update):
        refusal: str | None = runtime.catalogue.text(language, "staff.error.anonymous")
    else:
        role = await staff_role(update, context, chat.id)
        refusal = not_member_text if role is None else None
    if refusal is not None:
        if update.callback_query is not None:
            await update.callback_query.answer(refusal, show_alert=True)
        elif update.effective_message is not None:
            await update.effective_message.reply_text(refusal)
        return None
    return role


class StaffMessage(NamedTuple):
    """An authorized staff member's message: who sent it, the message, the chat."""

    actor: Actor
    message: Message
    chat_id: int


class StaffPress(NamedTuple):
    """An authorized staff member's button press: who, the query, the chat, what was pressed
    (None when the data is not a button this version knows)."""

    actor: Actor
    query: CallbackQuery
    chat_id: int
    pressed: callbacks.Callback | None


class StaffDoor:
    """The way into one kind of staff chat: which chats, and what a non-member is told."""

    def __init__(self, chats: Callable[[Context], Collection[int]], not_member_key: str) -> None:
        self._chats = chats
        self._not_member_key = not_member_key

    async def actor(self, update: Update, context: Context) -> Actor | None:
        """The sender, or None after telling them why not."""
        runtime = context.bot_data.runtime
        refusal = runtime.catalogue.text(runtime.settings.staff_language, self._not_member_key)
        return await authorize(update, context, self._chats(context), refusal)

    async def message(self, update: Update, context: Context) -> StaffMessage | None:
        """A command or reply: who sent it, the message and the chat; None when refused."""
        actor = await self.actor(update, context)
        message = update.effective_message
        if actor is None or message is None or update.effective_chat is None:
            return None
        return StaffMessage(actor, message, update.effective_chat.id)

    async def press(self, update: Update, context: Context) -> StaffPress | None:
        """A button press: who, the query, the chat and the decoded data; None when refused."""
        query = update.callback_query
        assert query is not None and query.data is not None and update.effective_chat is not None
        actor = await self.actor(update, context)
        if actor is None:
            return None
        return StaffPress(actor, query, update.effective_chat.id, callbacks.decode(query.data))


async def replied_prompt(update: Update, context: Context) -> PromptRecord | None:
    """The bot's open prompt this message replies to, if any. It stays open until the service
    that applies the reply closes it in the same transaction."""
    message = update.effective_message
    chat = update.effective_chat
    replied = message.reply_to_message if message is not None else None
    if chat is None or replied is None or replied.from_user is None:
        return None
    if replied.from_user.id != context.bot.id:
        return None
    return await context.bot_data.runtime.review.find_prompt(chat.id, replied.message_id)

"""What every part of the tipster's chat shares: texts, buttons, replies, stale presses."""

from __future__ import annotations

from telegram import CopyTextButton, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    ConversationHandler,
)

from bot.domain.errors import IntakeError
from bot.domain.items import Step
from bot.telegram import callbacks
from bot.telegram.callbacks import Callback
from bot.telegram.i18n import language_for
from bot.telegram.runtime import Context

END = ConversationHandler.END
StepResult = Step | int | None


def user_language(update: Update) -> str:
    user = update.effective_user
    return language_for(user.language_code if user else None)


def t(context: Context, update: Update, key: str, **params: object) -> str:
    return context.bot_data.runtime.catalogue.text(user_language(update), key, **params)


def button(context: Context, update: Update, key: str, pressed: Callback) -> InlineKeyboardButton:
    """A button labelled in the tipster's language that sends `pressed` back."""
    return InlineKeyboardButton(t(context, update, key), callback_data=callbacks.encode(pressed))


def copy_button(context: Context, update: Update, key: str, text: str) -> InlineKeyboardButton:
    """A button labelled in the tipster's language that copies `text` to their clipboard (the
    bot hears nothing when it is pressed)."""
    return InlineKeyboardButton(t(context, update, key), copy_text=CopyTextButton(text))


def pressed_button(update: Update) -> Callback | None:
    """The button pressed, or None for data no button of ours carries."""
    query = update.callback_query
    return callbacks.decode(query.data) if query is not None and query.data else None


def user_id(update: Update) -> int:
    assert update.effective_user is not None
    return update.effective_user.id


async def say(
    update: Update, text: str, markup: InlineKeyboardMarkup | None = None
) -> Message | None:
    """Answer in the chat the update came from."""
    chat = update.effective_chat
    if chat is None:
        return None
    return await chat.send_message(text, reply_markup=markup)


async def refuse(update: Update, context: Context, error: IntakeError) -> None:
    """Tell the tipster why nothing changed: an alert on a button, a message otherwise."""
    text = t(context, update, error.key, **error.params)
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    else:
        await say(update, text)


async def clear_buttons(update: Update) -> None:
    """Take the buttons off the message that was pressed, so it cannot be pressed twice."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    try:
        await query.edit_message_reply_markup(None)
    except BadRequest:
        pass  # already without buttons, or too old to edit: nothing to undo


async def stale_button(update: Update, context: Context) -> StepResult:
    """A button from an earlier step or an old message."""
    query = update.callback_query
    assert query is not None
    await query.answer(t(context, update, "error.stale_button"), show_alert=True)
    return None


async def empty_button(update: Update, context: Context) -> None:
    """A button press without data (python-telegram-bot would match it to every pattern)."""
    query = update.callback_query
    if query is None or query.data:
        return
    await query.answer(t(context, update, "error.stale_button"), show_alert=True)
    raise ApplicationHandlerStop


def guard_handlers() -> list[BaseHandler[Update, Context, object]]:
    """Checked before anything else (group -2)."""
    return [CallbackQueryHandler(empty_button)]

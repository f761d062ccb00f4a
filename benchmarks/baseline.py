"""The baseline: a bare python-telegram-bot echo bot, polled and configured like tipline.

It answers a text with sendMessage, a button press with answerCallbackQuery and sendMessage,
and a photo with sendMessage. Every answer carries one inline button (so the simulated person
has something to press next) and uses HTML, like tipline's answers, so the fake server does
the same kind of work for both bots.
"""

from __future__ import annotations

import asyncio
import html
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)

# Same polling parameters as bot/app.py, so both bots wait for updates the same way.
POLL_TIMEOUT_SECONDS = 25
MAX_CONCURRENT_UPDATES = 256

EchoApplication = Application[Any, Any, Any, Any, Any, Any]
_KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("Next", callback_data="b:next")]])


async def _echo_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Echo a text message."""
    message = update.effective_message
    assert message is not None and message.text is not None
    await message.reply_text(
        f"<b>Echo:</b> {html.escape(message.text[:200])}", reply_markup=_KEYBOARD
    )


async def _echo_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Acknowledge a photo."""
    message = update.effective_message
    assert message is not None and message.photo
    size = message.photo[-1]
    await message.reply_text(
        f"<b>Photo</b> {size.width}x{size.height} received", reply_markup=_KEYBOARD
    )


async def _echo_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a button press, then say which button it was."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    chat = update.effective_chat
    assert chat is not None
    await chat.send_message(
        f"<b>Pressed:</b> {html.escape(query.data or '')}", reply_markup=_KEYBOARD
    )


def build_echo_application(token: str, api_url: str, *, concurrent: bool = True) -> EchoApplication:
    """The echo bot; `concurrent` lets PTB handle up to 256 updates at once."""
    application: EchoApplication = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{api_url}/bot")
        .base_file_url(f"{api_url}/file/bot")
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .concurrent_updates(MAX_CONCURRENT_UPDATES if concurrent else False)
        .get_updates_read_timeout(POLL_TIMEOUT_SECONDS + 10)
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, _echo_text))
    application.add_handler(MessageHandler(filters.PHOTO, _echo_photo))
    application.add_handler(CallbackQueryHandler(_echo_button))
    return application


async def serve_echo(
    application: EchoApplication, stop: asyncio.Event, ready: asyncio.Event
) -> None:
    """Poll and answer until `stop` is set (the same steps as tipline's `serve`)."""
    await application.initialize()
    try:
        assert application.updater is not None
        await application.updater.start_polling(
            timeout=POLL_TIMEOUT_SECONDS, allowed_updates=Update.ALL_TYPES
        )
        await application.start()
        ready.set()
        await stop.wait()
    finally:
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()

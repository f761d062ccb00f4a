"""The answer window: the tipster's replies to a reviewers' question go to the reviewers."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.domain.errors import AnswerClosed, IntakeError
from bot.telegram import callbacks
from bot.telegram.callbacks import AnswerButton, AnswerDone
from bot.telegram.runtime import Context
from handlers.tipster.common import button, clear_buttons, pressed_button, refuse, say, t, user_id
from handlers.tipster.content import prepare


async def answer_button(update: Update, context: Context) -> None:
    """Reply (or Done) under a reviewers' question: open or close the answer window. The
    press is answered here, once, and goes no further (a second answer is refused by Telegram,
    and the tipster would read an apology)."""
    query = update.callback_query
    assert query is not None
    answers = context.bot_data.runtime.answers
    pressed = pressed_button(update)
    if isinstance(pressed, AnswerDone):
        ended = await answers.end_answer(user_id(update))
        await query.answer()
        await clear_buttons(update)
        await say(update, t(context, update, "answer.ended" if ended else "answer.not_open"))
        raise ApplicationHandlerStop
    if not isinstance(pressed, AnswerButton):
        await query.answer(t(context, update, "answer.closed"), show_alert=True)
        raise ApplicationHandlerStop
    try:
        started = await answers.start_answer(user_id(update), pressed.token)
    except AnswerClosed:
        await query.answer(t(context, update, "answer.closed"), show_alert=True)
        raise ApplicationHandlerStop from None
    await query.answer()
    await say(
        update,
        t(
            context,
            update,
            "answer.started",
            reference=started.reference,
            minutes=context.bot_data.runtime.policy.review.answer_window_minutes,
        ),
        InlineKeyboardMarkup([[button(context, update, "button.answer_done", AnswerDone())]]),
    )
    raise ApplicationHandlerStop


async def answer_message(update: Update, context: Context) -> None:
    """While an answer window is open, the tipster's messages go to the reviewers."""
    answers = context.bot_data.runtime.answers
    message = update.effective_message
    if message is None or not await answers.answering(user_id(update)):
        return
    try:
        items = await prepare(update, context, message)
        if items:
            await answers.add_answers(user_id(update), items)
    except AnswerClosed:
        await say(update, t(context, update, "answer.closed"))
        raise ApplicationHandlerStop from None
    except IntakeError as error:
        await refuse(update, context, error)
        raise ApplicationHandlerStop from None
    if items:
        await say(
            update,
            t(context, update, "answer.relayed"),
            InlineKeyboardMarkup([[button(context, update, "button.answer_done", AnswerDone())]]),
        )
    raise ApplicationHandlerStop


async def answer_done_command(update: Update, context: Context) -> None:
    """/done while answering closes the answer window (otherwise the tip dialogue has it)."""
    if await context.bot_data.runtime.answers.end_answer(user_id(update)):
        await say(update, t(context, update, "answer.ended"))
        raise ApplicationHandlerStop


def answer_handlers() -> list[BaseHandler[Update, Context, object]]:
    """Checked before the dialogue (group -1): answers to reviewers' questions."""
    private = filters.ChatType.PRIVATE
    return [
        CallbackQueryHandler(answer_button, pattern=callbacks.ANSWER_PATTERN),
        CommandHandler("done", answer_done_command, filters=private),
        MessageHandler(private & ~filters.COMMAND & filters.UpdateType.MESSAGE, answer_message),
    ]

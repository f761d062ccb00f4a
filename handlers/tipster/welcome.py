"""The first screen: /start and /help fit on a phone's screen, and the full promises (what is
kept, for how long, and what cannot be promised) are one button away."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update

from bot.telegram.callbacks import ShowPromises, StartReport
from bot.telegram.runtime import Context
from handlers.tipster.common import StepResult, button, say, t


def welcome_keyboard(context: Context, update: Update) -> InlineKeyboardMarkup:
    """Under /start and /help: report a tip, or read the promises in full."""
    return InlineKeyboardMarkup(
        [
            [button(context, update, "button.report", StartReport())],
            [button(context, update, "button.promises", ShowPromises())],
        ]
    )


def promises_text(context: Context, update: Update) -> str:
    """The promises in full, with the periods the policy sets."""
    policy = context.bot_data.runtime.policy
    return t(
        context,
        update,
        "start.promises",
        days=policy.contact_days,
        draft_hours=policy.intake.draft_ttl_hours,
        retention_days=policy.retention_days,
    )


async def show_promises(update: Update, context: Context) -> StepResult:
    """The "Our promises" button: the full text as a new message (the short one stays above it
    with its buttons), with the button to report. The press is answered once, first; it changes
    nothing, so a draft in progress stays where it was."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    keyboard = InlineKeyboardMarkup([[button(context, update, "button.report", StartReport())]])
    await say(update, promises_text(context, update), keyboard)
    return None

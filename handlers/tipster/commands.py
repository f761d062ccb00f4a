"""Commands outside the dialogue (/start, /help, /status, /forget) and the command menu."""

from __future__ import annotations

from telegram import BotCommand, BotCommandScopeAllPrivateChats, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.domain.errors import IntakeError
from bot.services.reward_book import TipsterReward
from bot.telegram import callbacks
from bot.telegram.i18n import LANGUAGES, Catalogue, Html
from bot.telegram.runtime import Context
from handlers.tipster.campaigns import campaign_start
from handlers.tipster.common import (
    copy_button,
    refuse,
    say,
    stale_button,
    t,
    user_id,
    user_language,
)
from handlers.tipster.dialogue import cancel, conversation
from handlers.tipster.welcome import welcome_keyboard

COMMANDS = ("start", "report", "status", "forget", "cancel", "help")


async def start(update: Update, context: Context) -> None:
    """Explain the line in one screen, with a button to report and one to the full promises."""
    keyboard = welcome_keyboard(context, update)
    await say(update, t(context, update, "start.welcome"), keyboard)
    await campaign_start(update, context)  # `/start <key>` from a campaign's link


async def help_command(update: Update, context: Context) -> None:
    """Repeat the essentials and the commands, in one screen, with the same two buttons."""
    await say(update, t(context, update, "help.text"), welcome_keyboard(context, update))


def _receipt_argument(context: Context) -> str:
    return " ".join(context.args or [])


async def status(update: Update, context: Context) -> None:
    """Show a tip's state from its receipt; works from any account."""
    receipt = _receipt_argument(context)
    if not receipt:
        await say(update, t(context, update, "status.usage"))
        return
    try:
        view = await context.bot_data.runtime.receipts.status(user_id(update), receipt)
    except IntakeError as error:
        await refuse(update, context, error)
        return
    submitted = context.bot_data.runtime.local.date(view.submitted_at)
    contact_key = "status.contact_on" if view.contact_stored else "status.contact_off"
    text = t(
        context,
        update,
        "status.result",
        reference=view.reference,
        date=submitted,
        state=Html(t(context, update, f"state.{view.status.value}")),
        contact=Html(t(context, update, contact_key)),
    )
    markup = None
    if view.reward is not None:
        text += "\n\n" + _reward_text(update, context, view.reward)
        if view.reward.status == "offered" and view.reward.claim_code:
            code = view.reward.claim_code
            button = copy_button(context, update, "button.copy_claim_code", code)
            markup = InlineKeyboardMarkup([[button]])
    await say(update, text, markup)


def _reward_text(update: Update, context: Context, reward: TipsterReward) -> str:
    """The reward part of /status: the claim code is shown only to the receipt holder."""
    runtime = context.bot_data.runtime
    amount = runtime.sender.money(reward.amount_minor)
    if reward.status != "offered":
        return t(context, update, f"reward_status.{reward.status}", amount=amount)
    instructions = runtime.policy.rewards.claim_instructions
    lang = user_language(update)
    expires = runtime.local.date(reward.expires_at) if reward.expires_at else "?"
    return t(
        context,
        update,
        "reward_status.offered",
        amount=amount,
        expires=expires,
        code=reward.claim_code or "—",
        instructions=instructions.get(lang) or instructions["en"],
    )


async def forget(update: Update, context: Context) -> None:
    """Erase the stored way to reach the tipster about one tip."""
    receipt = _receipt_argument(context)
    if not receipt:
        await say(update, t(context, update, "forget.usage"))
        return
    try:
        removed = await context.bot_data.runtime.receipts.forget(user_id(update), receipt)
    except IntakeError as error:
        await refuse(update, context, error)
        return
    await say(update, t(context, update, "forget.done" if removed else "forget.nothing"))


async def unknown_command(update: Update, context: Context) -> None:
    """Any other command in a private chat."""
    await say(update, t(context, update, "error.unknown_command"))


async def edited_message(update: Update, context: Context) -> None:
    """Edits are not applied to a tip; say so, so the tipster sends the correction."""
    await say(update, t(context, update, "error.edit_ignored"))


def build(conversation_timeout_minutes: int) -> list[BaseHandler[Update, Context, object]]:
    """The private-chat handlers in priority order (all in group 0): the dialogue first."""
    private = filters.ChatType.PRIVATE
    return [
        conversation(conversation_timeout_minutes),
        CommandHandler("start", start, filters=private),
        CommandHandler("help", help_command, filters=private),
        CommandHandler("status", status, filters=private),
        CommandHandler("forget", forget, filters=private),
        CommandHandler("cancel", cancel, filters=private),
        MessageHandler(private & filters.UpdateType.EDITED_MESSAGE, edited_message),
        MessageHandler(private & filters.COMMAND, unknown_command),
        CallbackQueryHandler(stale_button, pattern=callbacks.TIPSTER_PATTERN),
    ]


def command_lists(catalogue: Catalogue) -> dict[str, list[BotCommand]]:
    """The private-chat command menu in each language."""
    return {
        language: [
            BotCommand(name, catalogue.text(language, f"command.{name}")) for name in COMMANDS
        ]
        for language in LANGUAGES
    }


COMMAND_SCOPE = BotCommandScopeAllPrivateChats()

"""The reviewers' group: the buttons on each tip's card, replies to prompts, and commands.

Every press and command re-checks the chat, the sender's membership and the tip's state; the
service refuses what is not allowed now. Refusals are short alerts that change nothing.
"""

from __future__ import annotations

import html
import re

from telegram import (
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyParameters,
    Update,
)
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.domain.errors import HeldByOther, RaceLost, ReviewError
from bot.domain.policy import Tier
from bot.domain.prompts import PromptKind
from bot.domain.report import Action
from bot.domain.staff import Actor
from bot.services.answers import TIPSTER_ACTOR
from bot.services.outcomes import Recorded
from bot.services.review import HistoryEntry
from bot.telegram import callbacks
from bot.telegram.callbacks import (
    NoContactButton,
    ProposeReward,
    RecordOutcome,
    ReviewMove,
    TierChoice,
)
from bot.telegram.i18n import Html
from bot.telegram.posts import mention
from bot.telegram.runtime import Context
from handlers import stats
from handlers.roles import StaffDoor, replied_prompt

_REFERENCE = re.compile(r"^T-\d{4}-\d{4,7}$", re.IGNORECASE)
_PROMPTED = {Action.ASK, Action.DUPLICATE}
_DOOR = StaffDoor(lambda context: context.bot_data.runtime.review_chats, "staff.error.not_staff")


def _t(context: Context, key: str, **params: object) -> str:
    runtime = context.bot_data.runtime
    return runtime.catalogue.text(runtime.settings.staff_language, key, **params)


async def _name(context: Context, chat_id: int, user_id: int | None) -> str:
    if user_id is None:
        return "?"
    return await context.bot_data.runtime.sender.staff_name(chat_id, user_id)


async def _error_text(context: Context, chat_id: int, error: ReviewError) -> str:
    params = dict(error.params)
    if isinstance(error, HeldByOther | RaceLost):
        holder = params.pop("holder_id", None)
        params["name"] = await _name(context, chat_id, holder if isinstance(holder, int) else None)
    if "status" in params:
        status = str(params["status"])
        params["status"] = Html(_t(context, f"staff.state.{status}")) if status else ""
    if "reward_status" in params:
        params["reward_status"] = Html(_t(context, f"reward.state.{params['reward_status']}"))
    money_params(context, params)
    return _t(context, error.key, **params)


def money_params(context: Context, params: dict[str, object]) -> None:
    """Amounts in an error (minor units) as money; a tier's range as one phrase."""
    money = context.bot_data.runtime.sender.money
    low, high = params.get("low"), params.get("high")
    if isinstance(low, int):
        params["range"] = (
            f"{money(low)}–{money(high)}"
            if isinstance(high, int) and high
            else _t(context, "reward.at_least", amount=money(low))
        )
    remaining = params.get("remaining")
    if isinstance(remaining, int):
        params["remaining"] = money(remaining)


def _reply_to_card(card_id: int | None, pressed: object) -> ReplyParameters | None:
    """Quote the tip's card (or the pressed message) so the reply is tied to the tip."""
    message_id = card_id or getattr(pressed, "message_id", None)
    if not isinstance(message_id, int):
        return None
    return ReplyParameters(message_id, allow_sending_without_reply=True)


async def button(update: Update, context: Context) -> None:
    """A press on a tip card's button."""
    press = await _DOOR.press(update, context)
    if press is None:
        return
    actor, query, chat_id, pressed = press
    review = context.bot_data.runtime.review
    if isinstance(pressed, NoContactButton):
        await query.answer(_t(context, "staff.error.no_contact"), show_alert=True)
        return
    if isinstance(pressed, ProposeReward):
        await _offer_tiers(update, context, pressed.reference, actor)
        return
    if isinstance(pressed, RecordOutcome):
        await _ask_outcome(update, context, pressed.reference, actor)
        return
    if not isinstance(pressed, ReviewMove):
        await query.answer(_t(context, "staff.error.forged"), show_alert=True)
        return
    reference, action = pressed.reference, pressed.action
    try:
        if action in _PROMPTED:
            report = await review.prepare(reference, chat_id, actor, action)
            name = mention(actor.user_id, await _name(context, chat_id, actor.user_id))
            prompt_key = "staff.prompt.ask" if action is Action.ASK else "staff.prompt.duplicate"
            prompt = await context.bot.send_message(
                chat_id,
                _t(context, prompt_key, name=name, reference=report.reference),
                reply_markup=ForceReply(selective=True),
                reply_parameters=_reply_to_card(report.review_message_id, query.message),
            )
            await review.remember_prompt(
                chat_id, prompt.message_id, PromptKind(action.value), report, actor
            )
            await query.answer(_t(context, "staff.done.prompted"))
            return
        await review.act(reference, chat_id, actor, action)
    except ReviewError as error:
        await query.answer(await _error_text(context, chat_id, error), show_alert=True)
        return
    await query.answer(_t(context, f"staff.done.{action.value}"))


async def _offer_tiers(update: Update, context: Context, reference: str, actor: Actor) -> None:
    """ "Propose reward": the tiers of the scheme as buttons, under the tip's card."""
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    runtime = context.bot_data.runtime
    chat_id = update.effective_chat.id
    try:
        report = await runtime.rewards.check_proposable(reference, chat_id, actor)
    except ReviewError as error:
        await query.answer(await _error_text(context, chat_id, error), show_alert=True)
        return
    language = runtime.settings.staff_language
    suggested = await runtime.outcomes.suggestion(report)
    tiers = list(runtime.policy.rewards.tiers)
    if suggested is not None:  # the tier of the recorded seizure first; a person still chooses
        tiers = [suggested, *(tier for tier in tiers if tier.key != suggested.key)]
    rows = [
        [
            InlineKeyboardButton(
                ("⭐ " if tier is suggested else "")
                + f"{tier.label(language)} · {_tier_amount(context, tier)}",
                callback_data=callbacks.encode(TierChoice(tier.key, report.reference)),
            )
        ]
        for tier in tiers
    ]
    text = _t(context, "reward.choose_tier", reference=report.reference)
    if suggested is not None:
        text += "\n" + _t(context, "reward.suggested_tier", tier=suggested.label(language))
    await context.bot.send_message(
        chat_id,
        text,
        reply_markup=InlineKeyboardMarkup(rows),
        reply_parameters=_reply_to_card(report.review_message_id, query.message),
    )
    await query.answer()


async def _ask_outcome(update: Update, context: Context, reference: str, actor: Actor) -> None:
    """ "Outcome": a prompt whose reply is the outcome, in the /outcome format."""
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    runtime = context.bot_data.runtime
    chat_id = update.effective_chat.id
    try:
        report = await runtime.outcomes.check(reference, chat_id, actor)
    except ReviewError as error:
        await query.answer(await _error_text(context, chat_id, error), show_alert=True)
        return
    name = mention(actor.user_id, await _name(context, chat_id, actor.user_id))
    prompt = await context.bot.send_message(
        chat_id,
        _t(context, "staff.prompt.outcome", name=name, reference=report.reference),
        reply_markup=ForceReply(selective=True),
        reply_parameters=_reply_to_card(report.review_message_id, query.message),
    )
    await runtime.review.remember_prompt(
        chat_id, prompt.message_id, PromptKind.OUTCOME, report, actor
    )
    await query.answer(_t(context, "staff.done.prompted"))


def _outcome_reply(context: Context, recorded: Recorded) -> str:
    key = "staff.outcome_corrected" if recorded.corrected else "staff.outcome_recorded"
    lines = [_t(context, key, reference=recorded.report.reference)]
    lines += context.bot_data.runtime.sender.renderer.outcome_lines(recorded.view)
    return "\n".join(lines)


def _tier_amount(context: Context, tier: Tier) -> str:
    money = context.bot_data.runtime.sender.money
    if tier.fixed:
        return money(tier.min_minor)
    if tier.max_minor is None:
        return _t(context, "reward.at_least", amount=money(tier.min_minor))
    return f"{money(tier.min_minor)}–{money(tier.max_minor)}"


async def tier_chosen(update: Update, context: Context) -> None:
    """A tier button: ask for the amount (within its range) and the justification."""
    press = await _DOOR.press(update, context)
    if press is None:
        return
    actor, query, chat_id, pressed = press
    runtime = context.bot_data.runtime
    tier = runtime.policy.rewards.tier(pressed.tier) if isinstance(pressed, TierChoice) else None
    if not isinstance(pressed, TierChoice) or tier is None:
        await query.answer(_t(context, "staff.error.forged"), show_alert=True)
        return
    try:
        report = await runtime.rewards.check_proposable(pressed.reference, chat_id, actor)
    except ReviewError as error:
        await query.answer(await _error_text(context, chat_id, error), show_alert=True)
        return
    name = mention(actor.user_id, await _name(context, chat_id, actor.user_id))
    key = "reward.prompt_fixed" if tier.fixed else "reward.prompt_range"
    prompt = await context.bot.send_message(
        chat_id,
        _t(
            context,
            key,
            name=name,
            reference=report.reference,
            tier=tier.label(runtime.settings.staff_language),
            amount=_tier_amount(context, tier),
        ),
        reply_markup=ForceReply(selective=True),
        reply_parameters=_reply_to_card(report.review_message_id, query.message),
    )
    await runtime.review.remember_prompt(
        chat_id, prompt.message_id, PromptKind.REWARD, report, actor, payload=tier.key
    )
    await query.answer()


async def prompt_reply(update: Update, context: Context) -> None:
    """A reply to the bot's prompt: the question for the tipster, or a duplicate's original."""
    message = update.effective_message
    chat = update.effective_chat
    review = context.bot_data.runtime.review
    prompt = await replied_prompt(update, context)
    if message is None or chat is None or prompt is None:
        return
    actor = await _DOOR.actor(update, context)
    if actor is None:
        return
    text = message.text or ""
    try:
        if prompt.kind == PromptKind.ASK:
            outcome = await review.ask(prompt, actor, text)
            reply = _t(context, "staff.asked", reference=outcome.report.reference)
            if outcome.relayed is not None:
                reply += "\n" + _t(context, "staff.asked_inert", question=outcome.relayed)
        elif prompt.kind == PromptKind.OUTCOME:
            recorded = await context.bot_data.runtime.outcomes.record_reply(prompt, actor, text)
            reply = _outcome_reply(context, recorded)
        elif prompt.kind == PromptKind.REWARD:
            reward = await context.bot_data.runtime.rewards.propose(prompt, actor, text)
            reply = _t(
                context,
                "reward.proposed",
                amount=context.bot_data.runtime.sender.money(reward.amount_minor),
            )
        else:
            outcome = await review.mark_duplicate(prompt, actor, text)
            reply = _t(
                context,
                "staff.duplicate_marked",
                reference=outcome.report.reference,
                original=text.strip().upper(),
            )
    except ReviewError as error:  # rolled back: the prompt stays open for another reply
        await message.reply_text(await _error_text(context, chat.id, error))
        return
    await message.reply_text(reply)


async def _entry_line(context: Context, chat_id: int, entry: HistoryEntry) -> str:
    """One line of a tip's history. Staff actions show the minute; what the tipster did (and
    what the bot did on its own) only the date, like the tip's submission."""
    tipster = entry.actor_id == TIPSTER_ACTOR
    who = _t(context, "staff.tipster") if tipster else await _name(context, chat_id, entry.actor_id)
    local = context.bot_data.runtime.local
    line = _t(
        context,
        "staff.tip.entry",
        when=local.date(entry.at) if tipster else local.time(entry.at),
        name=who,
        action=Html(_t(context, f"staff.action.{entry.action}")),
    )
    if entry.text:
        line += "\n    " + html.escape(entry.text)
    return line


def _reference_argument(context: Context) -> str | None:
    args = context.args or []
    if not args or not _REFERENCE.match(args[0]):
        return None
    return args[0].upper()


async def tip_command(update: Update, context: Context) -> None:
    """/tip <ref>: show a tip's card again, with its whole history."""
    staff = await _DOOR.message(update, context)
    if staff is None:
        return
    _, message, chat_id = staff
    reference = _reference_argument(context)
    if reference is None:
        await message.reply_text(_t(context, "staff.usage.tip"))
        return
    runtime = context.bot_data.runtime
    try:
        history = await runtime.review.history(reference, chat_id)
    except ReviewError as error:
        await message.reply_text(await _error_text(context, chat_id, error))
        return
    lines = [
        _t(
            context,
            "staff.tip.header",
            reference=history.report.reference,
            status=Html(_t(context, f"staff.state.{history.report.status}")),
            date=runtime.local.date(history.report.submitted_at),
        ),
    ]
    outcome = await runtime.outcomes.view(history.report)
    if outcome is not None:
        lines += runtime.sender.renderer.outcome_lines(outcome)
        if outcome.note:
            lines.append(_t(context, "staff.card.outcome_note", note=outcome.note))
    lines += [await _entry_line(context, chat_id, entry) for entry in history.entries]
    if not history.entries:
        lines.append(_t(context, "staff.tip.no_history"))
    await message.reply_text(
        "\n".join(lines)[:4000],
        reply_parameters=_reply_to_card(history.report.review_message_id, message),
    )


async def queue_command(update: Update, context: Context) -> None:
    """/queue: open tips of this chat, oldest first."""
    staff = await _DOOR.message(update, context)
    if staff is None:
        return
    _, message, chat_id = staff
    runtime = context.bot_data.runtime
    open_tips = await runtime.review.queue(chat_id)
    if not open_tips:
        await message.reply_text(_t(context, "staff.queue.empty"))
        return
    now = runtime.review.now()
    lines = [_t(context, "staff.queue.title", count=len(open_tips))]
    for report in open_tips:
        hours = max(0, (now - report.submitted_at) // 3600)
        holder = await _name(context, chat_id, report.holder_id) if report.holder_id else "—"
        lines.append(
            _t(
                context,
                "staff.queue.line",
                reference=report.reference,
                status=Html(_t(context, f"staff.state.{report.status}")),
                hours=hours,
                holder=holder,
            )
        )
    await message.reply_text("\n".join(lines)[:4000])


async def note_command(update: Update, context: Context) -> None:
    """/note <ref> <text>: an internal note, never shown to the tipster."""
    staff = await _DOOR.message(update, context)
    if staff is None:
        return
    actor, message, chat_id = staff
    reference = _reference_argument(context)
    text = (message.text or "").split(maxsplit=2)
    if reference is None or len(text) < 3:
        await message.reply_text(_t(context, "staff.usage.note"))
        return
    try:
        report = await context.bot_data.runtime.review.note(reference, chat_id, actor, text[2])
    except ReviewError as error:
        await message.reply_text(await _error_text(context, chat_id, error))
        return
    await message.reply_text(_t(context, "staff.note_added", reference=report.reference))


async def outcome_command(update: Update, context: Context) -> None:
    """/outcome <ref> case ...; arrested ...; drug weight; note: ... — record or correct the
    outcome of a verified tip."""
    staff = await _DOOR.message(update, context)
    if staff is None:
        return
    actor, message, chat_id = staff
    reference = _reference_argument(context)
    text = (message.text or "").split(maxsplit=2)
    if reference is None or len(text) < 3:
        await message.reply_text(_t(context, "staff.usage.outcome"))
        return
    runtime = context.bot_data.runtime
    try:
        recorded = await runtime.outcomes.record(reference, chat_id, actor, text[2])
    except ReviewError as error:
        await message.reply_text(await _error_text(context, chat_id, error))
        return
    await message.reply_text(_outcome_reply(context, recorded))


async def stats_command(update: Update, context: Context) -> None:
    """/stats [week|month|YYYY-MM]: this chat's tips as a chart (aggregates only)."""
    staff = await _DOOR.message(update, context)
    if staff is None:
        return
    _, message, chat_id = staff
    await stats.review_stats(message, context, chat_id)


async def repost_command(update: Update, context: Context) -> None:
    """/repost <ref>: post a tip again (after its post was set aside, or deleted)."""
    staff = await _DOOR.message(update, context)
    if staff is None:
        return
    actor, message, chat_id = staff
    reference = _reference_argument(context)
    if reference is None:
        await message.reply_text(_t(context, "staff.usage.repost"))
        return
    try:
        report = await context.bot_data.runtime.review.repost(reference, chat_id, actor)
    except ReviewError as error:
        await message.reply_text(await _error_text(context, chat_id, error))
        return
    await message.reply_text(_t(context, "staff.reposted", reference=report.reference))


async def search_command(update: Update, context: Context) -> None:
    """/search <words>: tips of this chat whose text holds every word."""
    staff = await _DOOR.message(update, context)
    if staff is None:
        return
    _, message, chat_id = staff
    words = " ".join(context.args or [])
    if not words:
        await message.reply_text(_t(context, "staff.usage.search"))
        return
    found = await context.bot_data.runtime.review.search(chat_id, words)
    if not found:
        await message.reply_text(_t(context, "staff.search.none"))
        return
    lines = [_t(context, "staff.search.title", count=len(found))]
    lines += [
        _t(
            context,
            "staff.search.line",
            reference=r.reference,
            status=Html(_t(context, f"staff.state.{r.status}")),
            date=context.bot_data.runtime.local.date(r.submitted_at),
        )
        for r in found[:30]
    ]
    await message.reply_text("\n".join(lines)[:4000])


def build(review_chats: frozenset[int]) -> list[BaseHandler[Update, Context, object]]:
    """Handlers for the review chats (group 0, after the tipster's private-chat handlers)."""
    in_review = filters.Chat(chat_id=list(review_chats))
    return [
        CallbackQueryHandler(button, pattern=callbacks.REVIEW_PATTERN),
        CallbackQueryHandler(tier_chosen, pattern=callbacks.TIER_PATTERN),
        CommandHandler("tip", tip_command, filters=in_review),
        CommandHandler("queue", queue_command, filters=in_review),
        CommandHandler("note", note_command, filters=in_review),
        CommandHandler("repost", repost_command, filters=in_review),
        CommandHandler("outcome", outcome_command, filters=in_review),
        CommandHandler("stats", stats_command, filters=in_review),
        CommandHandler("search", search_command, filters=in_review),
        MessageHandler(in_review & filters.REPLY & filters.TEXT & ~filters.COMMAND, prompt_reply),
    ]

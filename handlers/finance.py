"""The finance group: approve or refuse proposals, record payouts against claim codes, ledger.

Members of the finance chat only; anonymous admins refused. The services enforce the rules
(never the proposer nor anyone who held or verified the tip, two approvers above the
threshold, one reward per case, budget; the payer approved nothing, and only the clerk who ran
/paid presses "ID checked" and gives the voucher).
"""

from __future__ import annotations

import re

from telegram import (
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    ReplyParameters,
    Update,
)
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.domain.errors import PromptAnswered, ReviewError
from bot.domain.policy import ClaimMode
from bot.domain.prompts import PaidCheck, Payout, PromptKind, load_prompt_payload
from bot.domain.reward import RewardStatus
from bot.domain.staff import Actor
from bot.telegram import callbacks
from bot.telegram.callbacks import FinanceDecision, IdChecked
from bot.telegram.i18n import Html
from bot.telegram.posts import mention
from bot.telegram.runtime import Context
from bot.telegram.sheets import LedgerSheet, ledger_csv, ledger_xlsx
from handlers import stats
from handlers.review import money_params
from handlers.roles import StaffDoor, replied_prompt

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DOOR = StaffDoor(
    lambda context: (context.bot_data.runtime.settings.finance_chat_id,), "reward.error.not_finance"
)


def _t(context: Context, key: str, **params: object) -> str:
    runtime = context.bot_data.runtime
    return runtime.catalogue.text(runtime.settings.staff_language, key, **params)


async def _error_text(context: Context, error: ReviewError) -> str:
    params = dict(error.params)
    money_params(context, params)
    if "status" in params:
        status = str(params["status"])
        params["status"] = Html(_t(context, f"reward.state.{status}")) if status != "?" else "?"
    return _t(context, error.key, **params)


async def button(update: Update, context: Context) -> None:
    """Approve, Refuse (asks for a reason), or "ID checked" on a payout."""
    press = await _DOOR.press(update, context)
    if press is None:
        return
    actor, query, chat_id, pressed = press
    if not isinstance(pressed, FinanceDecision | IdChecked):
        await query.answer(_t(context, "staff.error.forged"), show_alert=True)
        return
    runtime = context.bot_data.runtime
    name = await runtime.sender.staff_name(chat_id, actor.user_id)
    try:
        if isinstance(pressed, IdChecked):
            await _ask_voucher(update, context, actor, pressed.check_message_id, id_checked=True)
        elif pressed.approve:
            outcome = await runtime.rewards.approve(pressed.reward_id, actor)
            key = (
                "reward.done.offered"
                if outcome.approvals >= outcome.needed
                else ("reward.done.first_approval")
            )
            await query.answer(_t(context, key), show_alert=outcome.approvals < outcome.needed)
        else:
            reward = await runtime.rewards.check_proposal(pressed.reward_id, chat_id)
            prompt = await context.bot.send_message(
                chat_id,
                _t(context, "reward.prompt_refuse", name=mention(actor.user_id, name)),
                reply_markup=ForceReply(selective=True),
                reply_parameters=_quote(query),
            )
            report = await runtime.review.by_id(reward.report_id)
            await runtime.review.remember_prompt(
                chat_id, prompt.message_id, PromptKind.REFUSE, report, actor, payload=str(reward.id)
            )
            await query.answer()
    except ReviewError as error:
        await query.answer(await _error_text(context, error), show_alert=True)


def _quote(query: object) -> ReplyParameters | None:
    message = getattr(query, "message", None)
    message_id = getattr(message, "message_id", None)
    if not isinstance(message_id, int):
        return None
    return ReplyParameters(message_id, allow_sending_without_reply=True)


async def _ask_voucher(
    update: Update, context: Context, actor: Actor, check_message_id: int, *, id_checked: bool
) -> None:
    """After /paid (and the ID tick): ask for the payout voucher number as a reply."""
    runtime = context.bot_data.runtime
    assert update.effective_chat is not None
    chat_id = update.effective_chat.id
    check = await runtime.review.find_prompt(chat_id, check_message_id)
    if check is None or check.kind != PromptKind.PAID_CHECK:
        if update.callback_query is not None:
            await update.callback_query.answer(_t(context, "staff.error.forged"), show_alert=True)
        return
    details = runtime.payouts.check_clerk(check, actor)  # only the clerk who ran /paid
    report = await runtime.review.by_id(check.report_id)
    name = await runtime.sender.staff_name(chat_id, actor.user_id)
    prompt = await context.bot.send_message(
        chat_id,
        _t(
            context,
            "reward.prompt_voucher",
            name=mention(actor.user_id, name),
            reference=report.reference,
            amount=runtime.sender.money(details.amount),
        ),
        reply_markup=ForceReply(selective=True),
    )
    try:  # the check closes and the voucher prompt opens in one commit
        await runtime.payouts.continue_payout(
            check, prompt.message_id, actor, id_checked=id_checked
        )
    except PromptAnswered:  # a second press won the race; its voucher prompt is the live one
        if update.callback_query is not None:
            await update.callback_query.answer()
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
        await update.callback_query.edit_message_reply_markup(None)


async def paid_command(update: Update, context: Context) -> None:
    """/paid <claim code>: find the offer, then confirm (ID checked) and record the voucher."""
    staff = await _DOOR.message(update, context)
    if staff is None:
        return
    actor, message, chat_id = staff
    runtime = context.bot_data.runtime
    code = " ".join(context.args or [])
    if not code:
        await message.reply_text(_t(context, "reward.usage.paid"))
        return
    try:
        offer = await runtime.payouts.find_offer(code, actor)
    except ReviewError as error:
        await message.reply_text(await _error_text(context, error))
        return
    reward = offer.reward
    code_and_id = runtime.policy.rewards.claim_mode is ClaimMode.CODE_AND_ID
    text = _t(
        context,
        "reward.found_id" if code_and_id else "reward.found",
        reference=offer.reference,
        amount=runtime.sender.money(reward.amount_minor),
    )
    check = await message.reply_text(text)
    report = await runtime.review.by_id(reward.report_id)
    await runtime.review.remember_prompt(
        chat_id,
        check.message_id,
        PromptKind.PAID_CHECK,
        report,
        actor,
        payload=PaidCheck(reward=reward.id, amount=reward.amount_minor).model_dump_json(),
    )
    if code_and_id:
        await check.edit_reply_markup(
            InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(
                            _t(context, "reward.button.id_checked"),
                            callback_data=callbacks.encode(IdChecked(check.message_id)),
                        )
                    ]
                ]
            )
        )
    else:
        await _ask_voucher(update, context, actor, check.message_id, id_checked=False)


async def prompt_reply(update: Update, context: Context) -> None:
    """Replies to the bot's prompts: a refusal's reason, or a payout's voucher number."""
    message = update.effective_message
    runtime = context.bot_data.runtime
    prompt = await replied_prompt(update, context)
    if (
        message is None
        or prompt is None
        or prompt.kind not in (PromptKind.REFUSE, PromptKind.PAYOUT)
    ):
        return
    actor = await _DOOR.actor(update, context)
    if actor is None:
        return
    text = message.text or ""
    try:
        if prompt.kind == PromptKind.REFUSE:
            await runtime.rewards.refuse(prompt, actor, text)
            reply = _t(context, "reward.refused_done")
        else:
            payout = load_prompt_payload(Payout, prompt.payload)
            reward = await runtime.payouts.pay(
                payout.reward,
                actor,
                text,
                id_checked=payout.id_checked,
                prompt=prompt,
            )
            reply = _t(
                context,
                "reward.paid_done",
                amount=runtime.sender.money(reward.amount_minor),
                voucher=reward.payout_reference or "",
            )
    except ReviewError as error:  # rolled back: the prompt stays open for another reply
        await message.reply_text(await _error_text(context, error))
        return
    await message.reply_text(reply)


def _month_argument(context: Context, now: int) -> tuple[int, int] | None:
    args = context.args or []
    if not args:
        return context.bot_data.runtime.local.month_of(now)
    match = _MONTH.match(args[0])
    if match is None or not 1 <= int(match.group(2)) <= 12:
        return None
    return int(match.group(1)), int(match.group(2))


async def _month_asked(
    update: Update, context: Context, usage_key: str
) -> tuple[Message, tuple[int, int]] | None:
    """The message and the month (YYYY-MM, this month by default) of a finance command;
    None after telling the sender how to use it."""
    staff = await _DOOR.message(update, context)
    if staff is None:
        return None
    month = _month_argument(context, context.bot_data.runtime.rewards.now())
    if month is None:
        await staff.message.reply_text(_t(context, usage_key))
        return None
    return staff.message, month


async def ledger_command(update: Update, context: Context) -> None:
    """/ledger [YYYY-MM]: the month's rewards as an Excel workbook (rows and a summary) and
    as a CSV file, with a one-line summary."""
    asked = await _month_asked(update, context, "reward.usage.ledger")
    if asked is None:
        return
    message, month = asked
    runtime = context.bot_data.runtime
    rows = await runtime.book.ledger(*month)
    budget = await runtime.book.budget(*month)
    paid = [r for r in rows if r.status == RewardStatus.PAID]
    label = f"{month[0]}-{month[1]:02d}"
    summary = _t(
        context,
        "reward.ledger_summary",
        month=label,
        count=len(rows),
        paid=len(paid),
        total=runtime.sender.money(sum(r.amount_minor for r in paid)),
    )
    rewards = runtime.policy.rewards
    language = runtime.settings.staff_language
    sheet = LedgerSheet(
        rows=rows,
        minor_per_major=rewards.minor_per_major,
        tier_names={tier.key: tier.label(language) for tier in rewards.tiers},
        month=label,
        budget_minor=budget.budget_minor,
        committed_minor=budget.committed_minor,
        local=runtime.local,
    )
    await message.reply_document(
        InputFile(ledger_xlsx(sheet, rewards.currency), filename=f"tipline-ledger-{label}.xlsx"),
        caption=summary,
        protect_content=True,
    )
    await message.reply_document(
        InputFile(ledger_csv(sheet), filename=f"tipline-ledger-{label}.csv"),
        protect_content=True,
    )


async def budget_command(update: Update, context: Context) -> None:
    """/budget: this month's budget, what is committed and what is left."""
    asked = await _month_asked(update, context, "reward.usage.budget")
    if asked is None:
        return
    message, month = asked
    runtime = context.bot_data.runtime
    budget = await runtime.book.budget(*month)
    money = runtime.sender.money
    key = "reward.budget_line" if budget.budget_minor else "reward.budget_none"
    await message.reply_text(
        _t(
            context,
            key,
            month=f"{month[0]}-{month[1]:02d}",
            budget=money(budget.budget_minor),
            committed=money(budget.committed_minor),
            remaining=money(budget.remaining_minor),
        )
    )


async def stats_command(update: Update, context: Context) -> None:
    """/stats [month|YYYY-MM]: rewards per month against the budget, as a chart."""
    staff = await _DOOR.message(update, context)
    if staff is None:
        return
    await stats.finance_stats(staff.message, context)


async def repost_command(update: Update, context: Context) -> None:
    """/repost <ref>: post the tip's reward proposal again (after it was set aside)."""
    staff = await _DOOR.message(update, context)
    if staff is None:
        return
    actor, message, chat_id = staff
    reference = " ".join(context.args or []).strip()
    if not reference:
        await message.reply_text(_t(context, "reward.usage.repost"))
        return
    try:
        report = await context.bot_data.runtime.rewards.repost(reference, chat_id, actor)
    except ReviewError as error:
        await message.reply_text(await _error_text(context, error))
        return
    await message.reply_text(_t(context, "reward.reposted", reference=report.reference))


def build(finance_chat: int) -> list[BaseHandler[Update, Context, object]]:
    in_finance = filters.Chat(chat_id=finance_chat)
    return [
        CallbackQueryHandler(button, pattern=callbacks.FINANCE_PATTERN),
        CommandHandler("paid", paid_command, filters=in_finance),
        CommandHandler("ledger", ledger_command, filters=in_finance),
        CommandHandler("budget", budget_command, filters=in_finance),
        CommandHandler("stats", stats_command, filters=in_finance),
        CommandHandler("repost", repost_command, filters=in_finance),
        MessageHandler(in_finance & filters.REPLY & filters.TEXT & ~filters.COMMAND, prompt_reply),
    ]

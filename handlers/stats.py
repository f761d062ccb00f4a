"""/stats in a review chat (that chat's tips) and in the finance chat (the reward scheme):
a chart as a photo with a short caption. Aggregates only; the chart is drawn in a worker
thread, off the event loop."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from telegram import Message

from bot.domain.outcome import format_grams
from bot.domain.stats import (
    FINANCE_SERIES,
    BadPeriod,
    FinanceStats,
    ReviewStats,
    format_duration,
    parse_period,
    shown,
)
from bot.telegram.charts import ChartText, finance_chart, review_chart
from bot.telegram.runtime import Context


def _t(context: Context, key: str, **params: object) -> str:
    runtime = context.bot_data.runtime
    return runtime.catalogue.text(runtime.settings.staff_language, key, **params)


def _argument(context: Context) -> str | None:
    return context.args[0] if context.args else None


def review_chart_text(context: Context, stats: ReviewStats) -> ChartText:
    runtime = context.bot_data.runtime
    language = runtime.settings.staff_language
    labels = {c.key: c.label(language) for c in runtime.policy.intake.categories}
    labels["other"] = _t(context, "stats.other")
    for key in ("per_week", "week_of", "backlog"):
        labels[key] = _t(context, f"stats.{key}")
    for state in stats.backlog:
        labels[state] = _t(context, f"stats.state.{state}")
    return ChartText(_t(context, "stats.title_review", period=stats.period.label), labels)


def review_caption(context: Context, stats: ReviewStats) -> str:
    return _t(
        context,
        "stats.caption_review",
        period=stats.period.label,
        total=shown(stats.total),
        claim=format_duration(stats.median_claim_s),
        decision=format_duration(stats.median_decision_s),
        past=shown(stats.past_reminder),
        outcomes=shown(stats.outcomes),
        arrested=shown(stats.arrested),
        heroin=format_grams(stats.heroin_eq_mg),
    )


def finance_chart_text(context: Context, month: str) -> ChartText:
    runtime = context.bot_data.runtime
    labels = {key: _t(context, f"stats.{key}") for key in (*FINANCE_SERIES, "budget")}
    labels["amount"] = _t(context, "stats.amount", currency=runtime.policy.rewards.currency)
    return ChartText(_t(context, "stats.title_finance", month=month), labels)


def finance_caption(context: Context, stats: FinanceStats) -> str:
    money = context.bot_data.runtime.sender.money
    last = stats.months[-1]
    params: dict[str, object] = {"month": last.month}
    for series in FINANCE_SERIES:
        params[series] = shown(last.counts[series])
        params[f"{series}_amount"] = money(last.amounts[series])
    params["budget"] = (
        money(stats.budget_minor) if stats.budget_minor else _t(context, "stats.no_budget")
    )
    return _t(context, "stats.caption_finance", **params)


async def review_stats(message: Message, context: Context, chat_id: int) -> None:
    """The review chat's /stats [week|month|YYYY-MM]."""
    runtime = context.bot_data.runtime
    try:
        period = parse_period(_argument(context), runtime.review.now())
    except BadPeriod:
        await message.reply_text(_t(context, "stats.usage"))
        return
    stats = await runtime.stats.review(chat_id, period)
    png = await asyncio.to_thread(review_chart, stats, review_chart_text(context, stats))
    await message.reply_photo(png, caption=review_caption(context, stats), protect_content=True)


async def finance_stats(message: Message, context: Context) -> None:
    """The finance chat's /stats [month|YYYY-MM]: six months to that one."""
    runtime = context.bot_data.runtime
    argument = _argument(context)
    try:
        period = parse_period(None if argument == "week" else argument, runtime.review.now())
    except BadPeriod:
        await message.reply_text(_t(context, "stats.usage"))
        return
    moment = datetime.fromtimestamp(period.start, UTC)
    stats = await runtime.stats.finance(moment.year, moment.month)
    text = finance_chart_text(context, stats.months[-1].month)
    minor = runtime.policy.rewards.minor_per_major
    png = await asyncio.to_thread(finance_chart, stats, text, minor)
    await message.reply_photo(png, caption=finance_caption(context, stats), protect_content=True)

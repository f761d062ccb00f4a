"""/stats in a review chat (that chat's tips) and in the finance chat (the reward scheme):
a chart as a photo with a short caption. Aggregates only; the chart is drawn in a worker
thread, off the event loop."""

from __future__ import annotations

import asyncio

from telegram import Message

from bot.domain.stats import BadPeriod, parse_period
from bot.telegram.charts import finance_chart, review_chart
from bot.telegram.runtime import Context


def _t(context: Context, key: str, **params: object) -> str:
    runtime = context.bot_data.runtime
    return runtime.catalogue.text(runtime.settings.staff_language, key, **params)


def _argument(context: Context) -> str | None:
    return context.args[0] if context.args else None


async def review_stats(message: Message, context: Context, chat_id: int) -> None:
    """The review chat's /stats [week|month|YYYY-MM]."""
    runtime = context.bot_data.runtime
    try:
        period = parse_period(_argument(context), runtime.review.now(), runtime.local.zone)
    except BadPeriod:
        await message.reply_text(_t(context, "stats.usage"))
        return
    stats = await runtime.stats.review(chat_id, period)
    renderer = runtime.sender.renderer
    png = await asyncio.to_thread(review_chart, stats, renderer.review_chart_text(stats))
    await message.reply_photo(png, caption=renderer.review_caption(stats), protect_content=True)


async def finance_stats(message: Message, context: Context) -> None:
    """The finance chat's /stats [month|YYYY-MM]: six months to that one."""
    runtime = context.bot_data.runtime
    argument = _argument(context)
    try:
        month = None if argument == "week" else argument
        period = parse_period(month, runtime.review.now(), runtime.local.zone)
    except BadPeriod:
        await message.reply_text(_t(context, "stats.usage"))
        return
    stats = await runtime.stats.finance(*runtime.local.month_of(period.start))
    renderer = runtime.sender.renderer
    minor = runtime.policy.rewards.minor_per_major
    png = await asyncio.to_thread(finance_chart, stats, renderer.finance_chart_text(stats), minor)
    await message.reply_photo(png, caption=renderer.finance_caption(stats), protect_content=True)

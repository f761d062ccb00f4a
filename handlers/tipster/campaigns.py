"""Campaign links: `https://t.me/<bot>?start=<key>` (a poster's QR code) arrives as
`/start <key>`. After the welcome, a campaign of the policy opens a new tip with its category
and area chosen. Anything else after /start (an unknown key, a malformed one, several words)
is ignored: /start goes on as usual, and nothing is refused."""

from __future__ import annotations

from telegram import Update

from bot.domain.errors import IntakeError
from bot.telegram.runtime import Context
from handlers.tipster.common import refuse, say, t, user_id, user_language
from handlers.tipster.screens import show_step


def start_parameter(context: Context) -> str | None:
    """What a start link carries: the one word after /start, if there is exactly one."""
    args = context.args or []
    return args[0] if len(args) == 1 else None


async def campaign_start(update: Update, context: Context) -> None:
    """Begin the tip a campaign link asks for; nothing when the link names no campaign."""
    runtime = context.bot_data.runtime
    campaign = runtime.policy.campaign(start_parameter(context))
    if campaign is None:
        return
    message = update.effective_message
    try:
        view = await runtime.intake.start(
            user_id(update),
            user_language(update),
            message.message_id if message is not None else None,
            campaign=campaign.key,
        )
    except IntakeError as error:
        await refuse(update, context, error)
        return
    if view.resumed:
        await say(update, t(context, update, "report.resumed"))
        await show_step(update, context, view)
        return
    lang = user_language(update)
    lines = [t(context, update, "campaign.started", campaign=campaign.label(lang))]
    category = runtime.policy.intake.category(campaign.category or "")
    if category is not None:
        lines.append(t(context, update, "campaign.category", category=category.label(lang)))
    area = runtime.policy.intake.area(campaign.area or "")
    if area is not None:
        lines.append(t(context, update, "campaign.area", area=area.label(lang)))
    if category is not None or area is not None:
        lines.append(t(context, update, "campaign.change"))
    await say(update, "\n".join(lines))
    await show_step(update, context, view)

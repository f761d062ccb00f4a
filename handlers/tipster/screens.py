"""What each step of the /report dialogue shows: its prompt, keyboard and the summary."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.domain.items import DraftView, ItemKind, Step
from bot.telegram import callbacks
from bot.telegram.callbacks import (
    AddMore,
    AreaChoice,
    CancelTip,
    CategoryChoice,
    ContactChoice,
    ReviewDraft,
    SkipArea,
    SubmitTip,
    WipeChoice,
)
from bot.telegram.i18n import Html
from bot.telegram.runtime import Context
from handlers.tipster.common import button, say, t, user_language


def category_keyboard(context: Context, update: Update) -> InlineKeyboardMarkup:
    policy = context.bot_data.runtime.policy
    lang = user_language(update)
    rows = [
        [InlineKeyboardButton(c.label(lang), callback_data=callbacks.encode(CategoryChoice(c.key)))]
        for c in policy.intake.categories
    ]
    rows.append([button(context, update, "button.cancel", CancelTip())])
    return InlineKeyboardMarkup(rows)


def area_keyboard(context: Context, update: Update) -> InlineKeyboardMarkup:
    policy = context.bot_data.runtime.policy
    lang = user_language(update)
    rows = [
        [InlineKeyboardButton(a.label(lang), callback_data=callbacks.encode(AreaChoice(a.key)))]
        for a in policy.intake.areas
    ]
    rows.append(
        [
            button(context, update, "button.skip_area", SkipArea()),
            button(context, update, "button.cancel", CancelTip()),
        ]
    )
    return InlineKeyboardMarkup(rows)


def describe_keyboard(context: Context, update: Update) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                button(context, update, "button.review", ReviewDraft()),
                button(context, update, "button.cancel", CancelTip()),
            ]
        ]
    )


def confirm_keyboard(context: Context, update: Update, view: DraftView) -> InlineKeyboardMarkup:
    toggle = (
        button(context, update, "button.contact_no", ContactChoice(allowed=False))
        if view.contact_allowed
        else button(context, update, "button.contact_yes", ContactChoice(allowed=True))
    )
    wipe = (
        button(context, update, "button.wipe_off", WipeChoice(delete_after=False))
        if view.delete_after
        else button(context, update, "button.wipe_on", WipeChoice(delete_after=True))
    )
    return InlineKeyboardMarkup(
        [
            [button(context, update, "button.submit", SubmitTip())],
            [toggle],
            [wipe],
            [
                button(context, update, "button.add_more", AddMore()),
                button(context, update, "button.cancel", CancelTip()),
            ],
        ]
    )


def _item_line(context: Context, update: Update, number: int, view: DraftView) -> str:
    item = view.items[number - 1]
    if item.kind is ItemKind.TEXT:
        return t(
            context, update, "summary.item_text", n=number, chars=item.chars, preview=item.preview
        )
    if item.kind is ItemKind.LOCATION:
        return t(context, update, "summary.item_location", n=number)
    kind_label = t(context, update, f"kind.{item.kind.value}")
    note_key = "summary.clean" if item.metadata_removed else "summary.not_clean"
    return t(
        context,
        update,
        "summary.item_file",
        n=number,
        kind=kind_label,
        extension=item.extension,
        note=Html(t(context, update, note_key)),
    )


def _area_text(context: Context, update: Update, area: str | None) -> str:
    if area is None:
        return t(context, update, "summary.area_none")
    kind, _, value = area.partition(":")
    if kind == "key":
        choice = context.bot_data.runtime.policy.intake.area(value)
        return choice.label(user_language(update)) if choice else value
    return value


def summary(context: Context, update: Update, view: DraftView) -> str:
    policy = context.bot_data.runtime.policy
    category = policy.intake.category(view.category or "")
    lines = [
        t(context, update, "summary.title"),
        t(
            context,
            update,
            "summary.category",
            category=category.label(user_language(update)) if category else "?",
        ),
        t(context, update, "summary.area", area=_area_text(context, update, view.area)),
        "",
        *(_item_line(context, update, n, view) for n in range(1, len(view.items) + 1)),
        "",
    ]
    if view.has_unscrubbed_files:
        lines += [t(context, update, "summary.warning_files"), ""]
    lines.append(
        t(
            context,
            update,
            "summary.contact_yes" if view.contact_allowed else "summary.contact_no",
            days=context.bot_data.runtime.policy.contact_days,
        )
    )
    if view.delete_after:
        lines.append(t(context, update, "summary.wipe_yes"))
    return "\n".join(lines)


async def show_step(update: Update, context: Context, view: DraftView) -> Step:
    """Prompt for whatever the draft needs next."""
    if view.step is Step.CATEGORY:
        await say(
            update,
            t(context, update, "report.choose_category"),
            category_keyboard(context, update),
        )
    elif view.step is Step.AREA:
        await say(update, t(context, update, "report.choose_area"), area_keyboard(context, update))
    elif view.step is Step.DESCRIBE:
        await say(
            update,
            t(
                context,
                update,
                "report.describe_more" if view.items else "report.describe",
                max_attachments=context.bot_data.runtime.policy.intake.max_attachments,
            ),
            describe_keyboard(context, update),
        )
    else:
        await say(update, summary(context, update, view), confirm_keyboard(context, update, view))
    return view.step

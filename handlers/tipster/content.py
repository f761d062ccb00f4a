"""Texts, photos, files and locations from the tipster, cleaned and added to the draft."""

from __future__ import annotations

from telegram import Message, Update

from bot.domain.errors import IntakeError
from bot.domain.items import (
    DraftView,
    IncomingAttachment,
    ItemKind,
    PreparedItem,
    check_attachment_size,
    prepare_location,
    prepare_text,
)
from bot.services.intake import prepare_attachment
from bot.telegram.runtime import Context
from handlers.tipster.common import END, StepResult, refuse, say, t, user_id, user_language
from handlers.tipster.screens import describe_keyboard, show_step

_REFUSED = {
    "voice": "refuse.voice",
    "video_note": "refuse.video_note",
    "audio": "refuse.audio",
    "contact": "refuse.contact",
}


_UNSUPPORTED = (
    "sticker",
    "poll",
    "dice",
    "game",
    "animation",
    "story",
    "invoice",
    "paid_media",
    "giveaway",
    "checklist",
)


async def _download(context: Context, file_id: str, size: int | None) -> bytes:
    check_attachment_size(context.bot_data.runtime.policy, size)
    file = await context.bot.get_file(file_id)
    return bytes(await file.download_as_bytearray())


async def prepare(update: Update, context: Context, message: Message) -> list[PreparedItem]:
    """Turn one message into cleaned parts (an attachment, then its caption as text).

    Refusals are explained to the tipster and yield no parts; nothing is stored here.
    """
    policy = context.bot_data.runtime.policy
    for attribute, key in _REFUSED.items():
        if getattr(message, attribute, None):
            await say(update, t(context, update, key))
            return []
    if any(getattr(message, attribute, None) for attribute in _UNSUPPORTED):
        await say(update, t(context, update, "refuse.unsupported"))
        return []
    try:
        items: list[PreparedItem] = []
        incoming: IncomingAttachment | None = None
        if message.text:
            items.append(prepare_text(policy, message.text))
        elif message.location or message.venue:
            location = message.venue.location if message.venue else message.location
            assert location is not None
            if location.live_period:
                await say(update, t(context, update, "refuse.live_location"))
                return []
            items.append(prepare_location(location.latitude, location.longitude))
        elif message.photo:
            largest = message.photo[-1]
            data = await _download(context, largest.file_id, largest.file_size)
            incoming = IncomingAttachment(ItemKind.PHOTO, data)
        elif message.document:
            doc = message.document
            data = await _download(context, doc.file_id, doc.file_size)
            incoming = IncomingAttachment(ItemKind.DOCUMENT, data)
        elif message.video:
            video = message.video
            data = await _download(context, video.file_id, video.file_size)
            incoming = IncomingAttachment(ItemKind.VIDEO, data)
        else:
            await say(update, t(context, update, "refuse.unsupported"))
            return []
        if incoming is not None:
            # Cleaning happens in a worker process that holds no key (bot.media.worker).
            media = context.bot_data.runtime.media
            items.append(await prepare_attachment(policy, media, incoming))
        if message.caption:
            items.append(prepare_text(policy, message.caption))
    except IntakeError as error:
        await refuse(update, context, error)
        return []
    return items


async def add_content(update: Update, context: Context, message: Message) -> DraftView | None:
    """Add one message to the open draft; refusals are explained and change nothing."""
    intake = context.bot_data.runtime.intake
    items = await prepare(update, context, message)
    if not items:
        return None
    try:
        return await intake.add_items(user_id(update), items)
    except IntakeError as error:
        await refuse(update, context, error)
        return None


def acknowledgement(context: Context, update: Update, view: DraftView, key: str) -> str:
    """`key` for the part just added (its kind as `what`), with the warning when its file is
    passed on as it is."""
    last = view.items[-1]
    text = t(context, update, key, what=t(context, update, f"kind.{last.kind.value}"))
    if not last.metadata_removed:
        text += "\n" + t(context, update, "report.warning_not_clean")
    return text


async def content_received(update: Update, context: Context) -> StepResult:
    """A message while describing (or on the summary): add it and acknowledge."""
    message = update.effective_message
    if message is None:
        return None
    view = await add_content(update, context, message)
    if view is None:
        return None
    last = view.items[-1]
    what = t(context, update, f"kind.{last.kind.value}")
    key = "report.added" if last.metadata_removed else "report.added_not_clean"
    await say(
        update,
        t(context, update, key, what=what, count=len(view.items)),
        describe_keyboard(context, update),
    )
    return view.step


async def first_message(update: Update, context: Context) -> StepResult:
    """A message while no draft is open (and no answer window, which goes first): it is not
    lost but kept, cleaned like any part, as the first part of a new draft, and the category
    question follows as after /report. The daily limit is asked before anything is downloaded;
    a refusal is explained and keeps nothing."""
    message = update.effective_message
    if message is None:
        return END
    intake = context.bot_data.runtime.intake
    try:
        await intake.check_daily_limit(user_id(update))
    except IntakeError as error:
        await refuse(update, context, error)
        return END
    items = await prepare(update, context, message)
    if not items:
        return END
    try:
        view = await intake.start_with_part(
            user_id(update), user_language(update), items, message.message_id
        )
    except IntakeError as error:
        await refuse(update, context, error)
        return END
    text = t(context, update, "report.first_kept")
    if view.has_unscrubbed_files:
        text += "\n" + t(context, update, "report.warning_not_clean")
    await say(update, text)
    return await show_step(update, context, view)

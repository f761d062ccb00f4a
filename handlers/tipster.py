"""The tipster's private chat: /start, /help, the /report dialogue, /status, /forget, /cancel.

Each callback reads the update, calls one intake service method and renders the result. The
dialogue's true position lives in the (encrypted) draft, so after a restart the tipster's next
message or button press resumes it: the "resume" entry points route by the stored step.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from telegram import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.error import BadRequest
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.domain.errors import AnswerClosed, IntakeError, NoDraft
from bot.domain.items import (
    DraftView,
    IncomingAttachment,
    ItemKind,
    PreparedItem,
    Step,
    check_attachment_size,
    prepare_location,
    prepare_text,
)
from bot.services.intake import TipsterRewardView, prepare_attachment
from bot.telegram import callbacks
from bot.telegram.callbacks import (
    AddMore,
    AnswerButton,
    AnswerDone,
    AreaChoice,
    Callback,
    CancelTip,
    CategoryChoice,
    ContactChoice,
    ReviewDraft,
    SkipArea,
    StartReport,
    SubmitTip,
    WipeChoice,
    matching,
)
from bot.telegram.i18n import LANGUAGES, Catalogue, Html, language_for
from bot.telegram.runtime import Context

log = logging.getLogger(__name__)

END = ConversationHandler.END
StepResult = Step | int | None

COMMANDS = ("start", "report", "status", "forget", "cancel", "help")


def _lang(update: Update) -> str:
    user = update.effective_user
    return language_for(user.language_code if user else None)


def _t(context: Context, update: Update, key: str, **params: object) -> str:
    return context.bot_data.runtime.catalogue.text(_lang(update), key, **params)


def _button(context: Context, update: Update, key: str, button: Callback) -> InlineKeyboardButton:
    return InlineKeyboardButton(_t(context, update, key), callback_data=callbacks.encode(button))


def _pressed(update: Update) -> Callback | None:
    """The button pressed, or None for data no button of ours carries."""
    query = update.callback_query
    return callbacks.decode(query.data) if query is not None and query.data else None


def _user_id(update: Update) -> int:
    assert update.effective_user is not None
    return update.effective_user.id


async def _say(
    update: Update, text: str, markup: InlineKeyboardMarkup | None = None
) -> Message | None:
    """Answer in the chat the update came from."""
    chat = update.effective_chat
    if chat is None:
        return None
    return await chat.send_message(text, reply_markup=markup)


async def _refuse(update: Update, context: Context, error: IntakeError) -> None:
    """Tell the tipster why nothing changed: an alert on a button, a message otherwise."""
    text = _t(context, update, error.key, **error.params)
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    else:
        await _say(update, text)


async def _clear_buttons(update: Update) -> None:
    """Take the buttons off the message that was pressed, so it cannot be pressed twice."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    try:
        await query.edit_message_reply_markup(None)
    except BadRequest:
        pass  # already without buttons, or too old to edit: nothing to undo


# ----- rendering -------------------------------------------------------------------------


def _category_keyboard(context: Context, update: Update) -> InlineKeyboardMarkup:
    policy = context.bot_data.runtime.policy
    lang = _lang(update)
    rows = [
        [InlineKeyboardButton(c.label(lang), callback_data=callbacks.encode(CategoryChoice(c.key)))]
        for c in policy.intake.categories
    ]
    rows.append([_button(context, update, "button.cancel", CancelTip())])
    return InlineKeyboardMarkup(rows)


def _area_keyboard(context: Context, update: Update) -> InlineKeyboardMarkup:
    policy = context.bot_data.runtime.policy
    lang = _lang(update)
    rows = [
        [InlineKeyboardButton(a.label(lang), callback_data=callbacks.encode(AreaChoice(a.key)))]
        for a in policy.intake.areas
    ]
    rows.append(
        [
            _button(context, update, "button.skip_area", SkipArea()),
            _button(context, update, "button.cancel", CancelTip()),
        ]
    )
    return InlineKeyboardMarkup(rows)


def _describe_keyboard(context: Context, update: Update) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                _button(context, update, "button.review", ReviewDraft()),
                _button(context, update, "button.cancel", CancelTip()),
            ]
        ]
    )


def _confirm_keyboard(context: Context, update: Update, view: DraftView) -> InlineKeyboardMarkup:
    toggle = (
        _button(context, update, "button.contact_no", ContactChoice(allowed=False))
        if view.contact_allowed
        else _button(context, update, "button.contact_yes", ContactChoice(allowed=True))
    )
    wipe = (
        _button(context, update, "button.wipe_off", WipeChoice(delete_after=False))
        if view.delete_after
        else _button(context, update, "button.wipe_on", WipeChoice(delete_after=True))
    )
    return InlineKeyboardMarkup(
        [
            [_button(context, update, "button.submit", SubmitTip())],
            [toggle],
            [wipe],
            [
                _button(context, update, "button.add_more", AddMore()),
                _button(context, update, "button.cancel", CancelTip()),
            ],
        ]
    )


def _item_line(context: Context, update: Update, number: int, view: DraftView) -> str:
    item = view.items[number - 1]
    if item.kind is ItemKind.TEXT:
        return _t(
            context, update, "summary.item_text", n=number, chars=item.chars, preview=item.preview
        )
    if item.kind is ItemKind.LOCATION:
        return _t(context, update, "summary.item_location", n=number)
    kind_label = _t(context, update, f"kind.{item.kind.value}")
    note_key = "summary.clean" if item.metadata_removed else "summary.not_clean"
    return _t(
        context,
        update,
        "summary.item_file",
        n=number,
        kind=kind_label,
        extension=item.extension,
        note=Html(_t(context, update, note_key)),
    )


def _area_text(context: Context, update: Update, area: str | None) -> str:
    if area is None:
        return _t(context, update, "summary.area_none")
    kind, _, value = area.partition(":")
    if kind == "key":
        choice = context.bot_data.runtime.policy.intake.area(value)
        return choice.label(_lang(update)) if choice else value
    return value


def _summary(context: Context, update: Update, view: DraftView) -> str:
    policy = context.bot_data.runtime.policy
    category = policy.intake.category(view.category or "")
    lines = [
        _t(context, update, "summary.title"),
        _t(
            context,
            update,
            "summary.category",
            category=category.label(_lang(update)) if category else "?",
        ),
        _t(context, update, "summary.area", area=_area_text(context, update, view.area)),
        "",
        *(_item_line(context, update, n, view) for n in range(1, len(view.items) + 1)),
        "",
    ]
    if view.has_unscrubbed_files:
        lines += [_t(context, update, "summary.warning_files"), ""]
    lines.append(
        _t(context, update, "summary.contact_yes" if view.contact_allowed else "summary.contact_no")
    )
    if view.delete_after:
        lines.append(_t(context, update, "summary.wipe_yes"))
    return "\n".join(lines)


async def _show_step(update: Update, context: Context, view: DraftView) -> Step:
    """Prompt for whatever the draft needs next."""
    if view.step is Step.CATEGORY:
        await _say(
            update,
            _t(context, update, "report.choose_category"),
            _category_keyboard(context, update),
        )
    elif view.step is Step.AREA:
        await _say(
            update, _t(context, update, "report.choose_area"), _area_keyboard(context, update)
        )
    elif view.step is Step.DESCRIBE:
        await _say(
            update,
            _t(
                context,
                update,
                "report.describe",
                max_attachments=context.bot_data.runtime.policy.intake.max_attachments,
            ),
            _describe_keyboard(context, update),
        )
    else:
        await _say(
            update, _summary(context, update, view), _confirm_keyboard(context, update, view)
        )
    return view.step


# ----- commands outside the dialogue -------------------------------------------------------


async def start(update: Update, context: Context) -> None:
    """Explain the line and its promises, with a button to report."""
    keyboard = InlineKeyboardMarkup([[_button(context, update, "button.report", StartReport())]])
    await _say(update, _t(context, update, "start.welcome"), keyboard)


async def help_command(update: Update, context: Context) -> None:
    """Repeat the essentials and the commands."""
    await _say(update, _t(context, update, "help.text"))


def _receipt_argument(context: Context) -> str:
    return " ".join(context.args or [])


async def status(update: Update, context: Context) -> None:
    """Show a tip's state from its receipt; works from any account."""
    receipt = _receipt_argument(context)
    if not receipt:
        await _say(update, _t(context, update, "status.usage"))
        return
    try:
        view = await context.bot_data.runtime.intake.status(_user_id(update), receipt)
    except IntakeError as error:
        await _refuse(update, context, error)
        return
    submitted = datetime.fromtimestamp(view.submitted_at, UTC).strftime("%Y-%m-%d")
    contact_key = "status.contact_on" if view.contact_stored else "status.contact_off"
    text = _t(
        context,
        update,
        "status.result",
        reference=view.reference,
        date=submitted,
        state=Html(_t(context, update, f"state.{view.status.value}")),
        contact=Html(_t(context, update, contact_key)),
    )
    if view.reward is not None:
        text += "\n\n" + _reward_text(update, context, view.reward)
    await _say(update, text)


def _reward_text(update: Update, context: Context, reward: TipsterRewardView) -> str:
    """The reward part of /status: the claim code is shown only to the receipt holder."""
    runtime = context.bot_data.runtime
    amount = runtime.sender.money(reward.amount_minor)
    if reward.status != "offered":
        return _t(context, update, f"reward_status.{reward.status}", amount=amount)
    instructions = runtime.policy.rewards.claim_instructions
    lang = _lang(update)
    expires = (
        datetime.fromtimestamp(reward.expires_at, UTC).strftime("%Y-%m-%d")
        if reward.expires_at
        else "?"
    )
    return _t(
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
        await _say(update, _t(context, update, "forget.usage"))
        return
    try:
        removed = await context.bot_data.runtime.intake.forget(_user_id(update), receipt)
    except IntakeError as error:
        await _refuse(update, context, error)
        return
    await _say(update, _t(context, update, "forget.done" if removed else "forget.nothing"))


async def unknown_command(update: Update, context: Context) -> None:
    """Any other command in a private chat."""
    await _say(update, _t(context, update, "error.unknown_command"))


async def edited_message(update: Update, context: Context) -> None:
    """Edits are not applied to a tip; say so, so the tipster sends the correction."""
    await _say(update, _t(context, update, "error.edit_ignored"))


# ----- the dialogue -------------------------------------------------------------------------


async def report(update: Update, context: Context) -> StepResult:
    """Begin a tip, or pick up the one in progress."""
    try:
        view = await context.bot_data.runtime.intake.start(
            _user_id(update), _lang(update), _message_id(update)
        )
    except IntakeError as error:
        await _refuse(update, context, error)
        return END
    if update.callback_query is not None:
        await update.callback_query.answer()
    if view.resumed:
        await _say(update, _t(context, update, "report.resumed"))
    else:
        await _say(update, _t(context, update, "report.intro"))
    return await _show_step(update, context, view)


async def category_chosen(update: Update, context: Context) -> StepResult:
    """A category button."""
    query = update.callback_query
    pressed = _pressed(update)
    if query is None or not isinstance(pressed, CategoryChoice):
        return await stale_button(update, context)
    try:
        view = await context.bot_data.runtime.intake.choose_category(_user_id(update), pressed.key)
    except IntakeError as error:
        await _refuse(update, context, error)
        return None
    await query.answer()
    await _clear_buttons(update)
    return await _show_step(update, context, view)


async def category_hint(update: Update, context: Context) -> StepResult:
    """Anything but a button while a category is wanted."""
    await _say(
        update, _t(context, update, "report.use_buttons"), _category_keyboard(context, update)
    )
    return Step.CATEGORY


async def area_chosen(update: Update, context: Context) -> StepResult:
    """An area button, or skip."""
    query = update.callback_query
    pressed = _pressed(update)
    if query is None or not isinstance(pressed, AreaChoice | SkipArea):
        return await stale_button(update, context)
    area_key = pressed.key if isinstance(pressed, AreaChoice) else None
    try:
        view = await context.bot_data.runtime.intake.choose_area(
            _user_id(update), area_key=area_key, typed=None
        )
    except IntakeError as error:
        await _refuse(update, context, error)
        return None
    await query.answer()
    await _clear_buttons(update)
    return await _show_step(update, context, view)


async def area_typed(update: Update, context: Context) -> StepResult:
    """An area typed as text; anything else gets a hint."""
    message = update.effective_message
    if message is None or not message.text:
        await _say(update, _t(context, update, "report.area_hint"), _area_keyboard(context, update))
        return Step.AREA
    try:
        view = await context.bot_data.runtime.intake.choose_area(
            _user_id(update), area_key=None, typed=message.text
        )
    except IntakeError as error:
        await _refuse(update, context, error)
        return Step.AREA
    return await _show_step(update, context, view)


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


async def _prepare(update: Update, context: Context, message: Message) -> list[PreparedItem]:
    """Turn one message into cleaned parts (an attachment, then its caption as text).

    Refusals are explained to the tipster and yield no parts; nothing is stored here.
    """
    policy = context.bot_data.runtime.policy
    for attribute, key in _REFUSED.items():
        if getattr(message, attribute, None):
            await _say(update, _t(context, update, key))
            return []
    if any(getattr(message, attribute, None) for attribute in _UNSUPPORTED):
        await _say(update, _t(context, update, "refuse.unsupported"))
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
                await _say(update, _t(context, update, "refuse.live_location"))
                return []
            items.append(prepare_location(location.latitude, location.longitude))
        elif message.photo:
            largest = message.photo[-1]
            data = await _download(context, largest.file_id, largest.file_size)
            incoming = IncomingAttachment(ItemKind.PHOTO, data, "image/jpeg")
        elif message.document:
            doc = message.document
            data = await _download(context, doc.file_id, doc.file_size)
            incoming = IncomingAttachment(ItemKind.DOCUMENT, data, doc.mime_type, doc.file_name)
        elif message.video:
            video = message.video
            data = await _download(context, video.file_id, video.file_size)
            incoming = IncomingAttachment(ItemKind.VIDEO, data, video.mime_type, video.file_name)
        else:
            await _say(update, _t(context, update, "refuse.unsupported"))
            return []
        if incoming is not None:
            # Decoding and re-encoding an image is CPU work: keep it off the event loop.
            items.append(await asyncio.to_thread(prepare_attachment, policy, incoming))
        if message.caption:
            items.append(prepare_text(policy, message.caption))
    except IntakeError as error:
        await _refuse(update, context, error)
        return []
    return items


async def _add_content(update: Update, context: Context, message: Message) -> DraftView | None:
    """Add one message to the draft; refusals are explained and change nothing."""
    intake = context.bot_data.runtime.intake
    view: DraftView | None = None
    try:
        for item in await _prepare(update, context, message):
            view = await intake.add(_user_id(update), item)
    except IntakeError as error:
        await _refuse(update, context, error)
        return None
    return view


async def content_received(update: Update, context: Context) -> StepResult:
    """A message while describing (or on the summary): add it and acknowledge."""
    message = update.effective_message
    if message is None:
        return None
    view = await _add_content(update, context, message)
    if view is None:
        return None
    last = view.items[-1]
    what = _t(context, update, f"kind.{last.kind.value}")
    key = "report.added" if last.metadata_removed else "report.added_not_clean"
    await _say(
        update,
        _t(context, update, key, what=what, count=len(view.items)),
        _describe_keyboard(context, update),
    )
    return view.step


async def review_pressed(update: Update, context: Context) -> StepResult:
    """ "Review and send": show the summary with Submit, contact choice, Add more, Cancel."""
    try:
        view = await context.bot_data.runtime.intake.review(_user_id(update))
    except IntakeError as error:
        await _refuse(update, context, error)
        return None
    if update.callback_query is not None:
        await update.callback_query.answer()
    return await _show_step(update, context, view)


async def add_more(update: Update, context: Context) -> StepResult:
    """Back from the summary to adding content."""
    query = update.callback_query
    assert query is not None
    try:
        view = await context.bot_data.runtime.intake.add_more(_user_id(update))
    except IntakeError as error:
        await _refuse(update, context, error)
        return None
    await query.answer()
    await _clear_buttons(update)
    return await _show_step(update, context, view)


def _message_id(update: Update) -> int | None:
    """The id of the message this update is about (the pressed one, for a button)."""
    message = update.effective_message
    return message.message_id if message is not None else None


async def _toggle(
    update: Update,
    context: Context,
    setter: Callable[[int, bool], Awaitable[DraftView]],
    value: bool,
) -> StepResult:
    """A yes/no choice on the summary; the summary is redrawn in place."""
    query = update.callback_query
    assert query is not None
    try:
        view = await setter(_user_id(update), value)
    except IntakeError as error:
        await _refuse(update, context, error)
        return None
    await query.answer()
    await query.edit_message_text(
        _summary(context, update, view), reply_markup=_confirm_keyboard(context, update, view)
    )
    return view.step


async def wipe_toggled(update: Update, context: Context) -> StepResult:
    """Ask for (or cancel) deleting this dialogue from the chat once the tip is stored."""
    pressed = _pressed(update)
    if not isinstance(pressed, WipeChoice):
        return await stale_button(update, context)
    setter = context.bot_data.runtime.intake.set_delete_after
    return await _toggle(update, context, setter, pressed.delete_after)


async def contact_toggled(update: Update, context: Context) -> StepResult:
    """Allow or refuse contact about this tip."""
    pressed = _pressed(update)
    if not isinstance(pressed, ContactChoice):
        return await stale_button(update, context)
    setter = context.bot_data.runtime.intake.set_contact
    return await _toggle(update, context, setter, pressed.allowed)


async def submit(update: Update, context: Context) -> StepResult:
    """Store the tip; the outbox shows the receipt once and posts the tip to reviewers."""
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    try:
        await context.bot_data.runtime.intake.submit(
            _user_id(update), update.effective_chat.id, _message_id(update)
        )
    except NoDraft:
        await query.answer(_t(context, update, "error.already_sent"), show_alert=True)
        return END
    except IntakeError as error:
        await _refuse(update, context, error)
        return None
    # The receipt follows from the outbox: it survives a crash right after this commit.
    await query.answer()
    await _clear_buttons(update)
    return END


async def cancel(update: Update, context: Context) -> StepResult:
    """Discard the draft and everything in it."""
    if update.callback_query is not None:
        await update.callback_query.answer()
        await _clear_buttons(update)
    removed = await context.bot_data.runtime.intake.cancel(_user_id(update))
    await _say(update, _t(context, update, "report.cancelled" if removed else "report.nothing"))
    return END


async def stale_button(update: Update, context: Context) -> StepResult:
    """A button from an earlier step or an old message."""
    query = update.callback_query
    assert query is not None
    await query.answer(_t(context, update, "error.stale_button"), show_alert=True)
    return None


_BUTTON_ACTIONS: dict[type[Callback], Callable[[Update, Context], Awaitable[StepResult]]] = {
    CategoryChoice: category_chosen,
    AreaChoice: area_chosen,
    SkipArea: area_chosen,
    ReviewDraft: review_pressed,
    AddMore: add_more,
    ContactChoice: contact_toggled,
    WipeChoice: wipe_toggled,
    SubmitTip: submit,
    CancelTip: cancel,
    StartReport: report,
}


async def resume_button(update: Update, context: Context) -> StepResult:
    """A dialogue button while no dialogue is open (e.g. after a restart): route it."""
    pressed = _pressed(update)
    callback = _BUTTON_ACTIONS.get(type(pressed)) if pressed is not None else None
    if callback is None:
        return await stale_button(update, context)
    if callback not in (report, cancel):
        view = await context.bot_data.runtime.intake.current(_user_id(update))
        if view is None:
            return await stale_button(update, context)
    result = await callback(update, context)
    if result is None:
        view = await context.bot_data.runtime.intake.current(_user_id(update))
        return view.step if view else END
    return result


async def resume_message(update: Update, context: Context) -> StepResult:
    """A message while no dialogue is open: continue the stored draft, or explain /report."""
    view = await context.bot_data.runtime.intake.current(_user_id(update))
    if view is None:
        keyboard = InlineKeyboardMarkup(
            [[_button(context, update, "button.report", StartReport())]]
        )
        await _say(update, _t(context, update, "report.not_started"), keyboard)
        return END
    if view.step is Step.CATEGORY:
        return await category_hint(update, context)
    if view.step is Step.AREA:
        return await area_typed(update, context)
    result = await content_received(update, context)
    return result if result is not None else view.step


async def answer_button(update: Update, context: Context) -> None:
    """Reply (or Done) under a reviewers' question: open or close the answer window."""
    query = update.callback_query
    assert query is not None
    review = context.bot_data.runtime.review
    pressed = _pressed(update)
    if isinstance(pressed, AnswerDone):
        ended = await review.end_answer(_user_id(update))
        await query.answer()
        await _clear_buttons(update)
        await _say(update, _t(context, update, "answer.ended" if ended else "answer.not_open"))
        return
    if not isinstance(pressed, AnswerButton):
        await query.answer(_t(context, update, "answer.closed"), show_alert=True)
        return
    try:
        started = await review.start_answer(_user_id(update), pressed.token)
    except AnswerClosed:
        await query.answer(_t(context, update, "answer.closed"), show_alert=True)
        return
    await query.answer()
    await _say(
        update,
        _t(
            context,
            update,
            "answer.started",
            reference=started.reference,
            minutes=context.bot_data.runtime.policy.review.answer_window_minutes,
        ),
        InlineKeyboardMarkup([[_button(context, update, "button.answer_done", AnswerDone())]]),
    )


async def answer_message(update: Update, context: Context) -> None:
    """While an answer window is open, the tipster's messages go to the reviewers."""
    review = context.bot_data.runtime.review
    message = update.effective_message
    if message is None or not await review.answering(_user_id(update)):
        return
    try:
        items = await _prepare(update, context, message)
        for item in items:
            await review.add_answer(_user_id(update), item)
    except AnswerClosed:
        await _say(update, _t(context, update, "answer.closed"))
        raise ApplicationHandlerStop from None
    except IntakeError as error:
        await _refuse(update, context, error)
        raise ApplicationHandlerStop from None
    if items:
        await _say(
            update,
            _t(context, update, "answer.relayed"),
            InlineKeyboardMarkup([[_button(context, update, "button.answer_done", AnswerDone())]]),
        )
    raise ApplicationHandlerStop


async def answer_done_command(update: Update, context: Context) -> None:
    """/done while answering closes the answer window (otherwise the tip dialogue has it)."""
    if await context.bot_data.runtime.review.end_answer(_user_id(update)):
        await _say(update, _t(context, update, "answer.ended"))
        raise ApplicationHandlerStop


async def empty_button(update: Update, context: Context) -> None:
    """A button press without data (python-telegram-bot would match it to every pattern)."""
    query = update.callback_query
    if query is None or query.data:
        return
    await query.answer(_t(context, update, "error.stale_button"), show_alert=True)
    raise ApplicationHandlerStop


def guard_handlers() -> list[BaseHandler[Update, Context, object]]:
    """Checked before anything else (group -2)."""
    return [CallbackQueryHandler(empty_button)]


def answer_handlers() -> list[BaseHandler[Update, Context, object]]:
    """Checked before the dialogue (group -1): answers to reviewers' questions."""
    private = filters.ChatType.PRIVATE
    return [
        CallbackQueryHandler(answer_button, pattern=callbacks.ANSWER_PATTERN),
        CommandHandler("done", answer_done_command, filters=private),
        MessageHandler(private & ~filters.COMMAND & filters.UpdateType.MESSAGE, answer_message),
    ]


def build(conversation_timeout_minutes: int) -> list[BaseHandler[Update, Context, object]]:
    """The private-chat handlers in priority order (all in group 0)."""
    private = filters.ChatType.PRIVATE
    content = private & ~filters.COMMAND & filters.UpdateType.MESSAGE
    with warnings.catch_warnings():
        # One conversation per tipster (chat and user), buttons included: that is intended.
        warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message.*")
        conversation: ConversationHandler[Context] = ConversationHandler(
            entry_points=[
                CommandHandler("report", report, filters=private),
                CallbackQueryHandler(report, pattern=matching(StartReport)),
                CallbackQueryHandler(resume_button, pattern=callbacks.TIPSTER_PATTERN),
                MessageHandler(content, resume_message),
            ],
            states={
                Step.CATEGORY: [
                    CallbackQueryHandler(category_chosen, pattern=matching(CategoryChoice)),
                    MessageHandler(content, category_hint),
                ],
                Step.AREA: [
                    CallbackQueryHandler(area_chosen, pattern=matching(AreaChoice, SkipArea)),
                    MessageHandler(content, area_typed),
                ],
                Step.DESCRIBE: [
                    CallbackQueryHandler(review_pressed, pattern=matching(ReviewDraft)),
                    CommandHandler("done", review_pressed, filters=private),
                    MessageHandler(content, content_received),
                ],
                Step.CONFIRM: [
                    CallbackQueryHandler(submit, pattern=matching(SubmitTip)),
                    CallbackQueryHandler(contact_toggled, pattern=matching(ContactChoice)),
                    CallbackQueryHandler(wipe_toggled, pattern=matching(WipeChoice)),
                    CallbackQueryHandler(add_more, pattern=matching(AddMore)),
                    CallbackQueryHandler(review_pressed, pattern=matching(ReviewDraft)),
                    MessageHandler(content, content_received),
                ],
            },
            fallbacks=[
                CommandHandler("cancel", cancel, filters=private),
                CallbackQueryHandler(cancel, pattern=matching(CancelTip)),
                CommandHandler("report", report, filters=private),
                CallbackQueryHandler(report, pattern=matching(StartReport)),
                CallbackQueryHandler(stale_button, pattern=callbacks.TIPSTER_PATTERN),
            ],
            conversation_timeout=conversation_timeout_minutes * 60,
            name="tip",
            per_chat=True,
            per_user=True,
            allow_reentry=False,
        )
    return [
        conversation,
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

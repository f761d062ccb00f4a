"""The /report dialogue: its states, its buttons, and resuming it after a restart."""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.domain.errors import IntakeError, NoDraft
from bot.domain.items import DraftView, Step
from bot.telegram import callbacks
from bot.telegram.callbacks import (
    AddMore,
    AreaChoice,
    Callback,
    CancelTip,
    CategoryChoice,
    ContactChoice,
    ReviewDraft,
    ShowPromises,
    SkipArea,
    StartReport,
    SubmitTip,
    WipeChoice,
    matching,
)
from bot.telegram.runtime import Context
from handlers.tipster.common import (
    END,
    StepResult,
    clear_buttons,
    pressed_button,
    refuse,
    say,
    stale_button,
    t,
    user_id,
    user_language,
)
from handlers.tipster.content import (
    acknowledgement,
    add_content,
    content_received,
    first_message,
)
from handlers.tipster.screens import (
    area_keyboard,
    category_keyboard,
    confirm_keyboard,
    show_step,
    summary,
)
from handlers.tipster.welcome import show_promises


async def report(update: Update, context: Context) -> StepResult:
    """Begin a tip, or pick up the one in progress."""
    try:
        view = await context.bot_data.runtime.intake.start(
            user_id(update), user_language(update), _message_id(update)
        )
    except IntakeError as error:
        await refuse(update, context, error)
        return END
    if update.callback_query is not None:
        await update.callback_query.answer()
    if view.resumed:
        await say(update, t(context, update, "report.resumed"))
    else:
        await say(update, t(context, update, "report.intro"))
    return await show_step(update, context, view)


async def category_chosen(update: Update, context: Context) -> StepResult:
    """A category button."""
    query = update.callback_query
    pressed = pressed_button(update)
    if query is None or not isinstance(pressed, CategoryChoice):
        return await stale_button(update, context)
    try:
        view = await context.bot_data.runtime.intake.choose_category(user_id(update), pressed.key)
    except IntakeError as error:
        await refuse(update, context, error)
        return None
    await query.answer()
    await clear_buttons(update)
    return await show_step(update, context, view)


async def category_hint(update: Update, context: Context) -> StepResult:
    """A message while a category is wanted: the tipster is writing their tip, so it is kept
    as a part (a tip sent in several messages before the first answer loses none), and the
    category is asked again."""
    message = update.effective_message
    if message is None:
        keyboard = category_keyboard(context, update)
        await say(update, t(context, update, "report.use_buttons"), keyboard)
        return Step.CATEGORY
    view = await add_content(update, context, message)
    if view is not None:
        await say(
            update,
            acknowledgement(context, update, view, "report.added_choose_category"),
            category_keyboard(context, update),
        )
    return Step.CATEGORY


async def area_chosen(update: Update, context: Context) -> StepResult:
    """An area button, or skip."""
    query = update.callback_query
    pressed = pressed_button(update)
    if query is None or not isinstance(pressed, AreaChoice | SkipArea):
        return await stale_button(update, context)
    area_key = pressed.key if isinstance(pressed, AreaChoice) else None
    try:
        view = await context.bot_data.runtime.intake.choose_area(
            user_id(update), area_key=area_key, typed=None
        )
    except IntakeError as error:
        await refuse(update, context, error)
        return None
    await query.answer()
    await clear_buttons(update)
    return await show_step(update, context, view)


async def area_typed(update: Update, context: Context) -> StepResult:
    """An area typed as text. A photo, file, video or location is kept as a part of the tip,
    and the area asked again."""
    message = update.effective_message
    if message is None:
        await say(update, t(context, update, "report.area_hint"), area_keyboard(context, update))
        return Step.AREA
    if not message.text:
        view = await add_content(update, context, message)
        if view is not None:
            await say(
                update,
                acknowledgement(context, update, view, "report.added_choose_area"),
                area_keyboard(context, update),
            )
        return Step.AREA
    try:
        view = await context.bot_data.runtime.intake.choose_area(
            user_id(update), area_key=None, typed=message.text
        )
    except IntakeError as error:
        await refuse(update, context, error)
        return Step.AREA
    return await show_step(update, context, view)


async def review_pressed(update: Update, context: Context) -> StepResult:
    """ "Review and send": show the summary with Submit, contact choice, Add more, Cancel."""
    try:
        view = await context.bot_data.runtime.intake.review(user_id(update))
    except IntakeError as error:
        await refuse(update, context, error)
        return None
    if update.callback_query is not None:
        await update.callback_query.answer()
    return await show_step(update, context, view)


async def add_more(update: Update, context: Context) -> StepResult:
    """Back from the summary to adding content."""
    query = update.callback_query
    assert query is not None
    try:
        view = await context.bot_data.runtime.intake.add_more(user_id(update))
    except IntakeError as error:
        await refuse(update, context, error)
        return None
    await query.answer()
    await clear_buttons(update)
    return await show_step(update, context, view)


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
        view = await setter(user_id(update), value)
    except IntakeError as error:
        await refuse(update, context, error)
        return None
    await query.answer()
    await query.edit_message_text(
        summary(context, update, view), reply_markup=confirm_keyboard(context, update, view)
    )
    return view.step


async def wipe_toggled(update: Update, context: Context) -> StepResult:
    """Ask for (or cancel) deleting this dialogue from the chat once the tip is stored."""
    pressed = pressed_button(update)
    if not isinstance(pressed, WipeChoice):
        return await stale_button(update, context)
    setter = context.bot_data.runtime.intake.set_delete_after
    return await _toggle(update, context, setter, pressed.delete_after)


async def contact_toggled(update: Update, context: Context) -> StepResult:
    """Allow or refuse contact about this tip."""
    pressed = pressed_button(update)
    if not isinstance(pressed, ContactChoice):
        return await stale_button(update, context)
    setter = context.bot_data.runtime.intake.set_contact
    return await _toggle(update, context, setter, pressed.allowed)


async def submit(update: Update, context: Context) -> StepResult:
    """Store the tip; the outbox shows the receipt once and posts the tip to reviewers."""
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    try:
        await context.bot_data.runtime.receipts.submit(
            user_id(update), update.effective_chat.id, _message_id(update)
        )
    except NoDraft:
        await query.answer(t(context, update, "error.already_sent"), show_alert=True)
        return END
    except IntakeError as error:
        await refuse(update, context, error)
        return None
    # The receipt follows from the outbox: it survives a crash right after this commit.
    await query.answer()
    await clear_buttons(update)
    return END


async def cancel(update: Update, context: Context) -> StepResult:
    """Discard the draft and everything in it."""
    if update.callback_query is not None:
        await update.callback_query.answer()
        await clear_buttons(update)
    removed = await context.bot_data.runtime.intake.cancel(user_id(update))
    await say(update, t(context, update, "report.cancelled" if removed else "report.nothing"))
    return END


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
    ShowPromises: show_promises,
}


async def resume_button(update: Update, context: Context) -> StepResult:
    """A dialogue button while no dialogue is open (e.g. after a restart): route it."""
    pressed = pressed_button(update)
    callback = _BUTTON_ACTIONS.get(type(pressed)) if pressed is not None else None
    if callback is None:
        return await stale_button(update, context)
    if callback not in (report, cancel, show_promises):
        view = await context.bot_data.runtime.intake.current(user_id(update))
        if view is None:
            return await stale_button(update, context)
    result = await callback(update, context)
    if result is None:
        view = await context.bot_data.runtime.intake.current(user_id(update))
        return view.step if view else END
    return result


async def resume_message(update: Update, context: Context) -> StepResult:
    """A message while no dialogue is open: continue the stored draft, or start one with it."""
    view = await context.bot_data.runtime.intake.current(user_id(update))
    if view is None:
        return await first_message(update, context)
    if view.step is Step.CATEGORY:
        return await category_hint(update, context)
    if view.step is Step.AREA:
        return await area_typed(update, context)
    result = await content_received(update, context)
    return result if result is not None else view.step


def conversation(conversation_timeout_minutes: int) -> ConversationHandler[Context]:
    """The /report dialogue: one conversation per tipster, resumed from the stored draft."""
    private = filters.ChatType.PRIVATE
    content = private & ~filters.COMMAND & filters.UpdateType.MESSAGE
    with warnings.catch_warnings():
        # One conversation per tipster (chat and user), buttons included: that is intended.
        warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message.*")
        dialogue: ConversationHandler[Context] = ConversationHandler(
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
                CallbackQueryHandler(show_promises, pattern=matching(ShowPromises)),
                CallbackQueryHandler(stale_button, pattern=callbacks.TIPSTER_PATTERN),
            ],
            conversation_timeout=conversation_timeout_minutes * 60,
            name="tip",
            per_chat=True,
            per_user=True,
            allow_reentry=False,
        )
    return dialogue

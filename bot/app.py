"""Builds the python-telegram-bot Application and runs it: start-up checks, polling, shutdown.

`serve()` is the one way the bot runs, in production (`tipline run`) and in the end-to-end
tests alike: initialize (getMe), check the staff chats, open and migrate the database, build the
services, register commands, start the sender and long polling, then wait for the stop signal.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from telegram import Update
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import Forbidden, InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    Defaults,
    ExtBot,
)

from bot.config import Settings, load_key_ring
from bot.crypto.keys import open_vault
from bot.crypto.vault import Vault
from bot.domain import policy as policy_module
from bot.domain.policy import Policy, PolicyError
from bot.logs import quiet_libraries
from bot.media.worker import MediaWorkers
from bot.services.answers import AnswerService
from bot.services.audit import AuditLog
from bot.services.base import ServiceEnv
from bot.services.checkpoints import Checkpoints
from bot.services.intake import IntakeService
from bot.services.jobs import Jobs
from bot.services.outcomes import OutcomeService
from bot.services.payouts import PayoutService
from bot.services.receipts import ReceiptService
from bot.services.retention import RetentionService
from bot.services.review import ReviewService
from bot.services.reward_book import RewardBook
from bot.services.rewards import RewardService
from bot.services.stats import StatsService
from bot.telegram.i18n import Catalogue, language_for
from bot.telegram.posts import PostRenderer
from bot.telegram.ratelimit import MessageRateLimiter
from bot.telegram.runtime import BotData, Context, Runtime
from bot.telegram.sender import Sender
from bot.telegram.transport import AiohttpRequest
from bot.telegram.updates import UpdatePipeline
from handlers import finance, review, tipster
from storage.blobs import BlobStore
from storage.db import Database
from storage.inbox import AlreadyApplied
from storage.lock import DataDirInUse, DataDirLock

log = logging.getLogger(__name__)

TipApplication = Application[ExtBot[Any], Context, dict[Any, Any], dict[Any, Any], BotData, Any]

DRAFT_SWEEP_SECONDS = 3600
# Bot API connections: one for every handler and send slot that may wait at once (128 + 32).
HTTP_CONNECTIONS = 160


class StartupError(Exception):
    """The bot cannot start; the message says why in one line, without secrets or ids."""


def build_application(settings: Settings, policy: Policy) -> TipApplication:
    """The Application talking to the configured Bot API server, with tipline's handlers."""
    context_types = ContextTypes(bot_data=BotData)
    application: TipApplication = (
        ApplicationBuilder()
        .token(settings.bot_token.get_secret_value())
        .base_url(settings.bot_base_url)
        .base_file_url(settings.file_base_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .context_types(context_types)
        .rate_limiter(
            MessageRateLimiter(
                overall_max_rate=policy.flood.messages_per_second,
                group_max_rate=policy.flood.group_messages_per_minute,
                max_retries=3,
            )
        )
        .updater(None)
        .request(AiohttpRequest(connections=HTTP_CONNECTIONS))
        # getUpdates waits up to the poll timeout on top of this read timeout.
        .get_updates_request(AiohttpRequest(connections=1, read_timeout=10.0))
        .build()
    )
    for handler in tipster.guard_handlers():
        application.add_handler(handler, group=-2)
    for handler in tipster.answer_handlers():
        application.add_handler(handler, group=-1)
    for handler in tipster.build(policy.intake.conversation_timeout_minutes):
        application.add_handler(handler)
    for handler in review.build(frozenset(policy.review.chats(settings.review_chat_id))):
        application.add_handler(handler)
    for handler in finance.build(settings.finance_chat_id):
        application.add_handler(handler)
    # Any other button (forged, or from a version that no longer exists) gets an answer too.
    application.add_handler(CallbackQueryHandler(tipster.stale_button))
    application.add_error_handler(_on_error)
    return application


async def _on_error(update: object, context: Context) -> None:
    """Log the exception type and update id only: never text, names or ids of people."""
    update_id = update.update_id if isinstance(update, Update) else None
    error = context.error
    if isinstance(error, AlreadyApplied):
        log.info("update %s was already applied; nothing changed", update_id)
        return
    log.error(
        "handling update %s failed: %s", update_id, type(error).__name__ if error else "unknown"
    )
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            runtime = context.bot_data.runtime
            language = language_for(
                update.effective_user.language_code if update.effective_user else None
            )
            await update.effective_chat.send_message(
                runtime.catalogue.text(language, "error.internal")
            )
        except (TelegramError, RuntimeError):
            pass  # the apology itself could not be sent; the error is already logged


async def _check_staff_chat(application: TipApplication, chat_id: int, variable: str) -> None:
    bot = application.bot
    try:
        await bot.get_chat(chat_id)
        member = await bot.get_chat_member(chat_id, bot.id)
    except (Forbidden, TelegramError) as exc:
        if isinstance(exc, NetworkError) and not isinstance(exc, Forbidden):
            raise StartupError(f"cannot reach the Bot API to check {variable}") from None
        raise StartupError(
            f"the bot cannot reach the chat in {variable}: add the bot to that group and check"
            " the id (Bot API said: " + exc.message + ")"
        ) from None
    if member.status not in (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR):
        raise StartupError(f"the bot is not a member of the chat in {variable}: add it")
    if getattr(member, "can_send_messages", True) is False:
        raise StartupError(f"the bot may not send messages in the chat in {variable}")


def build_runtime(
    settings: Settings,
    policy: Policy,
    db: Database,
    vault: Vault,
    bot: ExtBot[Any],
    *,
    clock: Callable[[], float] = time.time,
) -> Runtime:
    """Every service of one running bot, each given the values it needs (not the settings)."""
    catalogue = Catalogue.load()
    blobs = BlobStore(settings.data_dir / "blobs")
    blobs.ensure()
    env = ServiceEnv(
        db,
        vault,
        blobs,
        policy,
        review_chat_id=settings.review_chat_id,
        finance_chat_id=settings.finance_chat_id,
        clock=clock,
    )
    book = RewardBook(env)
    renderer = PostRenderer(catalogue, policy, blobs, settings.staff_language, env.local_time)
    sender = Sender(db, vault, bot, renderer, book, clock=clock)
    checkpoints = Checkpoints(db)
    env = replace(env, on_outbox=sender.wake, on_erased=checkpoints.request)
    return Runtime(
        settings=settings,
        policy=policy,
        local=env.local_time,
        catalogue=catalogue,
        db=db,
        vault=vault,
        blobs=blobs,
        intake=IntakeService(env),
        receipts=ReceiptService(env),
        review=ReviewService(env),
        answers=AnswerService(env),
        rewards=RewardService(env),
        payouts=PayoutService(env),
        book=book,
        audit=AuditLog(vault),
        sender=sender,
        retention=RetentionService(env),
        jobs=Jobs(env),
        windows=env.window_keys,
        checkpoints=checkpoints,
        outcomes=OutcomeService(env),
        stats=StatsService(env),
        media=MediaWorkers(policy.media),
    )


async def _check_staff_chats(
    application: TipApplication, settings: Settings, policy: Policy
) -> None:
    await _check_staff_chat(application, settings.review_chat_id, "TIPLINE_REVIEW_CHAT_ID")
    for index, route in enumerate(policy.review.routes, start=1):
        await _check_staff_chat(application, route.chat_id, f"[review] routes entry {index}")
    await _check_staff_chat(application, settings.finance_chat_id, "TIPLINE_FINANCE_CHAT_ID")


async def start_runtime(
    application: TipApplication,
    settings: Settings,
    policy: Policy,
    *,
    clock: Callable[[], float] = time.time,
) -> Runtime:
    """Check the chats, open storage, build the services, register commands, start the
    sender and the sweeps, and run once whatever fell due while the bot was down."""
    ring = load_key_ring(settings)
    await _check_staff_chats(application, settings, policy)
    db = await Database.open(settings.data_dir, settings.database)
    runtime: Runtime | None = None
    try:
        await db.migrate()
        vault = await open_vault(ring, db)
        runtime = build_runtime(settings, policy, db, vault, application.bot, clock=clock)
        await runtime.media.start()
        for language, commands in tipster.command_lists(runtime.catalogue).items():
            await application.bot.set_my_commands(
                commands,
                scope=tipster.COMMAND_SCOPE,
                language_code=None if language == "en" else language,
            )
    except BaseException:
        if runtime is not None:
            await runtime.media.close()
        await db.close()
        raise
    application.bot_data.attach(runtime)
    runtime.sender.start()
    if application.job_queue is not None:
        application.job_queue.run_repeating(
            _sweep, interval=DRAFT_SWEEP_SECONDS, first=1, name="draft-sweep"
        )
        application.job_queue.run_repeating(
            _run_schedules,
            interval=policy.sweep_seconds,
            first=policy.sweep_seconds,
            name="schedules",
        )
    # APScheduler would drop what fell due while the bot was down; it runs now, once.
    await runtime.jobs.ensure_digests()
    await runtime.jobs.sweep()
    await runtime.retention.purge_due()
    await _expire_window_keys(runtime)
    return runtime


async def _expire_window_keys(runtime: Runtime) -> None:
    """Delete the window keys whose time is over (and spent inbox keys); a checkpoint follows,
    so the deleted keys leave the WAL too."""
    if await runtime.windows.expire():
        runtime.checkpoints.request()


async def _sweep(context: Context) -> None:
    """Delete abandoned drafts, expired abuse counters and closed answer windows, then
    checkpoint the WAL (hourly, whatever happened)."""
    runtime = context.bot_data.runtime
    removed = await runtime.intake.purge_stale_drafts()
    await runtime.receipts.purge_old_counters()
    await runtime.answers.purge_expired_sessions()
    await runtime.checkpoints.run()
    if removed:
        log.info("removed %d abandoned draft(s)", removed)


async def _run_schedules(context: Context) -> None:
    """Run reminders and expiries whose time has come (durable: due times live in SQLite)."""
    runtime = context.bot_data.runtime
    await _expire_window_keys(runtime)
    ran = await runtime.jobs.sweep() + await runtime.retention.purge_due()
    await runtime.retention.expire_contacts()
    await runtime.retention.purge_delivery_records()
    if ran:
        log.info("ran %d scheduled job(s)", ran)


async def stop_runtime(application: TipApplication) -> None:
    runtime = application.bot_data.detach()
    if runtime is None:
        return
    try:
        await runtime.sender.stop()
        await runtime.checkpoints.stop()
    finally:  # the workers and the database close even if a stop failed
        await runtime.media.close()
        await runtime.db.close()


async def serve(
    settings: Settings,
    stop: asyncio.Event,
    *,
    ready: asyncio.Event | None = None,
    clock: Callable[[], float] = time.time,
) -> None:
    """Run the bot until `stop` is set. Raises StartupError for problems the operator fixes."""
    quiet_libraries()
    try:
        policy = policy_module.load(settings.policy_file)
    except PolicyError as exc:
        raise StartupError(f"TIPLINE_POLICY_FILE: {exc}") from None
    lock = DataDirLock(settings.data_dir)
    try:
        lock.acquire()
    except DataDirInUse:
        raise StartupError(
            f"the data directory {settings.data_dir} is in use by another tipline process:"
            " two bots on one directory would each believe they are its only writer"
        ) from None
    try:
        await _serve(settings, policy, stop, ready=ready, clock=clock)
    finally:
        lock.release()


async def _serve(
    settings: Settings,
    policy: Policy,
    stop: asyncio.Event,
    *,
    ready: asyncio.Event | None,
    clock: Callable[[], float],
) -> None:
    application = build_application(settings, policy)
    try:
        try:
            await application.initialize()
        except BaseException:
            # getMe failed after the HTTP sessions were opened: close them, or they leak.
            await application.bot.shutdown()
            raise
    except InvalidToken:
        raise StartupError(
            "the Bot API refused the token (TIPLINE_BOT_TOKEN): check it with @BotFather"
        ) from None
    except NetworkError:
        raise StartupError("cannot reach the Bot API server at TIPLINE_API_URL") from None
    pipeline: UpdatePipeline | None = None
    try:
        runtime = await start_runtime(application, settings, policy, clock=clock)
        await application.start()
        pipeline = UpdatePipeline(
            application,
            runtime.db,
            runtime.vault,
            clock=clock,
            alert_chat_id=settings.review_chat_id,
            windows=runtime.windows,
        )
        await pipeline.start()
        log.info("tipline is running")
        if ready is not None:
            ready.set()
        await stop.wait()
        log.info("stopping: no new updates are fetched; finishing what is in hand")
    finally:
        if pipeline is not None:
            await pipeline.stop()
        if application.running:
            await application.stop()
        await stop_runtime(application)
        await application.shutdown()

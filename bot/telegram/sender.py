"""Drains the outbox into Telegram: in order per report, resuming mid-post, retrying failures.

A row's parts are recorded as they are delivered, so a post interrupted by a crash or an
outage resumes where it stopped. Transient errors (429, 5xx, timeouts, a staff chat that is
briefly unreachable) are retried with backoff and jitter; only permanent errors for a tipster
(they blocked the bot) end a row as failed, which is recorded, never silent. A finished row to
a tipster keeps only the hour it was due and finished (bot.domain.timing): its record, kept
for `outbox_days`, must not say to the second when the tipster was using the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import secrets
import time
from collections.abc import Callable

from telegram import (
    Bot,
    CopyTextButton,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
)
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.crypto.vault import Vault
from bot.domain.items import ItemKind
from bot.domain.outbox import (
    AnswerPosted,
    CardRefresh,
    DeleteDialogue,
    OutboxKind,
    Recipient,
    RewardPost,
    RewardRefresh,
    StaffText,
    TipPosted,
)
from bot.domain.timing import coarse
from bot.services.notifier import Notifier
from bot.services.reward_book import RewardBook
from bot.telegram.composer import Composer, Opened, PermanentFailure, StaffNames
from bot.telegram.posts import (
    Button,
    CopyButton,
    Keyboard,
    LocationPart,
    Part,
    PostRenderer,
    TextPart,
)
from storage import outbox as outbox_repo
from storage import reports
from storage import rewards as rewards_repo
from storage.db import Database
from storage.records import OutboxRecord

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 600
# Rows in flight at once, per kind of recipient: posts to staff groups (which may wait on the
# 20-a-minute group limit) never take the places of tipsters' receipts and notices.
SEND_CONCURRENCY = {Recipient.STAFF: 16, Recipient.TIPSTER: 16}
IDLE_POLL_SECONDS = 1.0
# Rows looked at per round, and the pause between rounds while a backlog is being worked (every
# commit wakes the sender; without the pause a backlog was re-read dozens of times a second).
ROUND_ROWS = 500
BACKLOG_ROWS = 100
BACKLOG_PAUSE_SECONDS = 0.1
# A staff post that can never be delivered is reported, by reference only, to the chat it was
# for, with the catalogue key that says so; /repost there brings it back. A failed answer is
# reported like the tip's post: the tip posted again shows every answer.
REPORTED_FAILURES = {
    OutboxKind.TIP_POSTED: "staff.post_failed",
    OutboxKind.ANSWER_POSTED: "staff.post_failed",
    OutboxKind.REWARD_POST: "reward.post_failed",
}


def _button(button: Button | CopyButton) -> InlineKeyboardButton:
    if isinstance(button, CopyButton):
        return InlineKeyboardButton(button.label, copy_text=CopyTextButton(button.text))
    return InlineKeyboardButton(button.label, callback_data=button.data)


def keyboard(buttons: Keyboard) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup([[_button(b) for b in row] for row in buttons])


class Sender:
    """One background task; `wake()` after committing outbox rows to send them at once."""

    def __init__(
        self,
        db: Database,
        vault: Vault,
        bot: Bot,
        renderer: PostRenderer,
        book: RewardBook,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._vault = vault
        self._bot = bot
        self._renderer = renderer
        self._clock = clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._workers: dict[tuple[str, int | None], asyncio.Task[None]] = {}
        self._slots = {target: asyncio.Semaphore(n) for target, n in SEND_CONCURRENCY.items()}
        self._stopping = False
        self.names = StaffNames(bot)
        self._composer = Composer(db, vault, renderer, self.names, book)

    def money(self, minor: int) -> str:
        return self._renderer.money(minor)

    @property
    def renderer(self) -> PostRenderer:
        return self._renderer

    async def staff_name(self, chat_id: int, user_id: int) -> str:
        return await self.names.get(chat_id, user_id)

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="tipline-sender")

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Let the part in flight finish (up to the grace period), then stop."""
        self._stopping = True
        self._wake.set()
        if self._task is None:
            return
        tasks = [self._task, *self._workers.values()]
        _, late = await asyncio.wait(tasks, timeout=grace_seconds)
        for task in late:
            task.cancel()
        for task in late:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._task = None

    async def _run(self) -> None:
        while not self._stopping:
            try:
                wait = await self.drain_once()
            except Exception as exc:  # the loop must survive anything a row throws
                log.error("sender round failed: %s", type(exc).__name__)
                wait = IDLE_POLL_SECONDS
            if self._stopping:
                break
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def drain_once(self) -> float:
        """Start a worker for each group with due rows; return how long to sleep before the next
        look. A group (recipient kind and report, or chat) is worked in order by one worker at
        a time, so a review chat held back by its flood limit never delays a tipster's receipt.
        """
        async with self._db.read() as conn:
            # Each kind looked up on its own, so a backlog of review posts can never hide a
            # tipster's receipt beyond the round's rows (the memory run saw submit wait 10 s).
            rows = [
                row
                for target in SEND_CONCURRENCY
                for row in await outbox_repo.pending(conn, target, ROUND_ROWS)
            ]
        now = self._clock()
        groups: dict[tuple[str, int | None], list[OutboxRecord]] = {}
        waiting: set[tuple[str, int | None]] = set()
        answers_waiting: set[tuple[str, int | None]] = set()
        next_due = now + IDLE_POLL_SECONDS
        for row in rows:
            group = (row.target, row.report_id) if row.report_id else (row.target, row.chat_id)
            if group in waiting or group in self._workers:
                continue
            answer = row.kind == OutboxKind.ANSWER_POSTED
            if answer and group in answers_waiting:
                continue
            if row.not_before > now:
                # An answer held back by its random delay holds back only the answers after
                # it: the card and the staff's own messages about the tip go on, so a card
                # that stopped refreshing cannot tell reviewers that an answer is on its way.
                (answers_waiting if answer else waiting).add(group)
                next_due = min(next_due, row.not_before)
                continue
            groups.setdefault(group, []).append(row)
        for group, due in groups.items():
            if self._stopping:
                break
            worker = asyncio.create_task(self._work(due), name="tipline-send")
            self._workers[group] = worker
            worker.add_done_callback(functools.partial(self._worker_done, group))
        if len(rows) >= BACKLOG_ROWS:  # a backlog: its workers wake us as they finish
            await asyncio.sleep(BACKLOG_PAUSE_SECONDS)
        return max(0.05, min(IDLE_POLL_SECONDS, next_due - self._clock()))

    def _worker_done(self, group: tuple[str, int | None], _: asyncio.Task[None]) -> None:
        self._workers.pop(group, None)
        self._wake.set()  # the group may have more rows now

    async def _work(self, rows: list[OutboxRecord]) -> None:
        """Deliver one group's rows in order, stopping at the first that must wait."""
        for row in rows:
            if self._stopping:
                return
            async with self._slots[Recipient(row.target)]:
                try:
                    finished = await self._deliver(row)
                except Exception as exc:  # one bad row must not stop the others
                    log.error("outbox row %d failed: %s", row.id, type(exc).__name__)
                    finished = False
            if not finished:
                return

    async def _deliver(self, row: OutboxRecord) -> bool:
        """Send the rest of one row; True when it is finished (sent, failed or dropped)."""
        try:
            if row.report_id is None:
                notice = await self._composer.open_notice(row)
                if notice is None:
                    await self._finish(row, "dropped", "no recipient")
                else:
                    await self._send(notice[0], notice[1], None, True)
                    await self._finish(row, "sent")
                return True
            opened = await self._composer.open(row)
            if opened is None:
                await self._finish(row, "dropped", "recipient or content no longer stored")
                return True
            await self._deliver_opened(opened)
            return True
        except RetryAfter as exc:
            pause = exc.retry_after
            seconds = pause if isinstance(pause, int) else int(pause.total_seconds())
            await self._postpone(row, seconds + 1, "429 retry_after", count=False)
        except Forbidden as exc:
            if row.target == Recipient.TIPSTER:
                await self._finish(row, "failed", f"forbidden: {exc.message[:80]}")
                return True
            log.error("the bot may not post in a staff chat (Forbidden); retrying later")
            await self._postpone(row, self._backoff(row.attempts), "staff chat forbidden")
        except BadRequest as exc:
            if "chat not found" in exc.message.lower() and row.target == Recipient.STAFF:
                log.error("a staff chat cannot be found; retrying later")
                await self._postpone(row, self._backoff(row.attempts), "staff chat not found")
            else:
                log.error("outbox row %d refused by the Bot API (BadRequest)", row.id)
                await self._fail(row, f"bad request: {exc.message[:80]}")
                return True
        except PermanentFailure as exc:
            log.error("outbox row %d cannot be delivered: %s", row.id, exc)
            await self._fail(row, str(exc))
            return True
        except (TelegramError, OSError) as exc:
            await self._postpone(row, self._backoff(row.attempts), type(exc).__name__)
        return False

    async def _deliver_opened(self, opened: Opened) -> None:
        row, report, payload = opened.row, opened.report, opened.payload
        if isinstance(payload, DeleteDialogue):
            await self._delete_dialogue(opened.chat_id, payload)
            await self._finish(row, "sent")
            return
        parts = await self._composer.render(opened)
        if isinstance(payload, CardRefresh | RewardRefresh):
            target = await self._composer.edit_target(opened)
            if target is not None:
                await self._edit(target[0], target[1], parts[0])
            await self._finish(row, "sent")
            return
        anchor = row.anchor_message_id
        if isinstance(payload, AnswerPosted) or (
            isinstance(payload, StaffText) and row.chat_id == report.review_chat_id
        ):
            anchor = report.review_message_id
        staff = payload.recipient is Recipient.STAFF
        for index in range(row.parts_sent, len(parts)):
            message = await self._send(opened.chat_id, parts[index], anchor, staff)
            if anchor is None:
                anchor = message.message_id
            async with self._db.transaction() as conn:
                await outbox_repo.record_part(conn, row.id, index + 1, anchor)
                if index == len(parts) - 1:  # the last part: finished in the same commit
                    at, due = self._finished_at(row)
                    await outbox_repo.finish(conn, row.id, "sent", at, None, not_before=due)
                if index == 0 and isinstance(payload, TipPosted):
                    await reports.set_review_message(conn, report.id, message.message_id)
                if index == 0 and isinstance(payload, RewardPost):
                    await rewards_repo.set_finance_message(conn, payload.reward, message.message_id)
        if row.parts_sent >= len(parts):  # nothing was left to send: finish it now
            await self._finish(row, "sent")
        log.debug("outbox row %d delivered (%s, %d part(s))", row.id, row.kind, len(parts))

    async def _delete_dialogue(self, chat_id: int, payload: DeleteDialogue) -> None:
        """Delete the tip's dialogue from the private chat (the tipster asked; best effort:
        Telegram skips what is gone or older than 48 hours)."""
        ids = list(range(payload.first, payload.last + 1))
        for start in range(0, len(ids), 100):
            try:
                await self._bot.delete_messages(chat_id, ids[start : start + 100])
            except BadRequest:
                log.warning("some messages of a dialogue could not be deleted")

    def _backoff(self, attempts: int) -> int:
        base = min(MAX_BACKOFF_SECONDS, 1 << min(attempts, 10))
        return base + secrets.randbelow(base + 1)

    async def _postpone(
        self, row: OutboxRecord, seconds: int, why: str, count: bool = True
    ) -> None:
        async with self._db.transaction() as conn:
            if count:
                await outbox_repo.record_attempt(conn, row.id, why)
            await outbox_repo.delay(conn, row.id, int(self._clock()) + seconds)

    async def _fail(self, row: OutboxRecord, reason: str) -> None:
        """End a row that can never be delivered, so the rows after it go through. When it
        was a post staff rely on (the tip's, an answer, a reward proposal), the chat it was for
        is told in the same commit, by reference only, and /repost there brings it back."""
        now = int(self._clock())
        key = REPORTED_FAILURES.get(OutboxKind(row.kind))
        at, due = self._finished_at(row)
        async with self._db.transaction() as conn:
            await outbox_repo.finish(conn, row.id, "failed", at, reason, not_before=due)
            if key is None or row.report_id is None or row.chat_id is None:
                return
            report = await reports.by_id(conn, row.report_id)
            if report is None or report.wrapped_key is None:
                return
            notice = StaffText(key=key)
            await Notifier(self._vault).to_staff(conn, report, row.chat_id, notice, now)
        self.wake()

    def _finished_at(self, row: OutboxRecord) -> tuple[int, int | None]:
        """When a row finished, and the due time to keep: a tipster's row keeps the hour."""
        now = int(self._clock())
        if row.target == Recipient.TIPSTER:
            return coarse(now), coarse(now)
        return now, None

    async def _finish(self, row: OutboxRecord, status: str, error: str | None = None) -> None:
        at, due = self._finished_at(row)
        async with self._db.transaction() as conn:
            await outbox_repo.finish(conn, row.id, status, at, error, not_before=due)

    async def _edit(self, chat_id: int, message_id: int, part: Part) -> None:
        assert isinstance(part, TextPart)
        try:
            await self._bot.edit_message_text(
                part.html,
                chat_id=chat_id,
                message_id=message_id,
                reply_markup=keyboard(part.buttons),
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        except BadRequest as exc:
            if "not modified" not in exc.message.lower():
                raise

    async def _send(self, chat_id: int, part: Part, anchor: int | None, staff: bool) -> Message:
        reply = (
            ReplyParameters(anchor, allow_sending_without_reply=True)
            if anchor is not None
            else None
        )
        if isinstance(part, TextPart):
            return await self._bot.send_message(
                chat_id,
                part.html,
                protect_content=staff,
                reply_parameters=reply,
                reply_markup=keyboard(part.buttons),
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        if isinstance(part, LocationPart):
            return await self._bot.send_location(
                chat_id,
                latitude=part.latitude,
                longitude=part.longitude,
                protect_content=staff,
                reply_parameters=reply,
            )
        upload = InputFile(part.data, filename=part.filename)
        if part.kind is ItemKind.PHOTO:
            try:
                return await self._bot.send_photo(
                    chat_id,
                    upload,
                    caption=part.caption,
                    protect_content=staff,
                    reply_parameters=reply,
                )
            except BadRequest:
                log.warning("a photo was refused as a photo; sending it as a file")
                upload = InputFile(part.data, filename=part.filename)
        if part.kind is ItemKind.VIDEO:
            return await self._bot.send_video(
                chat_id, upload, caption=part.caption, protect_content=staff, reply_parameters=reply
            )
        return await self._bot.send_document(
            chat_id,
            upload,
            caption=part.caption,
            protect_content=staff,
            reply_parameters=reply,
            disable_content_type_detection=True,
        )

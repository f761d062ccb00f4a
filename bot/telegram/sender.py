"""Drains the outbox into Telegram: in order per report, resuming mid-post, retrying failures.

A row's parts are recorded as they are delivered, so a post interrupted by a crash or an
outage resumes where it stopped. Transient errors (429, 5xx, timeouts, a staff chat that is
briefly unreachable) are retried with backoff and jitter; only permanent errors for a tipster
(they blocked the bot) end a row as failed, which is recorded, never silent.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import html
import json
import logging
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
)
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.crypto.vault import DataKey, Vault, VaultError, WrappedKey
from bot.domain.items import ItemKind
from bot.domain.report import ReportStatus
from bot.services.rewards import RewardService, approvals_needed
from bot.telegram.i18n import Html
from bot.telegram.posts import (
    CardState,
    FinanceView,
    Keyboard,
    LocationPart,
    Part,
    PostRenderer,
    TextPart,
)
from storage import drafts, reports
from storage import outbox as outbox_repo
from storage import review as review_repo
from storage import rewards as rewards_repo
from storage.db import Database
from storage.records import ItemRecord, OutboxRecord, ReportRecord

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 600
# Rows in flight at once, per kind of recipient: posts to staff groups (which may wait on the
# 20-a-minute group limit) never take the places of tipsters' receipts and notices.
SEND_CONCURRENCY = {"staff": 16, "tipster": 16}
IDLE_POLL_SECONDS = 1.0
# Rows looked at per round, and the pause between rounds while a backlog is being worked (every
# commit wakes the sender; without the pause a backlog was re-read dozens of times a second).
ROUND_ROWS = 500
BACKLOG_ROWS = 100
BACKLOG_PAUSE_SECONDS = 0.1
NAME_CACHE_SECONDS = 600
# Moves shown as "last action" on a card; notes and answers have their own messages.
_CARD_MOVES = frozenset(
    {"claim", "ask", "verify", "unfounded", "duplicate", "spam", "reopen", "close"}
)


def keyboard(buttons: Keyboard) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in buttons]
    )


class PermanentFailure(Exception):
    """The row can never be delivered; the reason is safe to record (no content, no ids)."""


class Sender:
    """One background task; `wake()` after committing outbox rows to send them at once."""

    def __init__(
        self,
        db: Database,
        vault: Vault,
        bot: Bot,
        renderer: PostRenderer,
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
        self._names: dict[tuple[int, int], tuple[str, float]] = {}
        self._rewards: RewardService | None = None

    def money(self, minor: int) -> str:
        return self._renderer.money(minor)

    def attach_rewards(self, rewards: RewardService) -> None:
        """The reward service, for budget figures on finance posts (built after the sender)."""
        self._rewards = rewards

    async def staff_name(self, chat_id: int, user_id: int) -> str:
        """A staff member's display name, asked of Telegram (cached briefly, never stored)."""
        cached = self._names.get((chat_id, user_id))
        if cached and cached[1] > time.monotonic():
            return cached[0]
        try:
            member = await self._bot.get_chat_member(chat_id, user_id)
            name = member.user.full_name
        except TelegramError:
            name = f"#{user_id}"
        self._names[(chat_id, user_id)] = (name, time.monotonic() + NAME_CACHE_SECONDS)
        return name

    async def card_state(self, report: ReportRecord) -> CardState:
        """Holder, last move and duplicate link, as the card shows them now."""
        async with self._db.read() as conn:
            events = [
                e for e in await review_repo.events(conn, report.id) if e.action in _CARD_MOVES
            ]
            original = (
                await reports.by_id(conn, report.duplicate_of) if report.duplicate_of else None
            )
            repeats = await reports.duplicates_of(conn, report.id)
            reward = await rewards_repo.latest_for_report(conn, report.id)
        chat = report.review_chat_id
        last = events[-1] if events else None
        active = reward is not None and reward.status != "refused"
        return CardState(
            reward_status=reward.status if reward else None,
            reward_amount=reward.amount_minor if reward else None,
            can_propose=report.status == ReportStatus.VERIFIED and not active,
            holder=await self.staff_name(chat, report.holder_id) if report.holder_id else None,
            last_action=last.action if last else None,
            last_actor=await self.staff_name(chat, last.actor_id) if last else None,
            last_at=last.at if last else None,
            duplicate_of=original.reference if original else None,
            duplicates=tuple(repeats),
        )

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
        next_due = now + IDLE_POLL_SECONDS
        for row in rows:
            group = (row.target, row.report_id) if row.report_id else (row.target, row.chat_id)
            if group in waiting or group in self._workers:
                continue
            if row.not_before > now:
                waiting.add(group)
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
            async with self._slots[row.target]:
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
                return await self._deliver_notice(row)
            report, key, chat_id = await self._resolve(row)
            if report is None or key is None or chat_id is None:
                await self._finish(row, "dropped", "recipient or content no longer stored")
                return True
            if row.kind == "delete_dialogue":
                await self._delete_dialogue(chat_id, key, row)
                await self._finish(row, "sent")
                return True
            parts = await self._render(row, report, key)
            if row.kind in ("card_refresh", "reward_refresh"):
                target = await self._edit_target(row, report, key)
                if target is not None:
                    await self._edit(target[0], target[1], parts[0])
                await self._finish(row, "sent")
                return True
            anchor = row.anchor_message_id
            if row.kind == "answer_posted" or (
                row.kind == "staff_text" and row.chat_id == report.review_chat_id
            ):
                anchor = report.review_message_id
            for index in range(row.parts_sent, len(parts)):
                message = await self._send(chat_id, parts[index], anchor, row.target == "staff")
                if anchor is None:
                    anchor = message.message_id
                async with self._db.transaction() as conn:
                    await outbox_repo.record_part(conn, row.id, index + 1, anchor)
                    if index == len(parts) - 1:  # the last part: finished in the same commit
                        await outbox_repo.finish(conn, row.id, "sent", int(self._clock()), None)
                    if row.kind == "tip_posted" and index == 0:
                        await reports.set_review_message(conn, report.id, message.message_id)
                    if row.kind == "reward_post" and index == 0 and row.sealed_payload:
                        reward_id = int(
                            json.loads(key.open("outbox", row.sealed_payload))["reward"]
                        )
                        await rewards_repo.set_finance_message(conn, reward_id, message.message_id)
            if row.parts_sent >= len(parts):  # nothing was left to send: finish it now
                await self._finish(row, "sent")
            log.debug("outbox row %d delivered (%s, %d part(s))", row.id, row.kind, len(parts))
            return True
        except RetryAfter as exc:
            pause = exc.retry_after
            seconds = pause if isinstance(pause, int) else int(pause.total_seconds())
            await self._postpone(row, seconds + 1, "429 retry_after", count=False)
        except Forbidden as exc:
            if row.target == "tipster":
                await self._finish(row, "failed", f"forbidden: {exc.message[:80]}")
                return True
            log.error("the bot may not post in a staff chat (Forbidden); retrying later")
            await self._postpone(row, self._backoff(row.attempts), "staff chat forbidden")
        except BadRequest as exc:
            if "chat not found" in exc.message.lower() and row.target == "staff":
                log.error("a staff chat cannot be found; retrying later")
                await self._postpone(row, self._backoff(row.attempts), "staff chat not found")
            else:
                log.error("outbox row %d refused by the Bot API (BadRequest)", row.id)
                await self._finish(row, "failed", f"bad request: {exc.message[:80]}")
                return True
        except PermanentFailure as exc:
            log.error("outbox row %d cannot be delivered: %s", row.id, exc)
            await self._finish(row, "failed", str(exc))
            return True
        except (TelegramError, OSError) as exc:
            await self._postpone(row, self._backoff(row.attempts), type(exc).__name__)
        return False

    async def _delete_dialogue(self, chat_id: int, key: DataKey, row: OutboxRecord) -> None:
        """Delete the tip's dialogue from the private chat (the tipster asked; best effort:
        Telegram skips what is gone or older than 48 hours)."""
        assert row.sealed_payload is not None
        payload = json.loads(key.open("outbox", row.sealed_payload))
        ids = list(range(int(payload["first"]), int(payload["last"]) + 1))
        for start in range(0, len(ids), 100):
            try:
                await self._bot.delete_messages(chat_id, ids[start : start + 100])
            except BadRequest:
                log.warning("some messages of a dialogue could not be deleted")

    async def _deliver_notice(self, row: OutboxRecord) -> bool:
        """A staff notice about no tip in particular: plain counts and references only."""
        if row.target != "staff" or row.chat_id is None or row.sealed_payload is None:
            await self._finish(row, "dropped", "no recipient")
            return True
        payload = json.loads(row.sealed_payload)
        part = self._renderer.staff_notice(payload["key"], payload["params"])
        await self._send(row.chat_id, part, None, True)
        await self._finish(row, "sent")
        return True

    async def _admin_mentions(self, chat_id: int) -> Html:
        """Mentions of a staff chat's human administrators, asked of Telegram now."""
        try:
            admins = await self._bot.get_chat_administrators(chat_id)
        except TelegramError:
            return Html("")
        return Html(
            " ".join(
                f'<a href="tg://user?id={a.user.id}">{html.escape(a.user.first_name)}</a>'
                for a in admins
                if not a.user.is_bot
            )
        )

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

    async def _finish(self, row: OutboxRecord, status: str, error: str | None = None) -> None:
        async with self._db.transaction() as conn:
            await outbox_repo.finish(conn, row.id, status, int(self._clock()), error)

    async def _resolve(
        self, row: OutboxRecord
    ) -> tuple[ReportRecord | None, DataKey | None, int | None]:
        if row.report_id is None:
            raise PermanentFailure(f"row kind {row.kind} needs a report")
        async with self._db.read() as conn:
            report = await reports.by_id(conn, row.report_id)
        if report is None or report.key_id is None or report.wrapped_key is None:
            return None, None, None
        try:
            key = self._vault.unwrap(report.uid, WrappedKey(report.key_id, report.wrapped_key))
        except VaultError:
            raise PermanentFailure("the report's data key does not unwrap") from None
        if row.target == "staff":
            return report, key, row.chat_id
        if row.kind in ("receipt", "delete_dialogue") and row.sealed_payload is not None:
            return report, key, int(json.loads(key.open("outbox", row.sealed_payload))["chat"])
        if report.sealed_contact is None:
            return report, key, None
        chat_id = int(key.open_text("contact", report.sealed_contact))
        return report, key, chat_id

    async def _render(self, row: OutboxRecord, report: ReportRecord, key: DataKey) -> list[Part]:
        items: list[ItemRecord] = []
        if row.kind in ("tip_posted", "card_refresh", "answer_posted"):  # only these show items
            async with self._db.read() as conn:
                items = await drafts.items(conn, report.uid)
        payload = json.loads(key.open("outbox", row.sealed_payload)) if row.sealed_payload else {}
        if row.kind == "tip_posted":
            return await self._renderer.tip_post(report, key, items, await self.card_state(report))
        if row.kind == "card_refresh":
            return [await self._renderer.card(report, key, items, await self.card_state(report))]
        if row.kind == "answer_posted":
            return await self._renderer.answer(report, key, items, int(payload["position"]))
        if row.kind == "tipster_notice":
            return [self._renderer.notice(report, str(payload["status"]))]
        if row.kind == "tipster_question":
            return [
                self._renderer.question(report, str(payload["question"]), str(payload["token"]))
            ]
        if row.kind == "receipt":
            return [
                self._renderer.receipt(report, str(payload["receipt"]), bool(payload["contact"]))
            ]
        if row.kind == "tipster_text":
            return [self._renderer.tipster_text(report, payload["key"], payload["params"])]
        if row.kind == "staff_text":
            params = dict(payload["params"])
            if isinstance(params.get("by"), int):
                params["by"] = await self.staff_name(row.chat_id or 0, params["by"])
            if "admins" in params:
                params["admins"] = (
                    await self._admin_mentions(row.chat_id or 0) if params["admins"] else Html("")
                )
            return [self._renderer.staff_text(report, payload["key"], params)]
        if row.kind in ("reward_post", "reward_refresh"):
            return [self._renderer.finance_post(await self._finance_view(report, key, payload))]
        raise PermanentFailure(f"unknown outbox kind {row.kind}")

    async def _finance_view(
        self, report: ReportRecord, key: DataKey, payload: dict[str, Any]
    ) -> FinanceView:
        async with self._db.read() as conn:
            reward = await rewards_repo.by_id(conn, int(payload["reward"]))
            if reward is None:
                raise PermanentFailure("the reward no longer exists")
            approvals = await rewards_repo.approvals(conn, reward.id)
        moment = datetime.fromtimestamp(reward.proposed_at, UTC)
        budget = await self._rewards.budget(moment.year, moment.month) if self._rewards else None
        finance = reward.finance_chat_id
        return FinanceView(
            reward=reward,
            reference=report.reference,
            category=self._renderer.category_label(report.category),
            justification=(
                key.open_text("justification", reward.sealed_justification)
                if reward.sealed_justification
                else None
            ),
            proposer=await self.staff_name(report.review_chat_id, reward.proposer_id),
            approvers=tuple([await self.staff_name(finance, a) for a, _ in approvals]),
            needed=approvals_needed(self._renderer.policy, reward.amount_minor),
            budget=budget,
            paid_by=await self.staff_name(finance, reward.paid_by) if reward.paid_by else None,
        )

    async def _edit_target(
        self, row: OutboxRecord, report: ReportRecord, key: DataKey
    ) -> tuple[int, int] | None:
        """(chat, message) to edit: the tip's card, or the reward's post in the finance chat."""
        if row.kind == "card_refresh":
            if report.review_message_id is None:
                return None
            return report.review_chat_id, report.review_message_id
        assert row.sealed_payload is not None
        reward_id = int(json.loads(key.open("outbox", row.sealed_payload))["reward"])
        async with self._db.read() as conn:
            reward = await rewards_repo.by_id(conn, reward_id)
        if reward is None or reward.finance_message_id is None:
            return None
        return reward.finance_chat_id, reward.finance_message_id

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

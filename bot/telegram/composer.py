"""Turns an outbox row into what Telegram is sent: its recipient chat and its parts.

The row's payload is decoded into its typed model (bot.domain.outbox) and rendered by
PostRenderer; staff names and administrator mentions are asked of Telegram at send time and
never stored.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from telegram import Bot
from telegram.error import TelegramError

from bot.crypto.vault import DataKey, Vault, VaultError, WrappedKey
from bot.domain.errors import CaseAlreadyRewarded
from bot.domain.items import ItemKind
from bot.domain.outbox import (
    NOTICE_PURPOSE,
    AnswerPosted,
    CardRefresh,
    DeleteDialogue,
    Payload,
    Receipt,
    Recipient,
    RewardPost,
    RewardRefresh,
    StaffNotice,
    StaffText,
    TipPosted,
    TipsterNotice,
    TipsterQuestion,
    TipsterText,
    load_payload,
    notice_context,
)
from bot.domain.report import ReportStatus
from bot.domain.reward import ACTIVE, approvals_needed
from bot.domain.stats import parse_period
from bot.services.outcomes import outcome_view
from bot.services.reward_book import RewardBook
from bot.services.rewards import case_rewarded
from bot.services.stats import finance_of, review_of
from bot.telegram.charts import finance_chart, review_chart
from bot.telegram.i18n import Html
from bot.telegram.posts import (
    CardState,
    FilePart,
    FinanceView,
    Part,
    PostRenderer,
    mention,
)
from storage import drafts, reports
from storage import review as review_repo
from storage import rewards as rewards_repo
from storage.db import Database
from storage.records import ItemRecord, OutboxRecord, ReportRecord

NAME_CACHE_SECONDS = 600
# Moves shown as "last action" on a card; notes and answers have their own messages.
_CARD_MOVES = frozenset(
    {"claim", "ask", "verify", "unfounded", "duplicate", "spam", "reopen", "close"}
)


class PermanentFailure(Exception):
    """The row can never be delivered; the reason is safe to record (no content, no ids)."""


@dataclass(frozen=True)
class Opened:
    """An outbox row about a tip, opened: the tip, its key, where it goes, what it says."""

    row: OutboxRecord
    report: ReportRecord
    key: DataKey
    chat_id: int
    payload: Payload


class StaffNames:
    """Staff members' display names, asked of Telegram (cached briefly, never stored)."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot
        self._names: dict[tuple[int, int], tuple[str, float]] = {}

    async def get(self, chat_id: int, user_id: int) -> str:
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

    async def admin_mentions(self, chat_id: int) -> Html:
        """Mentions of a staff chat's human administrators, asked of Telegram now."""
        try:
            admins = await self._bot.get_chat_administrators(chat_id)
        except TelegramError:
            return Html("")
        return Html(
            " ".join(mention(a.user.id, a.user.first_name) for a in admins if not a.user.is_bot)
        )


# Telegram's limit on a caption; a longer digest goes out as text, without its chart.
CAPTION_LIMIT = 1024


class Composer:
    def __init__(
        self,
        db: Database,
        vault: Vault,
        renderer: PostRenderer,
        names: StaffNames,
        book: RewardBook,
    ) -> None:
        self._db = db
        self._vault = vault
        self._renderer = renderer
        self._names = names
        self._book = book

    async def open(self, row: OutboxRecord) -> Opened | None:
        """The row's tip, key, chat and payload; None when the tip or its contact is gone."""
        if row.report_id is None:
            raise PermanentFailure(f"row kind {row.kind} needs a report")
        async with self._db.read() as conn:
            report = await reports.by_id(conn, row.report_id)
        if report is None or report.key_id is None or report.wrapped_key is None:
            return None
        try:
            key = self._vault.unwrap(report.uid, WrappedKey(report.key_id, report.wrapped_key))
            raw = key.open("outbox", row.sealed_payload) if row.sealed_payload else None
        except VaultError:
            raise PermanentFailure("the report's data key does not open the row") from None
        try:
            payload = load_payload(row.kind, raw)
        except ValueError:
            raise PermanentFailure(f"malformed payload of kind {row.kind}") from None
        if payload.recipient is Recipient.STAFF:
            chat_id = row.chat_id
        elif isinstance(payload, Receipt | DeleteDialogue):
            chat_id = payload.chat
        elif report.sealed_contact is not None:
            chat_id = int(key.open_text("contact", report.sealed_contact))
        else:
            chat_id = None
        if chat_id is None:
            return None
        return Opened(row, report, key, chat_id, payload)

    async def open_notice(self, row: OutboxRecord) -> tuple[int, Part] | None:
        """A staff notice about no tip in particular: its chat and its one part."""
        if row.target != Recipient.STAFF or row.chat_id is None or row.sealed_payload is None:
            return None
        try:
            raw = self._vault.open_transient(
                NOTICE_PURPOSE, notice_context(row.chat_id), row.sealed_payload
            )
        except VaultError:
            if not row.sealed_payload.startswith(b"{"):
                raise PermanentFailure("the notice does not open") from None
            raw = row.sealed_payload  # written unsealed by a version before notices were sealed
        try:
            payload = StaffNotice.model_validate_json(raw)
        except ValueError:
            raise PermanentFailure("malformed notice") from None
        params: dict[str, object] = dict(payload.params)
        if "admins" in params:
            params["admins"] = (
                await self._names.admin_mentions(row.chat_id) if params["admins"] else Html("")
            )
        text = self._renderer.staff_notice(payload.key, params)
        if payload.chart in ("review", "finance") and len(text.html) <= CAPTION_LIMIT:
            return row.chat_id, await self._chart(row, payload.chart, text.html)
        return row.chat_id, text

    async def _chart(self, row: OutboxRecord, which: str, caption: str) -> FilePart:
        """A digest with its chart: the statistics as of when it was due, drawn off the loop."""
        assert row.chat_id is not None
        renderer, local = self._renderer, self._book.local
        policy = renderer.policy
        async with self._db.read() as conn:
            if which == "review":
                week = parse_period("week", row.not_before, local.zone)
                review = await review_of(conn, row.chat_id, week)
            else:
                year, month = local.month_of(row.not_before)
                budget = policy.rewards.monthly_budget_minor
                finance = await finance_of(conn, year, month, budget, local)
        if which == "review":
            png = await asyncio.to_thread(review_chart, review, renderer.review_chart_text(review))
        else:
            text = renderer.finance_chart_text(finance)
            minor = policy.rewards.minor_per_major
            png = await asyncio.to_thread(finance_chart, finance, text, minor)
        return FilePart(ItemKind.PHOTO, png, f"tipline-{which}.png", caption)

    async def card_state(self, report: ReportRecord) -> CardState:
        """Holder, last move and duplicate link, as the card shows them now."""
        async with self._db.read() as conn:
            events = [
                e for e in await review_repo.events(conn, report.id) if e.action in _CARD_MOVES
            ]
            original = (
                await reports.by_id(conn, report.duplicate_of) if report.duplicate_of else None
            )
            repeats = await reports.linked_to(conn, report.id, ReportStatus.DUPLICATE)
            reward = await rewards_repo.latest_for_report(conn, report.id)
            outcome = await outcome_view(conn, report, None)
            try:
                await case_rewarded(conn, report)
                case_free = True
            except CaseAlreadyRewarded:
                case_free = False
        chat = report.review_chat_id
        last = events[-1] if events else None
        active = reward is not None and reward.status in ACTIVE
        names = self._names
        return CardState(
            reward_status=reward.status if reward else None,
            reward_amount=reward.amount_minor if reward else None,
            can_propose=report.status == ReportStatus.VERIFIED and not active and case_free,
            outcome=outcome,
            holder=await names.get(chat, report.holder_id) if report.holder_id else None,
            last_action=last.action if last else None,
            last_actor=await names.get(chat, last.actor_id) if last else None,
            last_at=last.at if last else None,
            duplicate_of=original.reference if original else None,
            duplicates=tuple(repeats),
        )

    async def render(self, opened: Opened) -> list[Part]:
        try:
            return await self._render(opened)
        except FileNotFoundError:
            raise PermanentFailure("an attachment file of the tip is missing") from None

    async def _render(self, opened: Opened) -> list[Part]:
        report, key, payload = opened.report, opened.key, opened.payload
        renderer = self._renderer
        if isinstance(payload, TipPosted | CardRefresh | AnswerPosted):
            items = await self._items(report)
            if isinstance(payload, TipPosted):
                return await renderer.tip_post(report, key, items, await self.card_state(report))
            if isinstance(payload, CardRefresh):
                return [await renderer.card(report, key, items, await self.card_state(report))]
            return await renderer.answer(report, key, items, payload.position)
        if isinstance(payload, TipsterNotice):
            return [renderer.notice(report, payload.status)]
        if isinstance(payload, TipsterQuestion):
            return [renderer.question(report, payload.question, payload.token)]
        if isinstance(payload, Receipt):
            return [renderer.receipt(report, payload.receipt, payload.contact)]
        if isinstance(payload, TipsterText):
            return [renderer.tipster_text(report, payload.key, dict(payload.params))]
        if isinstance(payload, StaffText):
            return [renderer.staff_text(report, payload.key, await self._staff_params(opened))]
        if isinstance(payload, RewardPost | RewardRefresh):
            return [renderer.finance_post(await self._finance_view(report, key, payload.reward))]
        raise PermanentFailure(f"outbox kind {opened.row.kind} is not rendered")

    async def _items(self, report: ReportRecord) -> list[ItemRecord]:
        async with self._db.read() as conn:
            return await drafts.items(conn, report.uid)

    async def _staff_params(self, opened: Opened) -> dict[str, object]:
        assert isinstance(opened.payload, StaffText)
        params: dict[str, object] = dict(opened.payload.params)
        by = params.get("by")
        if isinstance(by, int) and not isinstance(by, bool):
            params["by"] = await self._names.get(opened.chat_id, by)
        if "admins" in params:
            params["admins"] = (
                await self._names.admin_mentions(opened.chat_id) if params["admins"] else Html("")
            )
        return params

    async def _finance_view(
        self, report: ReportRecord, key: DataKey, reward_id: int
    ) -> FinanceView:
        async with self._db.read() as conn:
            reward = await rewards_repo.by_id(conn, reward_id)
            if reward is None:
                raise PermanentFailure("the reward no longer exists")
            approvals = await rewards_repo.approvals(conn, reward.id)
        year, month = self._book.local.month_of(reward.proposed_at)
        finance = reward.finance_chat_id
        names = self._names
        return FinanceView(
            reward=reward,
            reference=report.reference,
            category=self._renderer.category_label(report.category),
            justification=(
                key.open_text("justification", reward.sealed_justification)
                if reward.sealed_justification
                else None
            ),
            proposer=await names.get(report.review_chat_id, reward.proposer_id),
            approvers=tuple([await names.get(finance, a) for a, _ in approvals]),
            needed=approvals_needed(self._renderer.policy, reward.amount_minor),
            budget=await self._book.budget(year, month),
            paid_by=await names.get(finance, reward.paid_by) if reward.paid_by else None,
        )

    async def edit_target(self, opened: Opened) -> tuple[int, int] | None:
        """(chat, message) to edit: the tip's card, or the reward's post in the finance chat."""
        payload = opened.payload
        if isinstance(payload, CardRefresh):
            report = opened.report
            if report.review_message_id is None:
                return None
            return report.review_chat_id, report.review_message_id
        assert isinstance(payload, RewardRefresh)
        async with self._db.read() as conn:
            reward = await rewards_repo.by_id(conn, payload.reward)
        if reward is None or reward.finance_message_id is None:
            return None
        return reward.finance_chat_id, reward.finance_message_id

"""The review desk: claim, ask the tipster, relay answers, decide, reopen, close, notes.

Every move is one transaction: a compare-and-set on the report's status (the first of two
racing reviewers wins), a history event, an audit row, and the outbox rows it causes (the
card in the review chat is refreshed; the tipster hears what they should, in their language).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiosqlite

from bot.crypto.vault import DataKey, Vault, WrappedKey
from bot.domain.deadlines import add_working_days
from bot.domain.errors import (
    AnswerClosed,
    BadOriginal,
    HeldByOther,
    NoContact,
    NotNow,
    PromptAnswered,
    RaceLost,
    TextMissing,
    TextTooLongForStaff,
    TipNotFound,
)
from bot.domain.items import ItemKind, PreparedItem
from bot.domain.policy import Policy
from bot.domain.report import (
    OPEN,
    TARGET,
    Action,
    ReportStatus,
    allowed_actions,
    needs_holder,
)
from bot.services.audit import AuditLog
from bot.services.intake import item_payload
from storage import drafts, reports, schedules
from storage import outbox as outbox_repo
from storage import review as review_repo
from storage.blobs import BlobStore
from storage.db import Database
from storage.records import EventRecord, PromptRecord, ReportRecord

TIPSTER_ACTOR = 0  # events caused by the tipster carry no id at all

# Status changes the tipster is told about. Spam and closing are not news to them; internal
# notes, duplicate links and reviewer identities never are.
NOTIFY_TIPSTER = frozenset(
    {
        ReportStatus.IN_REVIEW,
        ReportStatus.VERIFIED,
        ReportStatus.UNFOUNDED,
        ReportStatus.DUPLICATE,
    }
)
MAX_QUESTION_CHARS = 1000
MAX_NOTE_CHARS = 2000


async def consume_prompt(conn: aiosqlite.Connection, prompt: PromptRecord) -> None:
    """Close the prompt in the transaction that applies its reply, so a crash can never close
    it without the effect (or apply the effect and leave it open)."""
    if not await review_repo.delete_prompt(conn, prompt.chat_id, prompt.message_id):
        raise PromptAnswered()


@dataclass(frozen=True)
class Actor:
    """A staff member acting: their Telegram id, and whether they administer the chat."""

    user_id: int
    is_admin: bool = False


@dataclass(frozen=True)
class Outcome:
    report: ReportRecord
    previous: ReportStatus


@dataclass(frozen=True)
class HistoryEntry:
    at: int
    actor_id: int
    action: str
    to_status: str | None
    text: str | None


@dataclass(frozen=True)
class TipHistory:
    report: ReportRecord
    entries: list[HistoryEntry]


@dataclass(frozen=True)
class AnswerStarted:
    reference: str
    language: str


class ReviewService:
    """The review chat's use cases."""

    def __init__(
        self,
        db: Database,
        vault: Vault,
        blobs: BlobStore,
        policy: Policy,
        audit: AuditLog,
        *,
        on_outbox: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._vault = vault
        self._blobs = blobs
        self._policy = policy
        self._audit = audit
        self._on_outbox = on_outbox
        self._clock = clock

    def now(self) -> int:
        return int(self._clock())

    def _now(self) -> int:
        return self.now()

    def key_for(self, report: ReportRecord) -> DataKey:
        if report.key_id is None or report.wrapped_key is None:
            raise TipNotFound(reference=report.reference)
        return self._vault.unwrap(report.uid, WrappedKey(report.key_id, report.wrapped_key))

    async def _load(self, conn: aiosqlite.Connection, reference: str, chat_id: int) -> ReportRecord:
        """The report with this reference that belongs to this review chat."""
        report = await reports.by_reference(conn, reference.strip().upper())
        if report is None or report.review_chat_id != chat_id:
            raise TipNotFound(reference=reference)
        return report

    async def by_id(self, report_id: int) -> ReportRecord:
        async with self._db.read() as conn:
            report = await reports.by_id(conn, report_id)
        if report is None:
            raise TipNotFound(reference="?")
        return report

    async def find(self, reference: str, chat_id: int) -> ReportRecord:
        async with self._db.read() as conn:
            return await self._load(conn, reference, chat_id)

    def _check(self, report: ReportRecord, actor: Actor, action: Action) -> ReportStatus:
        current = ReportStatus(report.status)
        if action not in allowed_actions(current):
            if report.holder_id is not None and report.holder_id != actor.user_id:
                # Someone else acted first (a press on a card that had not refreshed yet).
                raise RaceLost(
                    reference=report.reference, holder_id=report.holder_id, status=current.value
                )
            raise NotNow(reference=report.reference, status=current.value)
        if (
            needs_holder(current, action)
            and report.holder_id not in (None, actor.user_id)
            and not actor.is_admin
        ):
            raise HeldByOther(reference=report.reference, holder_id=report.holder_id)
        return current

    async def _enqueue_card(
        self, conn: aiosqlite.Connection, report: ReportRecord, now: int
    ) -> None:
        if report.review_message_id is None:
            return  # the post itself is still on its way and will show the current state
        await outbox_repo.enqueue(
            conn,
            target="staff",
            kind="card_refresh",
            report_id=report.id,
            chat_id=report.review_chat_id,
            now=now,
            not_before=now,
        )

    async def _enqueue_notice(
        self, conn: aiosqlite.Connection, report: ReportRecord, status: ReportStatus, now: int
    ) -> None:
        if status not in NOTIFY_TIPSTER or report.sealed_contact is None:
            return
        key = self.key_for(report)
        await outbox_repo.enqueue(
            conn,
            target="tipster",
            kind="tipster_notice",
            report_id=report.id,
            now=now,
            not_before=now,
            sealed_payload=key.seal("outbox", json.dumps({"status": status.value}).encode()),
        )

    async def _move(
        self,
        conn: aiosqlite.Connection,
        report: ReportRecord,
        actor: Actor,
        action: Action,
        *,
        now: int,
        text: str | None = None,
        duplicate_of: int | None = None,
        audit_details: dict[str, object] | None = None,
    ) -> Outcome:
        current = self._check(report, actor, action)
        target = TARGET[action]
        holder = actor.user_id if action in (Action.CLAIM, Action.REOPEN) else report.holder_id
        if current is ReportStatus.NEW and holder is None:
            holder = actor.user_id
        moved = await reports.move(
            conn,
            report.id,
            expected=current.value,
            status=target.value,
            holder_id=holder,
            now=now,
            duplicate_of=duplicate_of if action is Action.DUPLICATE else report.duplicate_of,
        )
        if not moved:
            fresh = await reports.by_id(conn, report.id)
            raise RaceLost(
                reference=report.reference,
                holder_id=fresh.holder_id if fresh else None,
                status=fresh.status if fresh else "",
            )
        key = self.key_for(report)
        await review_repo.add_event(
            conn,
            report_id=report.id,
            at=now,
            actor_id=actor.user_id,
            action=action.value,
            from_status=current.value,
            to_status=target.value,
            sealed_text=key.seal_text("event", text) if text else None,
        )
        await self._audit.append(
            conn,
            at=now,
            actor_id=actor.user_id,
            action=action.value,
            report_ref=report.reference,
            details={"from": current.value, "to": target.value, **(audit_details or {})},
        )
        updated = await reports.by_id(conn, report.id)
        assert updated is not None
        await self._enqueue_card(conn, updated, now)
        await self._enqueue_notice(conn, updated, target, now)
        if target is ReportStatus.VERIFIED:
            rewards = self._policy.rewards
            days = max(0, rewards.notify_within_working_days - rewards.nudge_working_days_before)
            await schedules.add(
                conn, kind="reward_nudge", due_at=add_working_days(now, days), report_id=report.id
            )
        return Outcome(updated, current)

    async def act(self, reference: str, chat_id: int, actor: Actor, action: Action) -> Outcome:
        """Claim, verify, mark unfounded or spam, reopen or close a tip."""
        if action in (Action.ASK, Action.DUPLICATE):
            raise NotNow(reference=reference, status="")
        now = self._now()
        async with self._db.transaction() as conn:
            report = await self._load(conn, reference, chat_id)
            outcome = await self._move(conn, report, actor, action, now=now)
        self._on_outbox()
        return outcome

    async def prepare(
        self, reference: str, chat_id: int, actor: Actor, action: Action
    ) -> ReportRecord:
        """Check that an action needing a reply (ask, duplicate) may start now."""
        async with self._db.read() as conn:
            report = await self._load(conn, reference, chat_id)
        self._check(report, actor, action)
        if action is Action.ASK and report.sealed_contact is None:
            raise NoContact(reference=report.reference)
        return report

    async def remember_prompt(
        self,
        chat_id: int,
        message_id: int,
        kind: str,
        report: ReportRecord,
        actor: Actor,
        payload: str | None = None,
    ) -> None:
        """Remember a bot message whose reply carries input (a question, a reason, ...)."""
        async with self._db.transaction() as conn:
            await review_repo.add_prompt(
                conn,
                PromptRecord(
                    chat_id, message_id, kind, report.id, actor.user_id, self._now(), payload
                ),
            )

    async def find_prompt(self, chat_id: int, message_id: int) -> PromptRecord | None:
        """The open prompt a reply answers. It stays open until the reply's effect commits."""
        async with self._db.read() as conn:
            return await review_repo.get_prompt(conn, chat_id, message_id)

    async def replace_prompt(
        self, old: PromptRecord, message_id: int, kind: str, actor: Actor, payload: str
    ) -> None:
        """Close `old` and open the next prompt of the same tip in its chat, in one commit."""
        async with self._db.transaction() as conn:
            await consume_prompt(conn, old)
            await review_repo.add_prompt(
                conn,
                PromptRecord(
                    old.chat_id,
                    message_id,
                    kind,
                    old.report_id,
                    actor.user_id,
                    self._now(),
                    payload,
                ),
            )

    async def ask(self, prompt: PromptRecord, actor: Actor, question: str) -> Outcome:
        """Relay a question to the tipster (a Reply button carries a one-use random token)."""
        text = " ".join(question.split()) if "\n" not in question else question.strip()
        if not text:
            raise TextMissing()
        if len(text) > MAX_QUESTION_CHARS:
            raise TextTooLongForStaff(limit=MAX_QUESTION_CHARS)
        token = secrets.token_urlsafe(16)
        now = self._now()
        async with self._db.transaction() as conn:
            await consume_prompt(conn, prompt)
            report = await reports.by_id(conn, prompt.report_id)
            if report is None or report.review_chat_id != prompt.chat_id:
                raise TipNotFound(reference="?")
            if report.sealed_contact is None:
                raise NoContact(reference=report.reference)
            outcome = await self._move(conn, report, actor, Action.ASK, now=now, text=text)
            await schedules.add(
                conn,
                kind="awaiting_timeout",
                due_at=now + self._policy.review.awaiting_tipster_days * 86_400,
                report_id=report.id,
            )
            question_id = await review_repo.add_question(
                conn,
                report_id=report.id,
                token_hash=self._vault.token_hash(token),
                asked_by=actor.user_id,
                at=now,
            )
            key = self.key_for(report)
            await outbox_repo.enqueue(
                conn,
                target="tipster",
                kind="tipster_question",
                report_id=report.id,
                now=now,
                not_before=now,
                sealed_payload=key.seal(
                    "outbox",
                    json.dumps({"question": text, "token": token, "id": question_id}).encode(),
                ),
            )
        self._on_outbox()
        return outcome

    async def mark_duplicate(
        self, prompt: PromptRecord, actor: Actor, original_ref: str
    ) -> Outcome:
        """Link a tip to the original it repeats; the tipster hears only "already known"."""
        now = self._now()
        async with self._db.transaction() as conn:
            await consume_prompt(conn, prompt)
            report = await reports.by_id(conn, prompt.report_id)
            if report is None or report.review_chat_id != prompt.chat_id:
                raise TipNotFound(reference="?")
            original = await reports.by_reference(conn, original_ref.strip().upper())
            if original is None or original.id == report.id:
                raise BadOriginal(reference=original_ref.strip()[:20])
            outcome = await self._move(
                conn,
                report,
                actor,
                Action.DUPLICATE,
                now=now,
                duplicate_of=original.id,
                audit_details={"original": original.reference},
            )
            await self._enqueue_card(conn, original, now)  # it now lists this repeat
        self._on_outbox()
        return outcome

    async def note(self, reference: str, chat_id: int, actor: Actor, text: str) -> ReportRecord:
        """An internal note: sealed with the tip, shown to reviewers, never to the tipster."""
        cleaned = text.strip()
        if not cleaned:
            raise TextMissing()
        if len(cleaned) > MAX_NOTE_CHARS:
            raise TextTooLongForStaff(limit=MAX_NOTE_CHARS)
        now = self._now()
        async with self._db.transaction() as conn:
            report = await self._load(conn, reference, chat_id)
            key = self.key_for(report)
            await review_repo.add_event(
                conn,
                report_id=report.id,
                at=now,
                actor_id=actor.user_id,
                action="note",
                sealed_text=key.seal_text("event", cleaned),
            )
            await self._audit.append(
                conn, at=now, actor_id=actor.user_id, action="note", report_ref=report.reference
            )
        return report

    async def history(self, reference: str, chat_id: int) -> TipHistory:
        async with self._db.read() as conn:
            report = await self._load(conn, reference, chat_id)
            events = await review_repo.events(conn, report.id)
        key = self.key_for(report)
        return TipHistory(report, [self._entry(key, event) for event in events])

    @staticmethod
    def _entry(key: DataKey, event: EventRecord) -> HistoryEntry:
        text = key.open_text("event", event.sealed_text) if event.sealed_text else None
        return HistoryEntry(event.at, event.actor_id, event.action, event.to_status, text)

    async def queue(self, chat_id: int) -> list[ReportRecord]:
        async with self._db.read() as conn:
            return await reports.list_by_status(conn, [s.value for s in OPEN], chat_id)

    async def search(self, chat_id: int, words: str) -> list[ReportRecord]:
        """Tips of this chat whose text contains every word (decrypted in memory)."""
        terms = [w.casefold() for w in words.split() if w]
        if not terms:
            raise TextMissing()
        async with self._db.read() as conn:
            recent = await reports.list_recent(conn, chat_id, self._policy.review.search_limit)
            found: list[ReportRecord] = []
            for report in recent:
                key = self.key_for(report)
                texts = [report.reference, report.alias]
                for item in await drafts.items(conn, report.uid):
                    payload = item_payload(key, item.sealed)
                    if payload["kind"] == ItemKind.TEXT:
                        texts.append(payload["text"])
                if report.sealed_area is not None:
                    texts.append(key.open_text("area", report.sealed_area))
                haystack = "\n".join(texts).casefold()
                if all(term in haystack for term in terms):
                    found.append(report)
        return found

    # ----- the tipster's side of a question ---------------------------------------------------

    def _owner(self, user_id: int) -> bytes:
        return self._vault.pseudonym("draft", user_id)

    async def start_answer(self, user_id: int, token: str) -> AnswerStarted:
        """The tipster pressed Reply: open their answer window for that question."""
        now = self._now()
        window = self._policy.review.answer_window_minutes * 60
        async with self._db.transaction() as conn:
            question = await review_repo.question_by_token(conn, self._vault.token_hash(token))
            report = await reports.by_id(conn, question.report_id) if question else None
            if question is None or report is None or ReportStatus(report.status) not in OPEN:
                raise AnswerClosed()
            await review_repo.open_session(conn, self._owner(user_id), question.id, now + window)
        return AnswerStarted(report.reference, report.language)

    async def answering(self, user_id: int) -> bool:
        async with self._db.read() as conn:
            return await review_repo.session(conn, self._owner(user_id), self._now()) is not None

    async def purge_expired_sessions(self) -> None:
        async with self._db.transaction() as conn:
            await review_repo.purge_sessions(conn, self._now())

    async def end_answer(self, user_id: int) -> bool:
        async with self._db.transaction() as conn:
            return await review_repo.close_session(conn, self._owner(user_id))

    async def add_answer(self, user_id: int, item: PreparedItem) -> str:
        """Seal one answer message into the tip and queue its post to the review chat."""
        owner = self._owner(user_id)
        now = self._now()
        async with self._db.read() as conn:
            question_id = await review_repo.session(conn, owner, now)
            question = await review_repo.question_by_id(conn, question_id) if question_id else None
            report = await reports.by_id(conn, question.report_id) if question else None
        if question is None or report is None:
            raise AnswerClosed()
        key = self.key_for(report)
        blob_name: str | None = None
        if item.blob is not None:
            blob_name = self._blobs.new_name()
            await self._blobs.put(blob_name, key.seal(f"blob:{blob_name}", item.blob))
        payload = {**item.payload, "answer_to": question.id}
        try:
            async with self._db.transaction() as conn:
                current = await reports.by_id(conn, report.id)
                if current is None or ReportStatus(current.status) not in OPEN:
                    raise AnswerClosed()
                position = await drafts.add_item(
                    conn, report.uid, key.seal("item", json.dumps(payload).encode()), blob_name
                )
                await review_repo.mark_answered(conn, question.id, now)
                await review_repo.add_event(
                    conn, report_id=report.id, at=now, actor_id=TIPSTER_ACTOR, action="answer"
                )
                if current.status == ReportStatus.AWAITING_TIPSTER:
                    await reports.move(
                        conn,
                        report.id,
                        expected=ReportStatus.AWAITING_TIPSTER.value,
                        status=ReportStatus.IN_REVIEW.value,
                        holder_id=current.holder_id,
                        now=now,
                        duplicate_of=current.duplicate_of,
                    )
                    refreshed = await reports.by_id(conn, report.id)
                    assert refreshed is not None
                    await self._enqueue_card(conn, refreshed, now)
                await outbox_repo.enqueue(
                    conn,
                    target="staff",
                    kind="answer_posted",
                    report_id=report.id,
                    chat_id=report.review_chat_id,
                    now=now,
                    not_before=now,
                    sealed_payload=key.seal("outbox", json.dumps({"position": position}).encode()),
                )
        except BaseException:
            if blob_name is not None:
                await self._blobs.delete(blob_name)
            raise
        self._on_outbox()
        return report.reference

"""The review desk: claim, ask the tipster, relay answers, decide, reopen, close, notes.

Every move is one transaction: a compare-and-set on the report's status (the first of two
racing reviewers wins), a history event, an audit row, and the outbox rows it causes (the
card in the review chat is refreshed; the tipster hears what they should, in their language).

A tip whose post is still held back by its random delay does not exist for the desk yet
(/tip, /queue, /search, /note, /repost do not know it), and an answer still held back is not
searched: otherwise asking again and again would tell reviewers when the tipster wrote. A
question is relayed with its links and mentions made inert (bot.domain.inert).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from bot.crypto.vault import DataKey
from bot.domain.errors import (
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
from bot.domain.inert import make_inert
from bot.domain.items import ItemKind
from bot.domain.outbox import AnswerPosted, OutboxKind, TipPosted, TipsterNotice, TipsterQuestion
from bot.domain.prompts import PromptKind
from bot.domain.report import (
    OPEN,
    TARGET,
    Action,
    ReportStatus,
    allowed_actions,
    needs_holder,
)
from bot.domain.schedule import ScheduleKind
from bot.domain.staff import Actor
from bot.services.base import UseCases
from bot.services.intake import item_payload
from bot.services.moves import move_report
from storage import drafts, outbox, reports, schedules
from storage import review as review_repo
from storage.db import Connection
from storage.records import EventRecord, PromptRecord, ReportRecord

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


async def consume_prompt(conn: Connection, prompt: PromptRecord) -> None:
    """Close the prompt in the transaction that applies its reply, so a crash can never close
    it without the effect (or apply the effect and leave it open)."""
    if not await review_repo.delete_prompt(conn, prompt.chat_id, prompt.message_id):
        raise PromptAnswered()


@dataclass(frozen=True)
class Outcome:
    report: ReportRecord
    previous: ReportStatus
    relayed: str | None = None  # a question as the tipster sees it, when links were made inert


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


class ReviewService(UseCases):
    """The review chat's use cases."""

    def key_for(self, report: ReportRecord) -> DataKey:
        return self._notify.key(report)

    async def _load(self, conn: Connection, reference: str, chat_id: int) -> ReportRecord:
        """The report with this reference that belongs to this review chat and has been
        posted there (a tip still held back by its delay is not found)."""
        report = await reports.by_reference(conn, reference.strip().upper())
        if report is None or report.review_chat_id != chat_id:
            raise TipNotFound(reference=reference)
        if await self._held_back(conn, [report]):
            raise TipNotFound(reference=reference)
        return report

    async def _held_back(self, conn: Connection, found: list[ReportRecord]) -> set[int]:
        """Which of these tips are still waiting for their post's random delay to pass."""
        waiting = [r.id for r in found if r.review_message_id is None]
        return await outbox.held_back(conn, TipPosted.kind, waiting, self.now())

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

    async def _move(
        self,
        conn: Connection,
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
        updated = await move_report(
            conn,
            report,
            target,
            holder_id=holder,
            now=now,
            duplicate_of=duplicate_of if action is Action.DUPLICATE else report.duplicate_of,
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
        await self._notify.card(conn, updated, now)
        if target in NOTIFY_TIPSTER:
            await self._notify.to_tipster(conn, updated, TipsterNotice(status=target.value), now)
        if target is ReportStatus.VERIFIED:
            rewards = self._policy.rewards
            days = max(0, rewards.notify_within_working_days - rewards.nudge_working_days_before)
            await schedules.add(
                conn,
                kind=ScheduleKind.REWARD_NUDGE,
                due_at=self._local.add_working_days(now, days),
                report_id=report.id,
            )
        return Outcome(updated, current)

    async def act(self, reference: str, chat_id: int, actor: Actor, action: Action) -> Outcome:
        """Claim, verify, mark unfounded or spam, reopen or close a tip."""
        if action in (Action.ASK, Action.DUPLICATE):
            raise NotNow(reference=reference, status="")
        now = self.now()
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
        kind: PromptKind,
        report: ReportRecord,
        actor: Actor,
        payload: str | None = None,
    ) -> None:
        """Remember a bot message whose reply carries input (a question, a reason, ...)."""
        async with self._db.transaction() as conn:
            await review_repo.add_prompt(
                conn,
                PromptRecord(
                    chat_id, message_id, kind, report.id, actor.user_id, self.now(), payload
                ),
            )

    async def find_prompt(self, chat_id: int, message_id: int) -> PromptRecord | None:
        """The open prompt a reply answers. It stays open until the reply's effect commits."""
        async with self._db.read() as conn:
            return await review_repo.get_prompt(conn, chat_id, message_id)

    async def ask(self, prompt: PromptRecord, actor: Actor, question: str) -> Outcome:
        """Relay a question to the tipster (a Reply button carries a one-use random token),
        with its links and mentions made inert; the history keeps it as written."""
        text = " ".join(question.split()) if "\n" not in question else question.strip()
        if not text:
            raise TextMissing()
        if len(text) > MAX_QUESTION_CHARS:
            raise TextTooLongForStaff(limit=MAX_QUESTION_CHARS)
        relayed = make_inert(text)
        token = secrets.token_urlsafe(16)
        now = self.now()
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
                kind=ScheduleKind.AWAITING_TIMEOUT,
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
            await self._notify.to_tipster(
                conn, report, TipsterQuestion(question=relayed, token=token, id=question_id), now
            )
        self._on_outbox()
        return Outcome(outcome.report, outcome.previous, relayed if relayed != text else None)

    async def mark_duplicate(
        self, prompt: PromptRecord, actor: Actor, original_ref: str
    ) -> Outcome:
        """Link a tip to the original it repeats; the tipster hears only "already known"."""
        now = self.now()
        async with self._db.transaction() as conn:
            await consume_prompt(conn, prompt)
            report = await reports.by_id(conn, prompt.report_id)
            if report is None or report.review_chat_id != prompt.chat_id:
                raise TipNotFound(reference="?")
            original = await reports.by_reference(conn, original_ref.strip().upper())
            # Another review group's tip is not this group's to see, nor to link to: naming
            # one must not refresh that group's card or confirm that the reference exists.
            if (
                original is None
                or original.id == report.id
                or original.review_chat_id != report.review_chat_id
            ):
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
            await self._notify.card(conn, original, now)  # it now lists this repeat
        self._on_outbox()
        return outcome

    async def note(self, reference: str, chat_id: int, actor: Actor, text: str) -> ReportRecord:
        """An internal note: sealed with the tip, shown to reviewers, never to the tipster."""
        cleaned = text.strip()
        if not cleaned:
            raise TextMissing()
        if len(cleaned) > MAX_NOTE_CHARS:
            raise TextTooLongForStaff(limit=MAX_NOTE_CHARS)
        now = self.now()
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

    async def repost(self, reference: str, chat_id: int, actor: Actor) -> ReportRecord:
        """Post a tip again (its post was set aside, or deleted from the chat): a new card with
        its parts, then each answer the tipster gave, under it; the old card, if any, stops
        being refreshed."""
        now = self.now()
        async with self._db.transaction() as conn:
            report = await self._load(conn, reference, chat_id)
            key = self.key_for(report)  # a shredded tip has nothing left to post
            await reports.forget_review_message(conn, report.id)
            await review_repo.add_event(
                conn, report_id=report.id, at=now, actor_id=actor.user_id, action="repost"
            )
            await self._audit.append(
                conn, at=now, actor_id=actor.user_id, action="repost", report_ref=report.reference
            )
            await self._notify.post_tip(conn, report, now, not_before=now)
            # Answers still held back are queued again with the rest, under the new card, and
            # none is shown before the last of them was due.
            held = await schedules.pending_for_reports(conn, ScheduleKind.ANSWER_SHOWN)
            due = max(now, held.get(report.id, now))
            await outbox.drop_pending(conn, report.id, OutboxKind.ANSWER_POSTED, now)
            for item in await drafts.items(conn, report.uid):
                if "answer_to" in item_payload(key, item.sealed):
                    answer = AnswerPosted(position=item.position)
                    await self._notify.to_staff(
                        conn, report, report.review_chat_id, answer, now, not_before=due
                    )
        self._on_outbox()
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
            found = await reports.list_by_status(conn, [s.value for s in OPEN], chat_id)
            held = await self._held_back(conn, found)
        return [report for report in found if report.id not in held]

    async def search(self, chat_id: int, words: str) -> list[ReportRecord]:
        """Tips of this chat whose text (and answers) contain every word (decrypted in
        memory)."""
        terms = [w.casefold() for w in words.split() if w]
        if not terms:
            raise TextMissing()
        async with self._db.read() as conn:
            recent = await reports.list_recent(conn, chat_id, self._policy.review.search_limit)
            held = await self._held_back(conn, recent)
            answering = await schedules.pending_for_reports(conn, ScheduleKind.ANSWER_SHOWN)
            found: list[ReportRecord] = []
            for report in recent:
                if report.id in held:
                    continue
                key = self.key_for(report)
                texts = [report.reference, report.alias]
                for item in await drafts.items(conn, report.uid):
                    payload = item_payload(key, item.sealed)
                    if payload["kind"] != ItemKind.TEXT:
                        continue
                    if "answer_to" in payload and report.id in answering:
                        continue  # an answer (maybe this one) is still held back
                    texts.append(payload["text"])
                if report.sealed_area is not None:
                    texts.append(key.open_text("area", report.sealed_area))
                haystack = "\n".join(texts).casefold()
                if all(term in haystack for term in terms):
                    found.append(report)
        return found

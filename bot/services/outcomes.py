"""The outcome of a verified tip: the police case, arrests, seizures and a sealed note.

Recording and correcting are one use case: the row is replaced, the new version goes into the
tip's history (sealed, like every history text) and the audit chain (the figures; never the
note), and the cards of the tip and of every tip linked to its case (old and new) are
refreshed. Tips with the same case number are linked: the desk shows the others, and the
reward scheme allows one reward per case across them.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.crypto.vault import DataKey
from bot.domain.errors import CaseAlreadyRewarded, HeldByOther, OutcomeNotVerified, TipNotFound
from bot.domain.outcome import (
    OutcomeEntry,
    Seizure,
    format_grams,
    heroin_equivalent_mg,
    parse_outcome,
    suggested_tier,
)
from bot.domain.policy import Tier
from bot.domain.report import ReportStatus
from bot.domain.staff import Actor
from bot.services.base import UseCases
from bot.services.review import consume_prompt
from bot.services.reward_book import active_reward
from storage import outcomes as outcomes_repo
from storage import reports
from storage import review as review_repo
from storage.db import Connection
from storage.records import OutcomeRecord, PromptRecord, ReportRecord


@dataclass(frozen=True)
class OutcomeView:
    """What the desk shows of a tip's outcome (the note only to its own review chat)."""

    case_number: str
    arrested: int
    seizures: tuple[Seizure, ...]
    heroin_eq_mg: int
    note: str
    linked: tuple[str, ...]  # references of the case's other tips in the same review chat


@dataclass(frozen=True)
class Recorded:
    report: ReportRecord
    view: OutcomeView
    corrected: bool


def summary_line(entry: OutcomeEntry) -> str:
    """The outcome as the reviewer might have written it, for the tip's history."""
    parts = [f"case {entry.case_number}", f"arrested {entry.arrested}"]
    parts += [f"{s.drug} {format_grams(s.milligrams)}" for s in entry.seizures]
    if entry.note:
        parts.append(f"note: {entry.note}")
    return "; ".join(parts)


async def linked_references(
    conn: Connection, case_number: str, report: ReportRecord
) -> tuple[str, ...]:
    """The case's other tips that this review chat may see."""
    others = await outcomes_repo.same_case(conn, case_number, report.id)
    return tuple(ref for _, ref, chat in others if chat == report.review_chat_id)


class OutcomeService(UseCases):
    """Record, correct and read a verified tip's outcome."""

    def parse(self, text: str) -> OutcomeEntry:
        return parse_outcome(text, self._policy.outcomes.drugs)

    def _checked(
        self, report: ReportRecord | None, reference: str, chat_id: int, actor: Actor
    ) -> ReportRecord:
        """The report, when it is this chat's, verified, and the actor may record its outcome."""
        if report is None or report.review_chat_id != chat_id:
            raise TipNotFound(reference=reference)
        verified = report.status == ReportStatus.VERIFIED or (
            report.status == ReportStatus.CLOSED and report.verified_at is not None
        )
        if not verified:
            raise OutcomeNotVerified(reference=report.reference)
        if report.holder_id not in (None, actor.user_id) and not actor.is_admin:
            raise HeldByOther(reference=report.reference, holder_id=report.holder_id)
        return report

    async def check(self, reference: str, chat_id: int, actor: Actor) -> ReportRecord:
        """May this actor record the outcome of this tip now (before asking for it)?"""
        async with self._db.read() as conn:
            report = await reports.by_reference(conn, reference.strip().upper())
        return self._checked(report, reference, chat_id, actor)

    async def record(self, reference: str, chat_id: int, actor: Actor, text: str) -> Recorded:
        """Record the outcome of a verified tip of this chat, or correct it (/outcome)."""
        return await self._record(reference, chat_id, actor, text, None)

    async def record_reply(self, prompt: PromptRecord, actor: Actor, text: str) -> Recorded:
        """The outcome given as a reply to the Outcome button's prompt, which it closes."""
        return await self._record("?", prompt.chat_id, actor, text, prompt)

    async def _record(
        self,
        reference: str,
        chat_id: int,
        actor: Actor,
        text: str,
        prompt: PromptRecord | None,
    ) -> Recorded:
        entry = self.parse(text)
        heroin = heroin_equivalent_mg(entry.seizures, self._policy.outcomes.drugs)
        now = self.now()
        async with self._db.transaction() as conn:
            if prompt is not None:
                await consume_prompt(conn, prompt)
                found = await reports.by_id(conn, prompt.report_id)
            else:
                found = await reports.by_reference(conn, reference.strip().upper())
            report = self._checked(found, reference, chat_id, actor)
            previous = await outcomes_repo.for_report(conn, report.id)
            if await active_reward(conn, report.id) is not None:
                # One reward per case: a rewarded tip joins no case that has another reward.
                for other_id, other_ref, chat in await outcomes_repo.same_case(
                    conn, entry.case_number, report.id
                ):
                    if await active_reward(conn, other_id) is not None:
                        raise CaseAlreadyRewarded(
                            reference=report.reference,
                            case=entry.case_number,
                            other=other_ref if chat == report.review_chat_id else "—",
                        )
            key = self._notify.key(report)
            await outcomes_repo.put(
                conn,
                OutcomeRecord(
                    report_id=report.id,
                    case_number=entry.case_number,
                    arrested=entry.arrested,
                    seizures=tuple((s.drug, s.milligrams) for s in entry.seizures),
                    heroin_eq_mg=heroin,
                    sealed_note=key.seal_text("outcome_note", entry.note) if entry.note else None,
                    recorded_by=actor.user_id,
                    recorded_at=now,
                ),
            )
            action = "outcome_corrected" if previous else "outcome"
            await review_repo.add_event(
                conn,
                report_id=report.id,
                at=now,
                actor_id=actor.user_id,
                action=action,
                sealed_text=key.seal_text("event", summary_line(entry)),
            )
            details: dict[str, object] = {
                "case": entry.case_number,
                "arrested": entry.arrested,
                "seizures_mg": {s.drug: s.milligrams for s in entry.seizures},
                "heroin_eq_mg": heroin,
                "note": bool(entry.note),
            }
            if previous is not None:
                details["previous_case"] = previous.case_number
            await self._audit.append(
                conn,
                at=now,
                actor_id=actor.user_id,
                action=action,
                report_ref=report.reference,
                details=details,
            )
            await self._notify.card(conn, report, now)
            cases = {entry.case_number, previous.case_number if previous else entry.case_number}
            for case in cases:
                for other_id, _, chat in await outcomes_repo.same_case(conn, case, report.id):
                    other = await reports.by_id(conn, other_id)
                    if other is not None and chat == report.review_chat_id:
                        await self._notify.card(conn, other, now)
            linked = await linked_references(conn, entry.case_number, report)
        self._on_outbox()
        view = OutcomeView(
            entry.case_number, entry.arrested, entry.seizures, heroin, entry.note, linked
        )
        return Recorded(report, view, previous is not None)

    async def view(self, report: ReportRecord) -> OutcomeView | None:
        """The tip's outcome as its review chat sees it; None when none is recorded."""
        async with self._db.read() as conn:
            key = self._notify.key(report) if report.wrapped_key is not None else None
            return await outcome_view(conn, report, key)

    async def suggestion(self, report: ReportRecord) -> Tier | None:
        """The reward tier the tip's recorded seizure falls in, if any."""
        async with self._db.read() as conn:
            outcome = await outcomes_repo.for_report(conn, report.id)
        if outcome is None:
            return None
        return suggested_tier(self._policy.rewards.tiers, outcome.heroin_eq_mg)


async def outcome_view(
    conn: Connection, report: ReportRecord, key: DataKey | None
) -> OutcomeView | None:
    """Read a tip's outcome; `key` (the tip's DataKey, None once shredded) opens the note."""
    outcome = await outcomes_repo.for_report(conn, report.id)
    if outcome is None:
        return None
    note = ""
    if outcome.sealed_note is not None and key is not None:
        note = key.open_text("outcome_note", outcome.sealed_note)
    return OutcomeView(
        outcome.case_number,
        outcome.arrested,
        tuple(Seizure(drug, mg) for drug, mg in outcome.seizures),
        outcome.heroin_eq_mg,
        note,
        await linked_references(conn, outcome.case_number, report),
    )

"""The tipster's side of a reviewers' question: the answer window and the answers.

A question's Reply button carries a one-use token; pressing it opens an answer window for
the tipster (found only by a keyed pseudonym of their user id, under an hourly window key kept
as long as a session can last). Each message sent while it is open is sealed into the tip and
posted under its card as the bot's own copy, after a random delay like the tip's own post
([review] post_delay_max_seconds), so that its arrival in the review chat does not tell when
the tipster wrote it. What else reviewers can see of an answer (the history's "answered", the
tip back in review, its card) happens when the answer is shown, not before: `show_answer`,
run by the schedule that falls due then.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.errors import AnswerClosed
from bot.domain.items import PreparedItem
from bot.domain.outbox import AnswerPosted
from bot.domain.report import OPEN, ReportStatus
from bot.domain.schedule import ScheduleKind
from bot.domain.timing import coarse, post_delay
from bot.services.base import ANSWER_WINDOW, UseCases
from bot.services.moves import move_report
from bot.services.notifier import Notifier
from storage import drafts, reports, schedules
from storage import review as review_repo
from storage.db import Connection
from storage.records import ReportRecord

TIPSTER_ACTOR = 0  # events caused by the tipster carry no id at all


async def show_answer(
    conn: Connection, notify: Notifier, report: ReportRecord, now: int
) -> ReportRecord:
    """What reviewers see of an answer once it is shown: "answered" in the tip's history (the
    hour only), a tip that was waiting for the tipster back in review, its card refreshed."""
    at = coarse(now)
    await review_repo.add_event(
        conn, report_id=report.id, at=at, actor_id=TIPSTER_ACTOR, action="answer"
    )
    if report.status != ReportStatus.AWAITING_TIPSTER:
        return report
    moved = await move_report(
        conn,
        report,
        ReportStatus.IN_REVIEW,
        holder_id=report.holder_id,
        now=at,
        duplicate_of=report.duplicate_of,
    )
    await notify.card(conn, moved, at)
    return moved


@dataclass(frozen=True)
class AnswerStarted:
    reference: str
    language: str


class AnswerService(UseCases):
    """The tipster's use cases for answering a question."""

    async def _owners(self, user_id: int) -> list[bytes]:
        """The tipster's pseudonym under every live answer key, the newest first."""
        return await self._windows.pseudonyms(ANSWER_WINDOW, user_id)

    async def start_answer(self, user_id: int, token: str) -> AnswerStarted:
        """The tipster pressed Reply: open their answer window for that question."""
        now = self.now()
        window = self._policy.review.answer_window_minutes * 60
        owner = (await self._windows.current(ANSWER_WINDOW)).pseudonym(user_id)
        older = [other for other in await self._owners(user_id) if other != owner]
        async with self._db.transaction() as conn:
            question = await review_repo.question_by_token(conn, self._vault.token_hash(token))
            report = await reports.by_id(conn, question.report_id) if question else None
            if question is None or report is None or ReportStatus(report.status) not in OPEN:
                raise AnswerClosed()
            await review_repo.close_session(conn, older)
            await review_repo.open_session(conn, owner, question.id, now + window)
        return AnswerStarted(report.reference, report.language)

    async def answering(self, user_id: int) -> bool:
        owners = await self._owners(user_id)
        if not owners:
            return False  # no answer key is live, so no session is open
        async with self._db.read() as conn:
            return await review_repo.session(conn, owners, self.now()) is not None

    async def purge_expired_sessions(self) -> None:
        async with self._db.transaction() as conn:
            await review_repo.purge_sessions(conn, self.now())

    async def end_answer(self, user_id: int) -> bool:
        owners = await self._owners(user_id)
        async with self._db.transaction() as conn:
            return await review_repo.close_session(conn, owners)

    async def add_answers(self, user_id: int, items: Sequence[PreparedItem]) -> str:
        """Seal the parts of one answer message (a photo and its caption, say) into the tip
        and queue their posts to the review chat after the random delay, in one transaction;
        the rest of what reviewers see of it waits for the same moment."""
        owners = await self._owners(user_id)
        now = self.now()
        at = coarse(now)  # all that is kept of when the tipster answered
        shown = now + post_delay(self._policy.review.post_delay_max_seconds)
        async with self._db.read() as conn:
            question_id = await review_repo.session(conn, owners, now)
            question = await review_repo.question_by_id(conn, question_id) if question_id else None
            report = await reports.by_id(conn, question.report_id) if question else None
        if question is None or report is None:
            raise AnswerClosed()
        key = self._notify.key(report)
        names: list[str | None] = []
        try:
            for item in items:
                name = self._blobs.new_name() if item.blob is not None else None
                if name is not None and item.blob is not None:
                    await self._blobs.put(name, key.seal(f"blob:{name}", item.blob))
                names.append(name)
            async with self._db.transaction() as conn:
                current = await reports.by_id(conn, report.id)
                if current is None or ReportStatus(current.status) not in OPEN:
                    raise AnswerClosed()
                await review_repo.mark_answered(conn, question.id, at)
                for item, name in zip(items, names, strict=True):
                    payload = {**item.payload, "answer_to": question.id}
                    position = await drafts.add_item(
                        conn, report.uid, key.seal("item", json.dumps(payload).encode()), name
                    )
                    await self._notify.to_staff(
                        conn,
                        current,
                        report.review_chat_id,
                        AnswerPosted(position=position),
                        at,
                        not_before=shown,
                    )
                if shown <= now:
                    await show_answer(conn, self._notify, current, now)
                else:
                    await schedules.add(
                        conn, kind=ScheduleKind.ANSWER_SHOWN, due_at=shown, report_id=report.id
                    )
        except BaseException:
            for written in names:
                if written is not None:
                    await self._blobs.delete(written)
            raise
        self._on_outbox()
        return report.reference

"""Review rules against a real SQLite file: permissions, first-wins, notices, audit chain."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.crypto.vault import KeyRing, Vault, new_master_key_text
from bot.domain.errors import (
    AnswerClosed,
    BadOriginal,
    HeldByOther,
    NoContact,
    NotNow,
    PromptAnswered,
    RaceLost,
    TipNotFound,
)
from bot.domain.items import IncomingAttachment, ItemKind, prepare_text
from bot.domain.policy import load as load_policy
from bot.domain.report import (
    DECIDED,
    TARGET,
    TRANSITIONS,
    Action,
    ReportStatus,
    allowed_actions,
)
from bot.domain.staff import Actor
from bot.services.answers import AnswerService
from bot.services.audit import AuditLog
from bot.services.intake import prepare_attachment
from bot.services.review import ReviewService
from storage import reports
from storage.blobs import BlobStore
from storage.db import Database
from tests.images import jpeg_with_gps
from tests.services import InProcessCleaner, TipsterSide, service_env

CHAT = -1001
ANNA, BOB, ADMIN = Actor(11), Actor(22), Actor(33, is_admin=True)


@given(st.sampled_from(list(ReportStatus)))
def test_every_offered_action_is_a_legal_transition(status: ReportStatus) -> None:
    for action in allowed_actions(status):
        assert TARGET[action] in TRANSITIONS[status]


def test_decisions_can_be_reopened_and_closed_is_final() -> None:
    for status in DECIDED:
        assert allowed_actions(status) == [Action.REOPEN, Action.CLOSE]
    assert allowed_actions(ReportStatus.CLOSED) == []
    assert Action.CLAIM in allowed_actions(ReportStatus.NEW)
    assert Action.VERIFY not in allowed_actions(ReportStatus.NEW)


class Clock:
    now = 1_795_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def desk(tmp_path, database_url):
    db = await Database.open(tmp_path, database_url)
    await db.migrate()
    blobs = BlobStore(tmp_path / "blobs")
    blobs.ensure()
    vault = Vault(KeyRing.from_texts([new_master_key_text()]))
    policy = load_policy(None, {"review": {"post_delay_max_seconds": 0}})
    clock = Clock()
    env = service_env(db, vault, blobs, policy, review_chat_id=CHAT, clock=clock)
    intake = TipsterSide(env)
    audit = AuditLog(vault)
    review = ReviewService(env)
    yield intake, review, db, audit, vault, env
    await db.close()


async def _tip(intake: TipsterSide, user: int, contact: bool = True) -> str:
    await intake.start(user, "en")
    await intake.choose_category(user, "other")
    await intake.choose_area(user, area_key=None, typed=None)
    await intake.add_text(user, "a tip")
    await intake.review(user)
    if not contact:
        await intake.set_contact(user, False)
    return (await intake.submit(user, user)).reference


async def _outbox(db: Database) -> list[tuple[str, str]]:
    async with db.read() as conn:
        cursor_rows = await conn.fetch_all("SELECT target, kind FROM outbox ORDER BY id")
        return [(row[0], row[1]) for row in cursor_rows]


async def _set_card(db: Database, ref: str) -> None:
    async with db.transaction() as conn:
        report = await reports.by_reference(conn, ref)
        await reports.set_review_message(conn, report.id, 500)


async def test_claimed_work_belongs_to_its_holder_or_an_admin(desk) -> None:
    intake, review, *_ = desk
    ref = await _tip(intake, 1)
    await review.act(ref, CHAT, ANNA, Action.CLAIM)
    with pytest.raises(RaceLost):
        await review.act(ref, CHAT, BOB, Action.CLAIM)
    with pytest.raises(HeldByOther):
        await review.act(ref, CHAT, BOB, Action.VERIFY)
    outcome = await review.act(ref, CHAT, ADMIN, Action.UNFOUNDED)
    assert outcome.report.status == ReportStatus.UNFOUNDED
    assert outcome.report.holder_id == ANNA.user_id
    with pytest.raises(HeldByOther):
        await review.act(ref, CHAT, BOB, Action.REOPEN)
    reopened = await review.act(ref, CHAT, ADMIN, Action.REOPEN)
    assert reopened.report.holder_id == ADMIN.user_id


async def test_stale_and_foreign_requests_change_nothing(desk) -> None:
    intake, review, *_ = desk
    ref = await _tip(intake, 1)
    with pytest.raises(NotNow):
        await review.act(ref, CHAT, ANNA, Action.VERIFY)
    with pytest.raises(TipNotFound):
        await review.act(ref, -999, ANNA, Action.CLAIM)
    with pytest.raises(TipNotFound):
        await review.act("T-2000-0001", CHAT, ANNA, Action.CLAIM)
    assert (await review.find(ref, CHAT)).status == ReportStatus.NEW


async def test_moves_notify_the_tipster_and_refresh_the_card(desk) -> None:
    intake, review, db, *_ = desk
    ref = await _tip(intake, 1)
    await _set_card(db, ref)
    await review.act(ref, CHAT, ANNA, Action.CLAIM)
    await review.act(ref, CHAT, ANNA, Action.SPAM)
    kinds = await _outbox(db)
    assert kinds == [
        ("staff", "tip_posted"),
        ("tipster", "receipt"),
        ("staff", "card_refresh"),
        ("tipster", "tipster_notice"),
        ("staff", "card_refresh"),
    ], "spam is not news to the tipster"


async def test_questions_need_contact_and_answers_reopen_review(desk, tmp_path) -> None:
    intake, review, db, *_, env = desk
    answers = AnswerService(env)
    silent = await _tip(intake, 1, contact=False)
    await review.act(silent, CHAT, ANNA, Action.CLAIM)
    with pytest.raises(NoContact):
        await review.prepare(silent, CHAT, ANNA, Action.ASK)

    ref = await _tip(intake, 2)
    await review.act(ref, CHAT, ANNA, Action.CLAIM)
    report = await review.prepare(ref, CHAT, ANNA, Action.ASK)
    await review.remember_prompt(CHAT, 77, Action.ASK.value, report, ANNA)
    prompt = await review.find_prompt(CHAT, 77)
    assert prompt is not None
    await review.ask(prompt, ANNA, "When?")
    async with db.read() as conn:
        cursor_rows = await conn.fetch_all(
            "SELECT sealed_payload FROM outbox WHERE kind = 'tipster_question'"
        )
        sealed = bytes(cursor_rows[0][0])
    token = json.loads(review.key_for(report).open("outbox", sealed))["token"]
    with pytest.raises(AnswerClosed):
        await answers.start_answer(2, "not-the-token")
    await answers.start_answer(2, token)
    assert await answers.answering(2)
    assert not await answers.answering(3)
    await answers.add_answers(2, [prepare_text(intake.policy, "At nine")])
    assert (await review.find(ref, CHAT)).status == ReportStatus.IN_REVIEW
    await review.act(ref, CHAT, ANNA, Action.VERIFY)
    with pytest.raises(AnswerClosed):
        await answers.add_answers(2, [prepare_text(intake.policy, "more")])


async def test_audit_chain_verifies_and_catches_edits(desk) -> None:
    intake, review, db, audit, *_ = desk
    ref = await _tip(intake, 1)
    await review.act(ref, CHAT, ANNA, Action.CLAIM)
    await review.note(ref, CHAT, ANNA, "internal")
    await review.act(ref, CHAT, ANNA, Action.VERIFY)
    report = await audit.verify(db)
    assert report.intact and report.rows == 3
    async with db.transaction() as conn:
        await conn.run("UPDATE audit SET actor_id = 99 WHERE id = 2")
    broken = await audit.verify(db)
    assert broken.broken_at == 2 and not broken.intact
    async with db.read() as conn:
        cursor_rows = await conn.fetch_all("SELECT details FROM audit")
        details = " ".join(row[0] for row in cursor_rows)
    assert "internal" not in details and "a tip" not in details


async def test_a_prompt_closes_only_with_the_effect_of_its_reply(desk) -> None:
    """The reply's effect and the prompt's closing share one commit: a refused reply (rolled
    back) leaves the prompt open for another try; an applied one closes it for good."""
    intake, review, *_ = desk
    ref = await _tip(intake, 1)
    other = await _tip(intake, 2)
    await review.act(ref, CHAT, ANNA, Action.CLAIM)
    report = await review.find(ref, CHAT)
    await review.remember_prompt(CHAT, 88, Action.DUPLICATE.value, report, ANNA)
    prompt = await review.find_prompt(CHAT, 88)
    assert prompt is not None
    with pytest.raises(BadOriginal):
        await review.mark_duplicate(prompt, ANNA, "T-1999-9999")
    assert await review.find_prompt(CHAT, 88) == prompt, "refused: the prompt stays open"
    assert (await review.find(ref, CHAT)).status == ReportStatus.IN_REVIEW
    await review.mark_duplicate(prompt, ANNA, other)
    assert await review.find_prompt(CHAT, 88) is None
    with pytest.raises(PromptAnswered):
        await review.mark_duplicate(prompt, ANNA, other)
    assert (await review.find(ref, CHAT)).duplicate_of is not None


async def test_a_duplicate_links_only_to_a_tip_of_the_same_review_group(desk) -> None:
    """Each review group sees only its own tips: naming another group's tip as the original
    is refused like an unknown reference, and nothing is queued for the other group."""
    intake, review, db, *_ = desk
    ref = await _tip(intake, 1)
    elsewhere = await _tip(intake, 2)
    async with db.transaction() as conn:
        await conn.run(
            "UPDATE reports SET review_chat_id = ?, review_message_id = 5 WHERE reference = ?",
            (CHAT - 1, elsewhere),
        )
    await review.act(ref, CHAT, ANNA, Action.CLAIM)
    await review.remember_prompt(
        CHAT, 89, Action.DUPLICATE.value, await review.find(ref, CHAT), ANNA
    )
    prompt = await review.find_prompt(CHAT, 89)
    assert prompt is not None
    with pytest.raises(BadOriginal):
        await review.mark_duplicate(prompt, ANNA, elsewhere)
    assert (await review.find(ref, CHAT)).status == ReportStatus.IN_REVIEW
    async with db.read() as conn:
        cursor_rows = await conn.fetch_all(
            "SELECT COUNT(*) FROM outbox WHERE chat_id = ?", (CHAT - 1,)
        )
        assert cursor_rows[0][0] == 0


async def test_an_answer_and_its_caption_go_in_one_transaction(desk) -> None:
    """A photo answer with a caption is one message: both parts are sealed into the tip and
    both posts queued in one commit (with the tip's move back to review), or none."""
    intake, review, db, *_, env = desk
    answers = AnswerService(env)
    ref = await _tip(intake, 2)
    await review.act(ref, CHAT, ANNA, Action.CLAIM)
    report = await review.prepare(ref, CHAT, ANNA, Action.ASK)
    await review.remember_prompt(CHAT, 90, Action.ASK.value, report, ANNA)
    await review.ask(await review.find_prompt(CHAT, 90), ANNA, "Which car?")
    async with db.read() as conn:
        [(sealed,)] = await conn.fetch_all(
            "SELECT sealed_payload FROM outbox WHERE kind = 'tipster_question'"
        )
    token = json.loads(review.key_for(report).open("outbox", bytes(sealed)))["token"]
    await answers.start_answer(2, token)
    photo = await prepare_attachment(
        intake.policy, InProcessCleaner(), IncomingAttachment(ItemKind.PHOTO, jpeg_with_gps())
    )
    await answers.add_answers(2, [photo, prepare_text(intake.policy, "the grey one")])
    assert (await review.find(ref, CHAT)).status == ReportStatus.IN_REVIEW
    async with db.read() as conn:
        posted = await conn.fetch_all("SELECT COUNT(*) FROM outbox WHERE kind = 'answer_posted'")
        items = await conn.fetch_all(
            "SELECT COUNT(*), COUNT(blob_name) FROM items WHERE uid = ?", (report.uid,)
        )
    assert posted[0][0] == 2
    assert tuple(items[0]) == (3, 1), "the tip's text, then the photo and its caption"

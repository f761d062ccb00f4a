"""Reward rules against a real SQLite file: tiers, four eyes, budget, codes, schedules."""

from __future__ import annotations

import asyncio

import pytest

from bot.crypto.vault import KeyRing, Vault, new_master_key_text, open_with_receipt
from bot.domain.codes import normalize_claim_code
from bot.domain.errors import (
    AlreadyApproved,
    AlreadyRewarded,
    AmountOutOfRange,
    ApproverCannotPay,
    CaseWorkerCannotApprove,
    CodeRateLimited,
    CodeUnknown,
    IdNotChecked,
    JustificationMissing,
    NotVerified,
    NotYourPayout,
    OverBudget,
    ProposerCannotApprove,
)
from bot.domain.policy import load as load_policy
from bot.domain.report import Action
from bot.domain.staff import Actor
from bot.services.audit import AuditLog
from bot.services.jobs import Jobs
from bot.services.payouts import PayoutService
from bot.services.review import ReviewService
from bot.services.reward_book import RewardBook
from bot.services.rewards import RewardService
from storage import rewards as rewards_repo
from storage import schedules
from storage.blobs import BlobStore
from storage.db import Database
from tests.services import TipsterSide, service_env

CHAT, FINANCE = -1001, -1002
ANNA, CHEN, LI = Actor(11), Actor(21), Actor(22)
BO, WU = Actor(12, is_admin=True), Actor(23)
DAY = 86_400


class Clock:
    now = 1_795_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def scheme(tmp_path, database_url):
    db = await Database.open(tmp_path, database_url)
    await db.migrate()
    blobs = BlobStore(tmp_path / "blobs")
    blobs.ensure()
    vault = Vault(KeyRing.from_texts([new_master_key_text()]))
    policy = load_policy(
        None,
        {
            "review": {"post_delay_max_seconds": 0},
            "rewards": {"monthly_budget": 30000, "max_code_failures_per_hour": 2},
        },
    )
    clock = Clock()
    env = service_env(
        db, vault, blobs, policy, review_chat_id=CHAT, finance_chat_id=FINANCE, clock=clock
    )
    intake = TipsterSide(env)
    audit = AuditLog(vault)
    review = ReviewService(env)
    rewards = RewardService(env)
    payouts = PayoutService(env)
    yield intake, review, rewards, db, clock, audit, env, payouts
    await db.close()


async def _verified(intake, review, user: int) -> tuple[str, str]:
    await intake.start(user, "en")
    await intake.choose_category(user, "other")
    await intake.choose_area(user, area_key=None, typed=None)
    await intake.add_text(user, "tip")
    await intake.review(user)
    submission = await intake.submit(user, user)
    await review.act(submission.reference, CHAT, ANNA, Action.CLAIM)
    await review.act(submission.reference, CHAT, ANNA, Action.VERIFY)
    return submission.reference, submission.receipt


async def _propose(review, rewards, reference: str, tier: str, text: str):
    """Reply `text` to a fresh reward prompt (a prompt is answered once, then closed)."""
    report = await review.find(reference, CHAT)
    message_id = _next_message_id()
    await review.remember_prompt(CHAT, message_id, "reward", report, ANNA, payload=tier)
    return await rewards.propose(await review.find_prompt(CHAT, message_id), ANNA, text)


_message_ids = iter(range(1, 1_000_000))


def _next_message_id() -> int:
    return next(_message_ids)


async def test_proposal_text_parsing(scheme) -> None:
    _, _, rewards, *_ = scheme
    policy = rewards.policy.rewards
    assert rewards.parse_proposal(policy.tier("seized_lt_10g"), "Seized 8 g") == (
        30000,
        "Seized 8 g",
    )
    assert rewards.parse_proposal(policy.tier("seized_lt_10g"), "300 Seized") == (30000, "Seized")
    assert rewards.parse_proposal(policy.tier("factory"), "25000.5 Lab") == (2500050, "Lab")
    with pytest.raises(AmountOutOfRange):
        rewards.parse_proposal(policy.tier("factory"), "19999 too little")
    with pytest.raises(AmountOutOfRange):
        rewards.parse_proposal(policy.tier("factory"), "Lab without an amount")
    with pytest.raises(JustificationMissing):
        rewards.parse_proposal(policy.tier("factory"), "25000")
    assert rewards.parse_proposal(policy.tier("seized_over_100kg"), "900000 huge")[0] == 90000000


async def test_only_verified_tips_and_one_reward_per_case(scheme) -> None:
    intake, review, rewards, *_ = scheme
    await intake.start(1, "en")
    await intake.choose_category(1, "other")
    await intake.choose_area(1, area_key=None, typed=None)
    await intake.add_text(1, "tip")
    await intake.review(1)
    unverified = (await intake.submit(1, 1)).reference
    with pytest.raises(NotVerified):
        await rewards.check_proposable(unverified, CHAT, ANNA)
    reference, _ = await _verified(intake, review, 2)
    await _propose(review, rewards, reference, "seized_lt_10g", "why")
    with pytest.raises(AlreadyRewarded):
        await _propose(review, rewards, reference, "seized_lt_10g", "again")


async def test_four_eyes_and_threshold(scheme) -> None:
    intake, review, rewards, *_ = scheme
    small_ref, _ = await _verified(intake, review, 1)
    small = await _propose(review, rewards, small_ref, "seized_lt_10g", "why")
    with pytest.raises(ProposerCannotApprove):
        await rewards.approve(small.id, ANNA)
    outcome = await rewards.approve(small.id, CHEN)
    assert outcome.reward.status == "offered" and outcome.needed == 1

    big_ref, _ = await _verified(intake, review, 2)
    big = await _propose(review, rewards, big_ref, "production_lead", "20000 lab")
    first = await rewards.approve(big.id, CHEN)
    assert first.reward.status == "proposed" and first.needed == 2
    with pytest.raises(AlreadyApproved):
        await rewards.approve(big.id, CHEN)
    assert (await rewards.approve(big.id, LI)).reward.status == "offered"


async def test_four_eyes_are_people_not_accounts(scheme) -> None:
    """Whoever held or verified the tip never approves its reward; whoever approved never
    pays it; only the clerk who ran /paid carries the payout on. A refusal changes nothing."""
    intake, review, rewards, db, _, _, _, payouts = scheme
    # Anna holds the tip; Bo, an admin of the review chat, verifies it. Both are in finance.
    reference, receipt = await _claimed_and_verified(intake, review, 1, holder=ANNA, verifier=BO)
    report = await review.find(reference, CHAT)
    message_id = _next_message_id()
    await review.remember_prompt(CHAT, message_id, "reward", report, BO, payload="seized_lt_10g")
    reward = await rewards.propose(await review.find_prompt(CHAT, message_id), BO, "why")
    with pytest.raises(ProposerCannotApprove):
        await rewards.approve(reward.id, BO)  # proposed it (and verified it)
    with pytest.raises(CaseWorkerCannotApprove):
        await rewards.approve(reward.id, ANNA)  # holds the tip, even in the finance group
    other, _ = await _claimed_and_verified(intake, review, 2, holder=ANNA, verifier=BO)
    proposed = await _propose(review, rewards, other, "seized_lt_10g", "why")  # by Anna
    with pytest.raises(CaseWorkerCannotApprove):
        await rewards.approve(proposed.id, BO)  # verified it, though Anna holds it
    assert (await rewards.approve(reward.id, CHEN)).reward.status == "offered"

    async with db.read() as conn:
        stored = await rewards_repo.by_id(conn, reward.id)
    code = open_with_receipt(receipt.replace("-", ""), report.uid, stored.code_for_receipt)
    code = code.decode()
    with pytest.raises(ApproverCannotPay):
        await payouts.find_offer(code, CHEN)
    offer = await payouts.find_offer(code, LI)
    check_id = _next_message_id()
    check_payload = f'{{"reward": {offer.reward.id}, "amount": {offer.reward.amount_minor}}}'
    await review.remember_prompt(FINANCE, check_id, "paid_check", report, LI, check_payload)
    check = await review.find_prompt(FINANCE, check_id)
    with pytest.raises(NotYourPayout):
        payouts.check_clerk(check, WU)  # "ID checked" pressed by another clerk
    with pytest.raises(NotYourPayout):
        await payouts.continue_payout(check, _next_message_id(), WU, id_checked=True)
    assert await review.find_prompt(FINANCE, check_id) is not None, "nothing changed"
    voucher_id = _next_message_id()
    await payouts.continue_payout(check, voucher_id, LI, id_checked=True)
    voucher = await review.find_prompt(FINANCE, voucher_id)
    with pytest.raises(NotYourPayout):
        await payouts.pay(reward.id, WU, "V-9", id_checked=True, prompt=voucher)
    with pytest.raises(ApproverCannotPay):
        await payouts.pay(reward.id, CHEN, "V-9", id_checked=True)
    async with db.read() as conn:
        assert (await rewards_repo.by_id(conn, reward.id)).status == "offered"
    paid = await payouts.pay(reward.id, LI, "V-9", id_checked=True, prompt=voucher)
    assert paid.status == "paid" and paid.paid_by == LI.user_id


async def _claimed_and_verified(
    intake, review, user: int, *, holder: Actor, verifier: Actor
) -> tuple[str, str]:
    await intake.start(user, "en")
    await intake.choose_category(user, "other")
    await intake.choose_area(user, area_key=None, typed=None)
    await intake.add_text(user, "tip")
    await intake.review(user)
    submission = await intake.submit(user, user)
    await review.act(submission.reference, CHAT, holder, Action.CLAIM)
    await review.act(submission.reference, CHAT, verifier, Action.VERIFY)
    return submission.reference, submission.receipt


async def test_budget_blocks_the_final_approval(scheme) -> None:
    intake, review, rewards, _, _, _, env, _ = scheme
    ref, _ = await _verified(intake, review, 1)
    reward = await _propose(review, rewards, ref, "production_lead", "31000 lab")
    await rewards.approve(reward.id, CHEN)
    with pytest.raises(OverBudget):
        await rewards.approve(reward.id, LI)
    assert (await RewardBook(env).budget(2026, 11)).committed_minor == 0


async def test_claim_code_is_only_a_hash_and_opens_with_the_receipt(scheme) -> None:
    intake, review, rewards, db, _, _, env, payouts = scheme
    ref, receipt = await _verified(intake, review, 1)
    reward = await _propose(review, rewards, ref, "seized_lt_10g", "why")
    await rewards.approve(reward.id, CHEN)
    async with db.read() as conn:
        stored = await rewards_repo.by_id(conn, reward.id)
    report = await review.find(ref, CHAT)
    normalized = receipt.replace("-", "")
    code = open_with_receipt(normalized, report.uid, stored.code_for_receipt).decode()
    assert normalize_claim_code(code)
    view = await RewardBook(env).for_tipster(report, normalized)
    assert view.claim_code == code
    assert (await RewardBook(env).for_tipster(report, "0" * 20)).claim_code is None
    offer = await payouts.find_offer(code.lower(), LI)
    assert offer.reference == ref
    with pytest.raises(IdNotChecked):
        await payouts.pay(reward.id, LI, "V-1", id_checked=False)
    paid = await payouts.pay(reward.id, LI, "V-1", id_checked=True)
    assert paid.status == "paid" and paid.code_for_receipt is None
    for _ in range(2):
        with pytest.raises(CodeUnknown):
            await payouts.find_offer(code, LI)
    with pytest.raises(CodeRateLimited):
        await payouts.find_offer(code, LI)


async def test_a_due_schedule_runs_once_even_when_two_sweepers_race(scheme) -> None:
    intake, review, rewards, db, clock, _, env, _ = scheme
    ref, _ = await _verified(intake, review, 1)
    reward = await _propose(review, rewards, ref, "seized_lt_10g", "why")
    await rewards.approve(reward.id, CHEN)
    clock.now += 70 * DAY
    jobs = Jobs(env)
    due = await jobs.due()
    assert {job.kind for job in due} >= {"offer_expiry", "claim_reminder", "reward_nudge"}
    results = await asyncio.gather(*(jobs.run_due(job) for job in due + due))
    assert results.count(True) == len(due)
    async with db.read() as conn:
        assert await schedules.due(conn, int(clock.now)) == []
        assert (await rewards_repo.by_id(conn, reward.id)).status == "expired"
        cursor_rows = await conn.fetch_all(
            "SELECT COUNT(*) FROM outbox WHERE kind = 'tipster_text'"
        )
        # offered, two reminders, expired: each once
        assert cursor_rows[0][0] == 4

"""The typed protocols between the rooms: outbox payloads (including rows written by earlier
versions), the reward table, the one report move gate, the budget rule, sealed notices."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.crypto.vault import KeyRing, Vault, new_master_key_text
from bot.domain.errors import RewardMovedOn
from bot.domain.outbox import (
    NOTICE_PURPOSE,
    PAYLOADS,
    AnswerPosted,
    DeleteDialogue,
    OutboxKind,
    Receipt,
    Recipient,
    RewardRefresh,
    StaffNotice,
    StaffText,
    TipsterNotice,
    TipsterQuestion,
    TipsterText,
    load_payload,
    notice_context,
)
from bot.domain.policy import load
from bot.domain.prompts import PaidCheck, Payout, load_prompt_payload
from bot.domain.report import ReportStatus, TransitionError, plan_move
from bot.domain.reward import (
    REWARD_TRANSITIONS,
    Budget,
    RewardStatus,
    check_reward_move,
)
from bot.telegram.composer import Composer, PermanentFailure
from bot.telegram.i18n import Catalogue
from bot.telegram.posts import PostRenderer
from storage.blobs import BlobStore
from storage.records import OutboxRecord


def test_every_outbox_kind_has_one_payload_model() -> None:
    assert set(PAYLOADS) == set(OutboxKind)
    assert all(model.kind is kind for kind, model in PAYLOADS.items())
    assert {m.recipient for m in PAYLOADS.values()} == set(Recipient)


@pytest.mark.parametrize(
    ("kind", "written", "expected"),
    [
        (
            "receipt",
            {"chat": 7, "receipt": "AB", "contact": True},
            Receipt(chat=7, receipt="AB", contact=True),
        ),
        (
            "delete_dialogue",
            {"chat": 7, "first": 3, "last": 9},
            DeleteDialogue(chat=7, first=3, last=9),
        ),
        ("tipster_notice", {"status": "verified"}, TipsterNotice(status="verified")),
        (
            "tipster_question",
            {"question": "When?", "token": "t", "id": 4},
            TipsterQuestion(question="When?", token="t", id=4),
        ),
        ("answer_posted", {"position": 2}, AnswerPosted(position=2)),
        ("reward_refresh", {"reward": 5, "key": None, "params": {}}, RewardRefresh(reward=5)),
        (
            "staff_text",
            {"reward": 0, "key": "jobs.unclaimed", "params": {"hours": 4, "admins": False}},
            StaffText(key="jobs.unclaimed", params={"hours": 4, "admins": False}),
        ),
        (
            "tipster_text",
            {"key": "notice.reward_expired", "params": {}},
            TipsterText(key="notice.reward_expired"),
        ),
    ],
)
def test_rows_written_by_the_earlier_version_still_decode(kind, written, expected) -> None:
    assert load_payload(kind, json.dumps(written).encode()) == expected


@given(st.integers(), st.text(max_size=50), st.booleans())
def test_payloads_round_trip(chat: int, receipt: str, contact: bool) -> None:
    payload = Receipt(chat=chat, receipt=receipt, contact=contact)
    assert load_payload(payload.kind, payload.dump()) == payload


def test_unknown_kinds_and_malformed_payloads_are_refused() -> None:
    with pytest.raises(ValueError):
        load_payload("carrier_pigeon", b"{}")
    with pytest.raises(ValueError):
        load_payload("receipt", b'{"chat": "seven"}')
    with pytest.raises(ValueError):
        load_payload("answer_posted", b"not json")


def test_the_reward_table_has_an_entry_for_every_state_and_final_states_are_final() -> None:
    assert set(REWARD_TRANSITIONS) == set(RewardStatus)
    for final in (RewardStatus.PAID, RewardStatus.EXPIRED, RewardStatus.REFUSED):
        assert not REWARD_TRANSITIONS[final]
    assert check_reward_move("proposed", RewardStatus.OFFERED) is RewardStatus.PROPOSED
    with pytest.raises(RewardMovedOn) as caught:
        check_reward_move("paid", RewardStatus.EXPIRED)
    assert caught.value.params == {"status": "paid"}
    with pytest.raises(RewardMovedOn):
        check_reward_move("proposed", RewardStatus.PAID)  # never paid before it is offered


def test_every_report_move_passes_one_gate_that_stamps_the_new_state() -> None:
    verified = plan_move(ReportStatus.IN_REVIEW, ReportStatus.VERIFIED, 100)
    assert (verified.verified_at, verified.closed_at) == (100, None)
    closed = plan_move(ReportStatus.VERIFIED, ReportStatus.CLOSED, 200)
    assert (closed.verified_at, closed.closed_at) == (None, 200)
    assert plan_move(ReportStatus.AWAITING_TIPSTER, ReportStatus.IN_REVIEW, 5).verified_at is None
    with pytest.raises(TransitionError):
        plan_move(ReportStatus.CLOSED, ReportStatus.IN_REVIEW, 300)
    with pytest.raises(TransitionError):
        plan_move(ReportStatus.NEW, ReportStatus.VERIFIED, 300)  # claimed first


def test_the_budget_rule() -> None:
    assert Budget(2026, 11, 0, 10**9).allows(10**9)  # no budget set
    assert Budget(2026, 11, 1000, 400).allows(600)
    assert not Budget(2026, 11, 1000, 400).allows(601)
    assert Budget(2026, 11, 1000, 400).remaining_minor == 600


def _composer(tmp_path) -> tuple[Composer, Vault]:
    vault = Vault(KeyRing.from_texts([new_master_key_text()]))
    renderer = PostRenderer(Catalogue.load(), load(None), BlobStore(tmp_path), "en")
    return Composer(None, vault, renderer, None, None), vault  # type: ignore[arg-type]


def _notice_row(chat_id: int, sealed: bytes) -> OutboxRecord:
    return OutboxRecord(1, None, "staff", chat_id, "staff_notice", sealed, 0, "pending", 0, None, 0)


async def test_staff_notices_are_sealed_and_bound_to_their_chat(tmp_path) -> None:
    composer, vault = _composer(tmp_path)
    notice = StaffNotice(
        key="jobs.digest_finance", params={"proposed": 2, "expiring": 0, "references": "—"}
    )
    sealed = vault.seal_transient(NOTICE_PURPOSE, notice_context(-100), notice.dump())
    assert b"digest" not in sealed
    opened = await composer.open_notice(_notice_row(-100, sealed))
    assert opened is not None and opened[0] == -100 and "2 reward" in opened[1].html
    with pytest.raises(PermanentFailure):
        await composer.open_notice(_notice_row(-200, sealed))  # moved to another chat's row


async def test_a_notice_queued_unsealed_by_the_earlier_version_still_delivers(tmp_path) -> None:
    composer, _ = _composer(tmp_path)
    legacy = json.dumps(
        {
            "key": "jobs.digest_finance",
            "params": {"proposed": 1, "expiring": 3, "references": "T-2026-0001"},
        }
    ).encode()
    opened = await composer.open_notice(_notice_row(-100, legacy))
    assert opened is not None and "T-2026-0001" in opened[1].html


def test_prompt_payloads_written_by_the_earlier_version_still_decode() -> None:
    check = load_prompt_payload(PaidCheck, json.dumps({"reward": 3, "amount": 500_00}))
    assert check == PaidCheck(reward=3, amount=500_00)
    payout = load_prompt_payload(Payout, json.dumps({"reward": 3, "id_checked": True}))
    assert payout == Payout(reward=3, id_checked=True)
    assert load_prompt_payload(Payout, payout.model_dump_json()) == payout
    with pytest.raises(ValueError):
        load_prompt_payload(Payout, '{"reward": "three"}')

"""Rewards end to end: propose, four eyes, the claim code, payout, reminders, expiry, ledger."""

from __future__ import annotations

import codecs
import csv
import io
import re

import openpyxl
import pytest

from tests.e2e.conftest import (
    FINANCE_CHAT,
    FINANCE_CLERK,
    REVIEW_CHAT,
    REVIEWER,
    Clock,
    RunningBot,
    make_settings,
    write_policy,
)
from tests.e2e.review_flows import answer_of, card_shows, find_card, press, tip_with_card

TIPSTER_ID = 8200000001
SECOND_CLERK = 700000004
DORA = 700000005
TIP_TEXT = "CANARY-REWARD-TIP Depot behind the rice mill stores heroin"
CODE = re.compile(r"<code>([0-9A-Z]{5}-[0-9A-Z]{5}-[0-9A-Z]{5})</code>")
DAY = 86_400


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def bot(fake, tmp_path, clock):  # overrides the shared fixture: a movable clock
    policy = write_policy(tmp_path / "rewards-policy.toml", "[jobs]\nsweep_seconds = 1\n")
    running = RunningBot(make_settings(tmp_path, fake, policy_file=policy), clock=clock)
    await running.start()
    yield running
    await running.stop()


def _people(fake):
    anna = fake.add_user(REVIEWER, "AnnaReviewer")
    fake.set_member(FINANCE_CHAT, REVIEWER, "member")  # Anna is in both groups
    clerk = fake.add_user(FINANCE_CLERK, "ClerkChen")
    second = fake.add_user(SECOND_CLERK, "ClerkLi")
    fake.set_member(FINANCE_CHAT, SECOND_CLERK, "member")
    tipster = fake.add_user(TIPSTER_ID, "TipsterWang")
    return anna, clerk, second, tipster


async def _verified_tip(fake, anna, tipster, text=TIP_TEXT, **kwargs) -> tuple[str, str]:
    receipt, ref = await tip_with_card(fake, tipster, text, **kwargs)
    await answer_of(fake, press(fake, anna, ref, "claim"))
    await card_shows(fake, ref, "in review")
    await answer_of(fake, press(fake, anna, ref, "verify"))
    await card_shows(fake, ref, "verified")
    return receipt, ref


async def _propose(fake, anna, ref, tier, reply, *, posted: bool = True) -> dict | None:
    await fake.wait_until(lambda: f"v1:r:reward:{ref}" in fake.button_data(find_card(fake, ref)))
    await answer_of(fake, press(fake, anna, ref, "reward"))
    tiers = await fake.wait_for_message(REVIEW_CHAT, lambda m: "Which reward tier" in m["_plain"])
    await answer_of(fake, fake.user_presses(anna, tiers, f"v1:w:{tier}:{ref}"))
    prompt = await fake.wait_for_message(
        REVIEW_CHAT, lambda m: "reply to this message" in m["_plain"]
    )
    fake.user_sends_text(anna, reply, chat_id=REVIEW_CHAT, reply_to_message_id=prompt["message_id"])
    if not posted:
        return None
    return await fake.wait_for_message(FINANCE_CHAT, lambda m: f"proposal for {ref}" in m["_plain"])


def _post(fake, ref) -> dict:
    return next(m for m in fake.messages_in(FINANCE_CHAT) if f"proposal for {ref}" in m["_plain"])


def _approve(fake, who, ref):
    post = _post(fake, ref)
    data = next(d for d in fake.button_data(post) if d.startswith("v1:f:approve:"))
    return fake.user_presses(who, post, data)


async def _pay(fake, clerk, code, voucher) -> None:
    fake.user_sends_text(clerk, f"/paid {code}", chat_id=FINANCE_CHAT)
    check = await fake.wait_for_message(FINANCE_CHAT, lambda m: "Claim code valid" in m["_plain"])
    await fake.wait_until(
        lambda: any(
            d.startswith("v1:f:idok:")
            for d in fake.button_data(
                fake.messages_in(FINANCE_CHAT)[
                    [m["message_id"] for m in fake.messages_in(FINANCE_CHAT)].index(
                        check["message_id"]
                    )
                ]
            )
        )
    )
    current = next(
        m for m in fake.messages_in(FINANCE_CHAT) if m["message_id"] == check["message_id"]
    )
    idok = next(d for d in fake.button_data(current) if d.startswith("v1:f:idok:"))
    await answer_of(fake, fake.user_presses(clerk, current, idok))
    prompt = await fake.wait_for_message(FINANCE_CHAT, lambda m: "voucher number" in m["_plain"])
    fake.user_sends_text(
        clerk, voucher, chat_id=FINANCE_CHAT, reply_to_message_id=prompt["message_id"]
    )
    await fake.wait_for_message(FINANCE_CHAT, lambda m: "Payout of" in m["_plain"])


async def test_propose_approve_claim_and_pay(fake, bot: RunningBot) -> None:
    anna, clerk, second, tipster = _people(fake)
    receipt, ref = await _verified_tip(fake, anna, tipster)
    post = await _propose(fake, anna, ref, "seized_lt_10g", "Seized 8 g at the depot")
    assert "¥300.00" in post["_plain"] and "AnnaReviewer" in post["_plain"]
    assert "Seized 8 g" in post["_plain"]
    await card_shows(fake, ref, "Reward: ¥300.00")

    own = await answer_of(fake, _approve(fake, anna, ref))
    assert own["show_alert"] and "cannot approve" in own["text"]
    await answer_of(fake, _approve(fake, clerk, ref))
    offered = await fake.wait_for_message(tipster.id, lambda m: "reward of ¥300.00" in m["text"])
    code = CODE.search(offered["text"]).group(1)
    await fake.wait_until(lambda: "offered" in _post(fake, ref)["_plain"])
    await fake.wait_for_message(REVIEW_CHAT, lambda m: "was approved" in m["_plain"])

    stranger = fake.add_user(8200000009, "Elsewhere")
    fake.user_sends_text(stranger, f"/status {receipt}")
    status = await fake.wait_for_message(stranger.id, lambda m: "claim code" in m["_plain"])
    assert code in status["_plain"]

    fake.user_sends_text(second, "/paid ABCDE-FGH12-34567", chat_id=FINANCE_CHAT)
    await fake.wait_for_message(FINANCE_CHAT, lambda m: "No open reward matches" in m["_plain"])
    await _pay(fake, second, code, "V-2026-0001")  # not the approver
    await fake.wait_for_message(tipster.id, lambda m: "has been paid" in m["_plain"])
    await fake.wait_until(lambda: "V-2026-0001" in _post(fake, ref)["_plain"])
    assert "by ClerkLi" in _post(fake, ref)["_plain"]
    await card_shows(fake, ref, "paid")
    fake.user_sends_text(second, f"/paid {code}", chat_id=FINANCE_CHAT)
    await fake.wait_for_message(FINANCE_CHAT, lambda m: "No open reward matches" in m["_plain"])

    finance_side = repr(fake.messages_in(FINANCE_CHAT))
    for secret in ("CANARY-REWARD-TIP", "rice mill", "TipsterWang", str(TIPSTER_ID), receipt):
        assert secret not in finance_side


async def test_the_receipt_and_the_claim_code_come_with_copy_buttons(fake, bot: RunningBot) -> None:
    """Each carries one copy_text button whose text is exactly the code, labelled in the
    reader's language; pressing it copies, so it needs no callback data."""
    anna, clerk, _, tipster = _people(fake)
    receipt, ref = await _verified_tip(fake, anna, tipster)
    (shown,) = [m for m in fake.messages_in(tipster.id) if receipt in m["_plain"]]
    assert fake.copy_buttons(shown) == [("📋 Copy receipt", receipt)]
    assert fake.button_data(shown) == []
    await _propose(fake, anna, ref, "seized_lt_10g", "Seized 8 g at the depot")
    await answer_of(fake, _approve(fake, clerk, ref))
    offered = await fake.wait_for_message(tipster.id, lambda m: "reward of ¥300.00" in m["text"])
    code = CODE.search(offered["text"]).group(1)
    assert fake.copy_buttons(offered) == [("📋 Copy claim code", code)]

    reader = fake.add_user(8200000010, "Elsewhere", language_code="zh-hans")
    fake.user_sends_text(reader, f"/status {receipt}")
    status = await fake.wait_for_message(reader.id, lambda m: code in m["_plain"])
    assert fake.copy_buttons(status) == [("📋 复制兑奖码", code)]
    # A /status without a reward to claim has no copy button.
    other_receipt, _ = await tip_with_card(fake, tipster, "a second tip, never rewarded")
    fake.user_sends_text(reader, f"/status {other_receipt}")
    plain = await fake.wait_for_message(reader.id, lambda m: "T-" in m["_plain"])
    assert code not in plain["_plain"] and fake.copy_buttons(plain) == []


async def test_four_eyes_are_people_holder_approver_and_payer_apart(fake, bot) -> None:
    """The reviewer who held the tip cannot approve its reward, nor can the one who verified
    it; the approver cannot pay it; "ID checked" and the voucher belong to whoever ran /paid.
    Each refusal says why and changes nothing."""
    anna, clerk, second, tipster = _people(fake)
    dora = fake.add_user(DORA, "DoraAdmin")
    fake.set_member(REVIEW_CHAT, DORA, "administrator")
    fake.set_member(FINANCE_CHAT, DORA, "member")
    _, ref = await tip_with_card(fake, tipster, "Pills handed out behind the cinema")
    await answer_of(fake, press(fake, anna, ref, "claim"))  # Anna holds it
    await card_shows(fake, ref, "in review")
    await answer_of(fake, press(fake, dora, ref, "verify"))  # Dora, an admin, verifies it
    await card_shows(fake, ref, "verified")
    await _propose(fake, anna, ref, "seized_lt_10g", "Seized 6 g behind the cinema")

    own = await answer_of(fake, _approve(fake, anna, ref))
    assert own["show_alert"] and "You proposed this reward" in own["text"]
    verifier = await answer_of(fake, _approve(fake, dora, ref))
    assert verifier["show_alert"] and "held or verified this tip" in verifier["text"]
    assert "Approvals: 0 of 1" in _post(fake, ref)["_plain"]
    await answer_of(fake, _approve(fake, clerk, ref))
    offered = await fake.wait_for_message(tipster.id, lambda m: "reward of ¥300.00" in m["text"])
    code = CODE.search(offered["text"]).group(1)

    sent = fake.user_sends_text(clerk, f"/paid {code}", chat_id=FINANCE_CHAT)
    refused = await fake.wait_for_message(
        FINANCE_CHAT, lambda m: m.get("_reply_to") == sent["message_id"]
    )
    assert "You approved this reward" in refused["_plain"]
    assert not any("Claim code valid" in m["_plain"] for m in fake.messages_in(FINANCE_CHAT))

    sent = fake.user_sends_text(second, f"/paid {code}", chat_id=FINANCE_CHAT)
    check = await fake.wait_for_message(FINANCE_CHAT, lambda m: "Claim code valid" in m["_plain"])
    await fake.wait_until(lambda: bool(fake.button_data(_message(fake, check["message_id"]))))
    idok = fake.button_data(_message(fake, check["message_id"]))[0]
    stranger = await answer_of(
        fake, fake.user_presses(clerk, _message(fake, check["message_id"]), idok)
    )
    assert stranger["show_alert"] and "who ran /paid" in stranger["text"]
    assert not any("voucher number" in m["_plain"] for m in fake.messages_in(FINANCE_CHAT))
    assert fake.button_data(_message(fake, check["message_id"])) == [idok], "nothing changed"

    await answer_of(fake, fake.user_presses(second, _message(fake, check["message_id"]), idok))
    prompt = await fake.wait_for_message(FINANCE_CHAT, lambda m: "voucher number" in m["_plain"])
    reply = fake.user_sends_text(
        clerk, "V-CLERK", chat_id=FINANCE_CHAT, reply_to_message_id=prompt["message_id"]
    )
    wrong = await fake.wait_for_message(
        FINANCE_CHAT, lambda m: m.get("_reply_to") == reply["message_id"]
    )
    assert "who ran /paid" in wrong["_plain"]
    assert "offered" in _post(fake, ref)["_plain"]
    fake.user_sends_text(
        second, "V-2026-0042", chat_id=FINANCE_CHAT, reply_to_message_id=prompt["message_id"]
    )
    await fake.wait_for_message(FINANCE_CHAT, lambda m: "Payout of" in m["_plain"])
    await fake.wait_until(lambda: "V-2026-0042" in _post(fake, ref)["_plain"])
    assert (
        "by ClerkLi" in _post(fake, ref)["_plain"] and "V-CLERK" not in _post(fake, ref)["_plain"]
    )


def _message(fake, message_id: int) -> dict:
    return next(m for m in fake.messages_in(FINANCE_CHAT) if m["message_id"] == message_id)


async def test_two_approvers_above_the_threshold(fake, bot: RunningBot) -> None:
    anna, clerk, second, tipster = _people(fake)
    _, ref = await _verified_tip(fake, anna, tipster, "A drug factory in the old tannery")
    await _propose(fake, anna, ref, "factory", "abc no amount", posted=False)
    await fake.wait_for_message(REVIEW_CHAT, lambda m: "does not fit the tier" in m["_plain"])
    prompt = next(
        m for m in reversed(fake.messages_in(REVIEW_CHAT)) if "reply to this message" in m["_plain"]
    )
    fake.user_sends_text(
        anna,
        "25000 Lab dismantled, 40 kg precursors",
        chat_id=REVIEW_CHAT,
        reply_to_message_id=prompt["message_id"],
    )
    await fake.wait_for_message(FINANCE_CHAT, lambda m: f"proposal for {ref}" in m["_plain"])
    first = await answer_of(fake, _approve(fake, clerk, ref))
    assert "second approver" in first["text"]
    again = await answer_of(fake, _approve(fake, clerk, ref))
    assert "already approved" in again["text"]
    await answer_of(fake, _approve(fake, second, ref))
    await fake.wait_for_message(tipster.id, lambda m: "¥25,000.00" in m["_plain"])


async def test_refusal_goes_back_to_review_and_a_new_proposal_is_possible(fake, bot) -> None:
    anna, clerk, _, tipster = _people(fake)
    _, ref = await _verified_tip(fake, anna, tipster, "Poppies behind the school farm")
    await _propose(fake, anna, ref, "cultivation", "800 About 300 plants destroyed")
    post = _post(fake, ref)
    refuse = next(d for d in fake.button_data(post) if d.startswith("v1:f:refuse:"))
    await answer_of(fake, fake.user_presses(clerk, post, refuse))
    prompt = await fake.wait_for_message(
        FINANCE_CHAT, lambda m: "reason for refusing" in m["_plain"]
    )
    fake.user_sends_text(
        clerk,
        "Tier should be group use, not cultivation",
        chat_id=FINANCE_CHAT,
        reply_to_message_id=prompt["message_id"],
    )
    back = await fake.wait_for_message(
        REVIEW_CHAT, lambda m: "was refused by ClerkChen" in m["_plain"]
    )
    assert "Tier should be group use" in back["_plain"]
    await fake.wait_until(lambda: "refused" in _post(fake, ref)["_plain"])
    assert not [d for d in fake.button_data(_post(fake, ref)) if d.startswith("v1:f:")]
    await card_shows(fake, ref, "Reward")
    await fake.wait_until(lambda: f"v1:r:reward:{ref}" in fake.button_data(find_card(fake, ref)))


async def test_duplicates_and_second_rewards_are_refused(fake, bot: RunningBot) -> None:
    anna, _, _, tipster = _people(fake)
    _, ref = await _verified_tip(fake, anna, tipster, "Meth lab in flat 9B")
    await _propose(fake, anna, ref, "seized_10_50g", "Seized 30 g")
    card = await card_shows(fake, ref, "Reward: ¥500.00")
    assert f"v1:r:reward:{ref}" not in fake.button_data(card)
    again = await answer_of(fake, fake.user_presses(anna, card, f"v1:r:reward:{ref}"))
    assert "one reward per case" in again["text"]
    other = fake.add_user(8200000002, "Second")
    _, dup = await tip_with_card(fake, other, "Flat 9B has a meth lab")
    await answer_of(fake, press(fake, anna, dup, "duplicate"))
    prompt = await fake.wait_for_message(
        REVIEW_CHAT, lambda m: "reference of the original" in m["_plain"]
    )
    fake.user_sends_text(anna, ref, chat_id=REVIEW_CHAT, reply_to_message_id=prompt["message_id"])
    await card_shows(fake, dup, "duplicate")
    forged = await answer_of(
        fake, fake.user_presses(anna, find_card(fake, dup), f"v1:r:reward:{dup}")
    )
    assert "Only a verified tip" in forged["text"]


async def test_reminders_expiry_and_a_restart_in_between(fake, bot: RunningBot, clock) -> None:
    anna, clerk, _, tipster = _people(fake)
    receipt, ref = await _verified_tip(fake, anna, tipster, "Courier hands out pills at gate 4")
    await _propose(fake, anna, ref, "seized_lt_10g", "Seized 5 g")
    await answer_of(fake, _approve(fake, clerk, ref))
    offered = await fake.wait_for_message(tipster.id, lambda m: "reward of" in m["_plain"])
    code = CODE.search(offered["text"]).group(1)
    deadline_text = re.search(r"by (\d{4}-\d{2}-\d{2})", offered["_plain"]).group(1)

    clock.advance(50 * DAY)  # about 14 days before a two-month deadline
    first = await fake.wait_for_message(tipster.id, lambda m: "Reminder" in m["_plain"], timeout=10)
    assert deadline_text in first["_plain"]
    await bot.restart()
    clock.advance(9 * DAY)
    await fake.wait_for_message(tipster.id, lambda m: "Reminder" in m["_plain"], timeout=10)
    await bot.stop()
    clock.advance(10 * DAY)  # the deadline passes while the bot is down
    await bot.start()
    await fake.wait_for_message(
        tipster.id, lambda m: "expired unclaimed" in m["_plain"], timeout=10
    )
    await fake.wait_for_message(
        FINANCE_CHAT, lambda m: "expired unclaimed" in m["_plain"], timeout=10
    )
    await fake.wait_for_message(
        REVIEW_CHAT, lambda m: "expired unclaimed" in m["_plain"], timeout=10
    )
    reminders = [m for m in fake.messages_in(tipster.id) if "Reminder" in m["_plain"]]
    assert len(reminders) == 2
    fake.user_sends_text(clerk, f"/paid {code}", chat_id=FINANCE_CHAT)
    await fake.wait_for_message(FINANCE_CHAT, lambda m: "No open reward matches" in m["_plain"])
    fake.user_sends_text(tipster, f"/status {receipt}")
    await fake.wait_for_message(tipster.id, lambda m: "has expired unclaimed" in m["_plain"])


async def test_ledger_csv_totals_match_the_payouts(fake, bot: RunningBot) -> None:
    anna, clerk, second, tipster = _people(fake)
    other = fake.add_user(8200000003, "Other")
    paid_total = 0
    for who, text, tier, reply, amount in (
        (tipster, "Ledger tip one: dealing at the pier", "seized_50_500g", "Seized 200 g", 100000),
        (other, "Ledger tip two: grow room in shed", "cultivation", "1234.50 Grow room", 123450),
    ):
        _, ref = await _verified_tip(fake, anna, who, text)
        await _propose(fake, anna, ref, tier, reply)
        await answer_of(fake, _approve(fake, clerk, ref))
        offered = await fake.wait_for_message(who.id, lambda m: "reward of" in m["_plain"])
        await _pay(fake, second, CODE.search(offered["text"]).group(1), f"V-{amount}")
        paid_total += amount
    fake.user_sends_text(clerk, "/ledger", chat_id=FINANCE_CHAT)
    ledger = await fake.wait_for_message(
        FINANCE_CHAT, lambda m: m.get("_upload", {}).get("filename", "").endswith(".csv")
    )
    data = ledger["_upload"]["data"]
    assert data.startswith(codecs.BOM_UTF8)
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert {r["tier_name"] for r in rows} >= {"Drugs seized: 50-500 g"}
    workbook = next(
        m
        for m in fake.messages_in(FINANCE_CHAT)
        if m.get("_upload", {}).get("filename", "").endswith(".xlsx")
    )
    book = openpyxl.load_workbook(io.BytesIO(workbook["_upload"]["data"]))
    sheet = book["rewards"]
    header = [c.value for c in sheet[1]]
    amounts = [r[header.index("amount")] for r in sheet.iter_rows(min_row=2)]
    assert sorted(c.value for c in amounts) == [1000.0, 1234.5]
    assert all("¥" in c.number_format and "0.00" in c.number_format for c in amounts)
    assert "summary" in book.sheetnames
    assert "¥2,234.50" in workbook["_plain"]
    paid = [r for r in rows if r["status"] == "paid"]
    assert len(paid) == 2
    total_minor = sum(int(r["amount"].replace(".", "")) for r in paid)
    assert total_minor == paid_total
    assert {r["payout_reference"] for r in paid} == {"V-100000", "V-123450"}
    assert all(str(TIPSTER_ID) not in repr(r) for r in rows)
    fake.user_sends_text(clerk, "/budget", chat_id=FINANCE_CHAT)
    await fake.wait_for_message(FINANCE_CHAT, lambda m: "¥2,234.50 committed" in m["_plain"])


async def test_a_reward_post_telegram_refuses_is_reported_and_can_be_reposted(
    fake, bot: RunningBot
) -> None:
    """A proposal Telegram refuses for good does not vanish: the finance chat is told by
    reference, /repost there posts it again, and the new post is the one that works."""
    anna, clerk, _, tipster = _people(fake)
    _, ref = await _verified_tip(fake, anna, tipster)
    fake.refuse_if = lambda method, params: (
        params.get("chat_id") == FINANCE_CHAT and "Reward proposal" in str(params.get("text", ""))
    )
    await _propose(fake, anna, ref, "seized_lt_10g", "Seized 8 g at the depot", posted=False)
    notice = await fake.wait_for_message(
        FINANCE_CHAT, lambda m: "could not be delivered" in m["_plain"]
    )
    assert ref in notice["_plain"] and "depot" not in notice["_plain"]
    fake.refuse_if = None

    fake.user_sends_text(clerk, "/repost T-2026-9999", chat_id=FINANCE_CHAT)
    await fake.wait_for_message(FINANCE_CHAT, lambda m: "nothing to post again" in m["_plain"])
    assert not any(m["_plain"].startswith("💰") for m in fake.messages_in(FINANCE_CHAT))

    fake.user_sends_text(clerk, f"/repost {ref}", chat_id=FINANCE_CHAT)
    await fake.wait_for_message(FINANCE_CHAT, lambda m: "will be posted again" in m["_plain"])
    post = await fake.wait_for_message(
        FINANCE_CHAT, lambda m: m["_plain"].startswith(f"💰 Reward proposal for {ref}")
    )
    assert "¥300.00" in post["_plain"]
    data = next(d for d in fake.button_data(post) if d.startswith("v1:f:approve:"))
    await answer_of(fake, fake.user_presses(clerk, post, data))
    await fake.wait_for_message(tipster.id, lambda m: "reward of ¥300.00" in m["text"])
    await fake.wait_until(
        lambda: (
            "offered"
            in next(
                m for m in fake.messages_in(FINANCE_CHAT) if m["message_id"] == post["message_id"]
            )["_plain"]
        )
    )

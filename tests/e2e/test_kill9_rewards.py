"""kill -9 at random points of review and of the reward scheme, over and over.

Eight tips are sent first, without kills (`test_kill9.py` covers intake). Then the bot process
is SIGKILLed and restarted at least 20 times, while the cases are worked one after another
(a new one begins every two or three kills, so every kill falls on work in progress); most
kills strike 0-80 ms after the bot receives an update, inside its handling. People
do what they would do on their phones: a reviewer claims, verifies and proposes a reward
(the 💰 button, a tier, then a reply to the bot's prompt); finance approves it (never the
proposer nor the tip's holder: the reviewer who is also in finance tries to approve her own
proposal and is refused; above the threshold two different clerks approve); the tipster reads
the claim code from /status with the receipt; a cashier who approved nothing pays it with
/paid, the "ID checked" button and a reply with the voucher number (every role a different
person, as four eyes between people require). Whoever sees nothing happen does it again
(presses again, replies again, starts the step over), and a stale button or prompt only means
starting over.

At the end the database and the fake's record prove: each tip is stored once and verified,
and has exactly one reward, paid once against the voucher given, approved by the right
number of people other than the proposer, with its reminders cancelled; the audit chain
verifies (`python -m bot audit-verify`) and holds each reward decision exactly once; every
notice to the tipster, the reviewers and finance arrived, a repeat only from the crash window
(a kill just after the first copy was sent, the rule of `test_kill9.py`); the inbox and the
outbox are empty, and the last SIGTERM exits 0. The seed is fixed; the run prints how many
kills hit the work, the repeats, and what people had to do again.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import (
    FINANCE_CHAT,
    FINANCE_CLERK,
    REVIEW_CHAT,
    REVIEWER,
    run_cli,
    write_policy,
)
from tests.e2e.flows import send_text_tip
from tests.e2e.test_kill9 import BotProcess
from tests.fake_telegram import FakeTelegram, FakeUser

KILLS = 20
CASES = 8
PATIENCE = 2.5  # how long a person waits for a sign of life before doing it again
SECOND_REVIEWER = 700000003
SECOND_CLERK = 700000004
CASHIER = 700000005  # pays; never approves
CODE = re.compile(r"<code>([0-9A-Z]{5}-[0-9A-Z]{5}-[0-9A-Z]{5})</code>")
# (tier, the reviewer's reply to the prompt, amount shown, approvers needed)
TIERS = (
    ("seized_lt_10g", "Seized 8 g at the depot", "¥300.00", 1),
    ("factory", "25000 Lab dismantled, 40 kg precursors", "¥25,000.00", 2),
    ("cultivation", "800 About 300 plants destroyed", "¥800.00", 1),
)
Message = dict[str, Any]


@dataclass
class Case:
    """One tip and the people who take it from the card to the payout."""

    tipster: FakeUser
    contact: bool
    reviewer: FakeUser
    tier: str
    reply: str
    amount: str
    approvers: list[FakeUser]
    payer: FakeUser
    voucher: str
    receipt: str = ""
    reference: str = ""
    code: str = ""
    again: Counter[str] = field(default_factory=Counter)  # what people had to do again


# ----- what a person sees ------------------------------------------------------------------


def _latest(fake: FakeTelegram, chat_id: int, test: Callable[[Message], bool]) -> Message | None:
    """The newest bot message matching `test`: after a crash-window repeat, the live copy."""
    return next((m for m in reversed(fake.messages_in(chat_id)) if test(m)), None)


def _card(fake: FakeTelegram, ref: str) -> Message:
    card = _latest(fake, REVIEW_CHAT, lambda m: m["_plain"].startswith(f"📋 Tip {ref}"))
    assert card is not None, f"no card for {ref}"
    return card


def _post(fake: FakeTelegram, ref: str) -> Message | None:
    return _latest(fake, FINANCE_CHAT, lambda m: f"Reward proposal for {ref}" in m["_plain"])


def _shows(fake: FakeTelegram, chat_id: int, text: str) -> bool:
    return _latest(fake, chat_id, lambda m: text in m["_plain"]) is not None


async def _card_showing(fake: FakeTelegram, text: str) -> Message:
    def card() -> Message | None:
        return _latest(
            fake, REVIEW_CHAT, lambda m: m["_plain"].startswith("📋 Tip") and text in m["_plain"]
        )

    await fake.wait_until(lambda: card() is not None)
    found = card()
    assert found is not None
    return found


def _last_id(fake: FakeTelegram, chat_id: int) -> int:
    messages = fake.messages_in(chat_id)
    return int(messages[-1]["message_id"]) if messages else 0


async def _seen(fake: FakeTelegram, done: Callable[[], bool], timeout: float = PATIENCE) -> bool:
    """Wait a while for `done()`; False if it did not happen (the person will act again)."""
    try:
        await fake.wait_until(done, timeout=timeout)
    except AssertionError:
        return False
    return True


async def _new_message(
    fake: FakeTelegram, chat_id: int, after: int, test: Callable[[Message], bool]
) -> Message | None:
    """A bot message newer than message id `after` matching `test`, or None after a while."""

    def found() -> Message | None:
        return _latest(fake, chat_id, lambda m: int(m["message_id"]) > after and test(m))

    return found() if await _seen(fake, lambda: found() is not None) else None


def _answer(fake: FakeTelegram, query: Message | None) -> str:
    """The text of the bot's answer to a button press, '' if none (yet)."""
    if query is None or query["id"] not in fake.callback_answers:
        return ""
    return str(fake.callback_answers[query["id"]].get("text") or "")


async def _think(rng: random.Random) -> None:
    await asyncio.sleep(rng.uniform(0.05, 0.3))


# ----- the people, one case at a time -------------------------------------------------------


async def _press_until(
    fake: FakeTelegram,
    who: FakeUser,
    message: Callable[[], Message | None],
    data: str,
    done: Callable[[list[Message]], bool],
    rng: random.Random,
    again: Counter[str],
) -> None:
    """Press a button until `done(presses so far)`: again when nothing happens, not while
    the button is gone (the message moved on, or is not refreshed yet)."""
    queries: list[Message] = []
    while not done(queries):
        current = message()
        if current is not None and data in fake.button_data(current):
            again[data.split(":")[2]] += bool(queries)
            queries.append(fake.user_presses(who, current, data))
        await _seen(fake, lambda: done(queries))
        await _think(rng)


async def _review(fake: FakeTelegram, case: Case, rng: random.Random) -> None:
    """Claim, then verify."""
    ref, who = case.reference, case.reviewer
    await _press_until(
        fake,
        who,
        lambda: _card(fake, ref),
        f"v1:r:claim:{ref}",
        lambda _: f"Held by: {who.first_name}" in _card(fake, ref)["_plain"],
        rng,
        case.again,
    )
    await _press_until(
        fake,
        who,
        lambda: _card(fake, ref),
        f"v1:r:verify:{ref}",
        lambda _: "Status: ✅ verified" in _card(fake, ref)["_plain"],
        rng,
        case.again,
    )


def _proposed(fake: FakeTelegram, case: Case) -> bool:
    return "Reward: " in _card(fake, case.reference)["_plain"]


async def _propose(fake: FakeTelegram, case: Case, rng: random.Random) -> None:
    """Propose the reward, starting over until the card shows it."""
    tries = 0
    while not _proposed(fake, case):
        case.again["propose from the start"] += bool(tries)
        tries += 1
        await _think(rng)
        await _try_to_propose(fake, case)


async def _try_to_propose(fake: FakeTelegram, case: Case) -> None:
    """💰 on the card, a tier, then the amount and justification as a reply to the prompt.
    A reply that gets no answer is sent once more; returns early when nothing comes."""
    ref, who = case.reference, case.reviewer
    card = _card(fake, ref)
    if f"v1:r:reward:{ref}" not in fake.button_data(card):
        await _seen(fake, lambda: _proposed(fake, case))  # not verified or refreshed yet
        return
    after = _last_id(fake, REVIEW_CHAT)
    fake.user_presses(who, card, f"v1:r:reward:{ref}")
    tiers = await _new_message(
        fake, REVIEW_CHAT, after, lambda m: f"Which reward tier fits {ref}?" in m["_plain"]
    )
    if tiers is None:
        return
    after = _last_id(fake, REVIEW_CHAT)
    fake.user_presses(who, tiers, f"v1:w:{case.tier}:{ref}")
    prompt = await _new_message(
        fake,
        REVIEW_CHAT,
        after,
        lambda m: "reply to this message" in m["_plain"] and ref in m["_plain"],
    )
    for attempt in range(2):
        if prompt is None or _proposed(fake, case):
            return
        case.again["reply to the reward prompt"] += attempt
        fake.user_sends_text(
            who, case.reply, chat_id=REVIEW_CHAT, reply_to_message_id=prompt["message_id"]
        )
        if await _seen(fake, lambda: _proposed(fake, case)):
            return


async def _approve(fake: FakeTelegram, case: Case, rng: random.Random) -> None:
    """Finance approves; the proposer, when in finance too, tries first and is refused."""
    ref = case.reference
    await fake.wait_until(lambda: _post(fake, ref) is not None, timeout=60)

    def post() -> Message:
        current = _post(fake, ref)
        assert current is not None
        return current

    approve = next(d for d in fake.button_data(post()) if d.startswith("v1:f:approve:"))
    if case.reviewer.id == REVIEWER:  # Anna is in both groups
        own = fake.user_presses(case.reviewer, post(), approve)
        if await _seen(fake, lambda: bool(_answer(fake, own))):
            assert "cannot approve" in _answer(fake, own)
    for who in case.approvers:

        def approved(queries: list[Message], who: FakeUser = who) -> bool:
            lines = post()["_plain"].splitlines()
            approvals = next(line for line in lines if line.startswith("Approvals:"))
            names = approvals.partition("(")[2].rstrip(")").split(", ")
            answers = " ".join(_answer(fake, q) for q in queries)
            return (
                who.first_name in names
                or "Status: ⏳ proposed" not in lines
                or "already approved" in answers
                or "moved on" in answers
            )

        await _press_until(fake, who, post, approve, approved, rng, case.again)
    await fake.wait_until(lambda: "Status: 📨 offered" in post()["_plain"], timeout=30)


async def _claim_code(fake: FakeTelegram, case: Case, rng: random.Random) -> None:
    """The tipster learns of the reward (the notice, or by asking now and then) and reads the
    claim code from /status with the receipt."""
    ref, who = case.reference, case.tipster
    if case.contact:
        await fake.wait_until(
            lambda: any(
                f"Good news about your tip {ref}" in m["_plain"] for m in fake.messages_in(who.id)
            ),
            timeout=60,
        )
    while not case.code:
        after = _last_id(fake, who.id)
        fake.user_sends_text(who, f"/status {case.receipt}")
        status = await _new_message(fake, who.id, after, lambda m: f"Tip {ref}" in m["_plain"])
        if status is not None and (match := CODE.search(status["text"])):
            case.code = match.group(1)
        else:
            await asyncio.sleep(rng.uniform(0.5, 1.0))
    if case.contact:
        notice = _latest(fake, who.id, lambda m: f"Good news about your tip {ref}" in m["_plain"])
        assert notice is not None and case.code in notice["text"], "the notice has the same code"


def _paid(fake: FakeTelegram, case: Case) -> bool:
    post = _post(fake, case.reference)
    return post is not None and f"voucher {case.voucher}" in post["_plain"]


async def _pay(fake: FakeTelegram, case: Case, rng: random.Random) -> None:
    """Pay the reward, starting over until the finance post shows the voucher."""
    tries = 0
    while not _paid(fake, case):
        case.again["/paid from the start"] += bool(tries)
        tries += 1
        await _think(rng)
        await _try_to_pay(fake, case)


async def _try_to_pay(fake: FakeTelegram, case: Case) -> None:
    """/paid with the code, "ID checked", then the voucher number as a reply to the prompt.
    A reply that gets no answer is sent once more; returns early when nothing comes."""
    ref, who = case.reference, case.payer
    sent = fake.user_sends_text(who, f"/paid {case.code}", chat_id=FINANCE_CHAT)
    check = await _new_message(
        fake, FINANCE_CHAT, 0, lambda m: m.get("_reply_to") == sent["message_id"]
    )
    if check is None or "Claim code valid" not in check["_plain"]:
        await _seen(fake, lambda: _paid(fake, case))  # "no open reward": paid a moment ago?
        return
    if not await _seen(fake, lambda: bool(fake.button_data(check))):
        return  # the "ID checked" button never came
    after = _last_id(fake, FINANCE_CHAT)
    fake.user_presses(who, check, fake.button_data(check)[0])
    prompt = await _new_message(
        fake, FINANCE_CHAT, after, lambda m: "voucher number" in m["_plain"] and ref in m["_plain"]
    )
    for attempt in range(2):
        if prompt is None or _paid(fake, case):
            return
        case.again["reply with the voucher"] += attempt
        fake.user_sends_text(
            who, case.voucher, chat_id=FINANCE_CHAT, reply_to_message_id=prompt["message_id"]
        )
        if await _seen(fake, lambda: _paid(fake, case)):
            return


async def _work_case(
    fake: FakeTelegram, case: Case, rng: random.Random, kills: Callable[[], int], start: int
) -> None:
    """The case from the card to the payout, begun once the bot has been killed `start`
    times, so that the cases' work goes on until the last kills."""
    # A kill and restart takes a few seconds, more on a loaded machine: the wait grows with
    # the kills waited for (the kill loop always moves on; the test's timeout bounds it all).
    await fake.wait_until(lambda: kills() >= start, timeout=30 + 10 * start)
    await _review(fake, case, rng)
    await _propose(fake, case, rng)
    await _approve(fake, case, rng)
    await _claim_code(fake, case, rng)
    await _pay(fake, case, rng)


# ----- the test ------------------------------------------------------------------------------


def _env(tmp_path: Path, fake: FakeTelegram) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIPLINE_")}
    # Retries of /paid by a person who saw no answer count as wrong codes; allow for them.
    policy = "[rewards]\nmax_code_failures_per_hour = 100\n"
    env.update(
        TIPLINE_BOT_TOKEN=fake.token,
        TIPLINE_API_URL=fake.url,
        TIPLINE_REVIEW_CHAT_ID=str(REVIEW_CHAT),
        TIPLINE_FINANCE_CHAT_ID=str(FINANCE_CHAT),
        TIPLINE_POLICY_FILE=str(write_policy(tmp_path / "policy.toml", policy)),
    )
    return env


def _cases(fake: FakeTelegram, rng: random.Random) -> list[Case]:
    anna = fake.add_user(REVIEWER, "Anna")
    bo = fake.add_user(SECOND_REVIEWER, "Bo")
    chen = fake.add_user(FINANCE_CLERK, "Chen")
    li = fake.add_user(SECOND_CLERK, "Li")
    wu = fake.add_user(CASHIER, "Wu")
    cases = []
    for n in range(CASES):
        tier, reply, amount, needed = TIERS[n % len(TIERS)]
        clerks = rng.sample([chen, li], 2)
        cases.append(
            Case(
                tipster=fake.add_user(8800000000 + n, f"T{n}"),
                contact=n != CASES - 1,  # the last tipster chose no contact
                reviewer=anna if n % 2 == 0 else bo,
                tier=tier,
                reply=reply,
                amount=amount,
                approvers=clerks[:needed],
                payer=wu,
                voucher=f"V-2026-{n:04d}",
            )
        )
    return cases


def _starts() -> list[int]:
    """After how many kills each case begins: spread over the run, the last one just before
    the last kill, so that every kill falls on work in progress."""
    return [round(n * (KILLS - 1) / (CASES - 1)) for n in range(CASES)]


def _an_update_arrives(fake: FakeTelegram) -> Callable[[], bool]:
    seen = len(fake.calls)
    return lambda: any(c.method == "getUpdates" and c.result for c in fake.calls[seen:])


async def _kill_repeatedly(
    bot: BotProcess, fake: FakeTelegram, rng: random.Random, work: asyncio.Future[Any]
) -> int:
    """SIGKILL and restart at random moments until there have been enough kills and the work
    is done (or three times too many kills); returns how many kills hit unfinished work.

    Handling one update takes the bot only milliseconds, so a kill at a uniformly random
    moment would mostly hit a bot that is just waiting. Most kills therefore wait for the bot
    to receive an update and strike a random 0-80 ms later, inside its handling (between
    its commits and its calls to Telegram); the rest fall at any moment."""
    during_work = 0
    while True:
        await asyncio.sleep(rng.uniform(0.2, 0.8))
        if (work.done() and len(bot.kill_times) >= KILLS) or len(bot.kill_times) >= 3 * KILLS:
            return during_work
        if rng.random() < 0.7:
            await _seen(fake, _an_update_arrives(fake), timeout=1.0)
            await asyncio.sleep(rng.uniform(0, 0.08))
        during_work += not work.done()
        await bot.kill()
        await bot.start()


def _dump(bot: BotProcess, fake: FakeTelegram, database: Path) -> None:
    print(bot.log_path.read_text(errors="replace")[-4000:])
    now = time.monotonic()
    for call in fake.calls[-30:]:
        print(f"{call.at - now:8.1f}s {call.method} failed={call.failed} {call.error}")
    for chat in (REVIEW_CHAT, FINANCE_CHAT):
        print(fake.describe_chat(chat)[-3000:])
    with sqlite3.connect(database) as conn:
        for row in conn.execute(
            "SELECT id, report_id, target, kind, status, parts_sent, attempts, last_error"
            " FROM outbox WHERE status != 'sent'"
        ):
            print("OUTBOX", row)
        for row in conn.execute("SELECT id, report_id, status, amount_minor FROM rewards"):
            print("REWARD", row)


@pytest.mark.kill9
@pytest.mark.timeout(360)  # about 75 s alone; a loaded machine can double it
async def test_kill_9_during_review_and_rewards_pays_each_reward_once(tmp_path: Path) -> None:
    rng = random.Random(59)
    database = tmp_path / "data" / "tipline.sqlite3"
    async with FakeTelegram() as fake:
        fake.add_group(
            REVIEW_CHAT,
            "Reviewers",
            {fake.bot_id: "administrator", REVIEWER: "member", SECOND_REVIEWER: "member"},
        )
        fake.add_group(
            FINANCE_CHAT,
            "Finance",
            {fake.bot_id: "member", REVIEWER: "member", FINANCE_CLERK: "member"},
        )
        fake.set_member(FINANCE_CHAT, SECOND_CLERK, "member")
        fake.set_member(FINANCE_CHAT, CASHIER, "member")
        cases = _cases(fake, rng)
        env = _env(tmp_path, fake)
        bot = BotProcess(tmp_path, env, fake)
        started = time.monotonic()
        await bot.start()
        work: asyncio.Future[Any] | None = None
        try:
            receipts = await asyncio.gather(
                *(
                    send_text_tip(
                        fake, c.tipster, f"case {n}: pills sold at gate {n}", contact=c.contact
                    )
                    for n, c in enumerate(cases)
                )
            )
            for n, (case, receipt) in enumerate(zip(cases, receipts, strict=True)):
                case.receipt = receipt
                card = await _card_showing(fake, f"at gate {n}")
                case.reference = card["_plain"].split()[2]
            intake_done = time.monotonic()

            def kills() -> int:
                return len(bot.kill_times)

            work = asyncio.ensure_future(
                asyncio.gather(
                    *(
                        _work_case(fake, c, random.Random(rng.random()), kills, start)
                        for c, start in zip(cases, _starts(), strict=True)
                    )
                )
            )
            kills_during_work = await _kill_repeatedly(bot, fake, rng, work)
            await asyncio.wait_for(work, timeout=60)
            work_done = time.monotonic()

            def delivered() -> bool:  # the last notices of every case have arrived
                return all(
                    _shows(fake, REVIEW_CHAT, f"for {c.reference} has been paid")
                    and (
                        not c.contact
                        or _shows(fake, c.tipster.id, f"tip {c.reference} has been paid")
                    )
                    for c in cases
                )

            await fake.wait_until(delivered, timeout=20)
            await asyncio.sleep(1.0)  # let any card and post refreshes go out
        except BaseException:
            if work is not None:
                work.cancel()
            _dump(bot, fake, database)
            raise
        finally:
            code = await bot.stop()
            bot.close()
        again = sum((c.again for c in cases), Counter[str]())
        log = bot.log_path.read_text(errors="replace")
        resumed = sum(
            int(n) for n in re.findall(r"handling (\d+) update\(s\) left in the inbox", log)
        )
        print(
            f"kill -9 x{len(bot.kill_times)} ({kills_during_work} during the work);"
            f" intake {intake_done - started:.1f}s, review and rewards"
            f" {work_done - intake_done:.1f}s, total {time.monotonic() - started:.1f}s;"
            f" done again by people: {dict(again)}; after restarts {resumed} update(s) were"
            f" handled from the inbox and {log.count('was already applied')} refused as applied"
        )
        assert code == 0
        assert kills_during_work >= KILLS, f"only {kills_during_work} kills hit the work"
        _check_database(database, cases)
        _check_audit(database, cases)
        audit_code, out, err = await run_cli(tmp_path, env, "audit-verify")
        audit_out = out + err
        assert audit_code == 0 and "intact" in audit_out, audit_out
        repeats = _check_messages(fake, bot, cases)
        print(f"{len(cases)} rewards paid once each; {repeats} repeat(s) from the crash window")


def _check_database(database: Path, cases: list[Case]) -> None:
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT COUNT(*) FROM inbox").fetchone()[0] == 0
        pending = conn.execute("SELECT kind FROM outbox WHERE status = 'pending'").fetchall()
        assert pending == [], f"undelivered: {pending}"
        failed = conn.execute("SELECT kind, last_error FROM outbox WHERE status != 'sent'")
        assert failed.fetchall() == []
        reports = dict(conn.execute("SELECT reference, status FROM reports").fetchall())
        assert sorted(reports) == sorted(c.reference for c in cases), "each tip stored once"
        assert set(reports.values()) == {"verified"}
        for case in cases:
            rows = conn.execute(
                "SELECT r.id, r.status, r.tier, r.proposer_id, r.paid_by, r.payout_reference,"
                " r.id_checked, r.code_hash FROM rewards r JOIN reports t ON t.id = r.report_id"
                " WHERE t.reference = ?",
                (case.reference,),
            ).fetchall()
            assert len(rows) == 1, f"{case.reference}: {len(rows)} reward rows"
            reward_id, status, tier, proposer, paid_by, voucher, id_checked, code_hash = rows[0]
            assert (status, tier, proposer) == ("paid", case.tier, case.reviewer.id)
            assert (paid_by, voucher, id_checked) == (case.payer.id, case.voucher, 1)
            assert code_hash is None, "the claim code stops working once paid"
            approvers = [
                a
                for (a,) in conn.execute(
                    "SELECT approver_id FROM reward_approvals WHERE reward_id = ?", (reward_id,)
                )
            ]
            assert sorted(approvers) == sorted(a.id for a in case.approvers)
            assert proposer not in approvers, "four eyes"
            assert paid_by not in approvers and paid_by != proposer, "the payer decided nothing"
            open_schedules = conn.execute(
                "SELECT COUNT(*) FROM schedules WHERE reward_id = ? AND status = 'pending'",
                (reward_id,),
            ).fetchone()[0]
            assert open_schedules == 0, "reminders and the expiry are cancelled at payout"


def _check_audit(database: Path, cases: list[Case]) -> None:
    """Each reward decision is in the audit chain exactly once, by the person who made it."""
    with sqlite3.connect(database) as conn:
        rows = conn.execute("SELECT action, report_ref, actor_id, details FROM audit").fetchall()
    for case in cases:
        mine = sorted(
            (action, actor)
            for action, ref, actor, _ in rows
            if ref == case.reference and action.startswith("reward_")
        )
        expected = sorted(
            [("reward_propose", case.reviewer.id), ("reward_pay", case.payer.id)]
            + [("reward_approve", a.id) for a in case.approvers]
        )
        assert mine == expected, case.reference
        (pay,) = [
            json.loads(details)
            for action, ref, _, details in rows
            if ref == case.reference and action == "reward_pay"
        ]
        assert pay["voucher"] == case.voucher and pay["id_checked"] is True


def _check_messages(fake: FakeTelegram, bot: BotProcess, cases: list[Case]) -> int:
    """Every notice arrived; a second copy only from the crash window. Returns the repeats."""
    sent_at = {
        (c.params.get("chat_id"), c.result["message_id"]): c.at
        for c in fake.calls_of("sendMessage")
        if not c.failed and isinstance(c.result, dict)
    }

    def explained(first: float) -> bool:
        """A kill landed just after the first copy was sent. The fake notes a request when it
        reads it, which can be a moment after a kill that came right after the bot wrote it:
        hence the 0.1 s before."""
        return any(first - 0.1 <= k <= first + 1.0 for k in bot.kill_times)

    repeats = 0

    def once(chat_id: int, text: str, expected: int = 1) -> None:
        nonlocal repeats
        copies = [m for m in fake.messages_in(chat_id) if text in m["_plain"]]
        if expected == 0:
            assert copies == [], f"{text!r} should not have been sent"
            return
        assert copies, f"{text!r} never reached {chat_id}"
        if len(copies) > 1:
            times = [sent_at[(m["chat_id"], m["message_id"])] for m in copies]
            kills = [round(k - times[0], 3) for k in bot.kill_times if abs(k - times[0]) < 5]
            detail = (
                f"{text!r} repeated: copies at {[round(t - times[0], 3) for t in times]} s,"
                f" kills at {kills} s after the first copy"
            )
            assert len(copies) == 2 and explained(times[0]), detail
            repeats += 1

    for case in cases:
        ref, tipster = case.reference, case.tipster.id
        once(REVIEW_CHAT, f"📋 Tip {ref}")
        once(FINANCE_CHAT, f"Reward proposal for {ref}")
        once(REVIEW_CHAT, f"The reward of {case.amount} for {ref} was approved")
        once(REVIEW_CHAT, f"The reward of {case.amount} for {ref} has been paid")
        notices = (
            f"Update on your tip {ref}: A reviewer is looking into it.",
            f"Update on your tip {ref}: Verified",
            f"Good news about your tip {ref}: a reward of {case.amount}",
            f"The reward of {case.amount} for your tip {ref} has been paid",
        )
        for notice in notices:
            once(tipster, notice, expected=1 if case.contact else 0)
        post = _post(fake, ref)
        assert post is not None and "Status: ✅ paid" in post["_plain"]
        assert f"Reward: {case.amount}, ✅ paid" in _card(fake, ref)["_plain"]
    return repeats

"""The case desk end to end: an outcome recorded, corrected and audited; the tier its seizure
suggests; linked tips of one case sharing one reward."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.e2e.conftest import REVIEW_CHAT, RunningBot, make_settings, write_policy
from tests.e2e.review_flows import answer_of, card_shows, find_card, press
from tests.e2e.test_rewards import _people, _propose, _verified_tip

NOTE = "CANARY-OUTCOME-NOTE van seized at the pier"


@pytest.fixture
async def bot(fake, tmp_path):  # overrides the shared fixture: many posts to one group
    extra = "[telegram]\ngroup_messages_per_minute = 0\n"
    policy = write_policy(tmp_path / "outcomes-policy.toml", extra)
    running = RunningBot(make_settings(tmp_path, fake, policy_file=policy))
    await running.start()
    yield running
    await running.stop()


async def _outcome(fake, who, ref: str, text: str, expect: str) -> dict:
    fake.user_sends_text(who, f"/outcome {ref} {text}", chat_id=REVIEW_CHAT)
    return await fake.wait_for_message(
        REVIEW_CHAT, lambda m: expect in m["_plain"] and ref in m["_plain"]
    )


async def test_an_outcome_is_recorded_corrected_audited_and_suggests_a_tier(
    fake, bot: RunningBot
) -> None:
    anna, _, _, tipster = _people(fake)
    _, ref = await _verified_tip(fake, anna, tipster)

    fake.user_sends_text(anna, f"/outcome {ref} case 2026-123; heroin fifty", chat_id=REVIEW_CHAT)
    await fake.wait_for_message(REVIEW_CHAT, lambda m: "could not read" in m["_plain"])

    await _outcome(
        fake,
        anna,
        ref,
        f"case 2026-123; arrested 2; heroin 40g; meth 1.2kg; note: {NOTE}",
        "Outcome recorded",
    )
    card = await card_shows(fake, ref, "Case 2026-123 · arrested 2")
    assert "heroin equivalent 1.24 kg" in card["_plain"]
    assert NOTE not in card["_plain"]  # the note is in /tip, not on the card

    await _outcome(
        fake, anna, ref, "case 2026-123; arrested 3; heroin 30g; note: corrected", "corrected"
    )
    card = await card_shows(fake, ref, "Case 2026-123 · arrested 3")
    assert "heroin equivalent 30 g" in card["_plain"]

    fake.user_sends_text(anna, f"/tip {ref}", chat_id=REVIEW_CHAT)
    shown = await fake.wait_for_message(
        REVIEW_CHAT, lambda m: "corrected the outcome" in m["_plain"]
    )
    assert "recorded the outcome" in shown["_plain"]
    assert NOTE in shown["_plain"]  # the first version, in the history
    assert "Outcome note: corrected" in shown["_plain"]

    # 💰: the tier of the seizure (30 g of heroin equivalent) comes first, marked as suggested.
    await answer_of(fake, press(fake, anna, ref, "reward"))
    tiers = await fake.wait_for_message(REVIEW_CHAT, lambda m: "Which reward tier" in m["_plain"])
    assert "Suggested from the recorded seizure: Drugs seized: 10-50 g" in tiers["_plain"]
    first = tiers["reply_markup"]["inline_keyboard"][0][0]
    assert first["callback_data"] == f"v1:w:seized_10_50g:{ref}"
    assert first["text"].startswith("⭐")
    assert len(tiers["reply_markup"]["inline_keyboard"]) == len(bot_tiers(bot))

    await bot.stop()
    with sqlite3.connect(bot.settings.data_dir / "tipline.sqlite3") as conn:
        rows = conn.execute(
            "SELECT action, details FROM audit WHERE report_ref = ? AND action LIKE 'outcome%'"
            " ORDER BY id",
            [ref],
        ).fetchall()
        sealed = conn.execute("SELECT sealed_note FROM outcomes").fetchone()[0]
    assert [action for action, _ in rows] == ["outcome", "outcome_corrected"]
    first_details, second_details = (json.loads(details) for _, details in rows)
    assert first_details["seizures_mg"] == {"heroin": 40_000, "meth": 1_200_000}
    assert first_details["heroin_eq_mg"] == 1_240_000
    assert second_details["arrested"] == 3 and second_details["previous_case"] == "2026-123"
    assert all("CANARY" not in details and "corrected" not in details for _, details in rows)
    assert b"corrected" not in sealed  # sealed under the tip's key


def bot_tiers(bot: RunningBot) -> list[str]:
    from bot.domain import policy

    return [t.key for t in policy.load(bot.settings.policy_file).rewards.tiers]


async def test_tips_of_one_case_are_linked_and_share_one_reward(fake, bot: RunningBot) -> None:
    anna, _, _, tipster = _people(fake)
    other = fake.add_user(8200000009, "OtherTipster")
    _, first = await _verified_tip(fake, anna, tipster, "Case tip one: the depot by the mill")
    _, second = await _verified_tip(fake, anna, other, "Case tip two: the van at the pier")
    await _outcome(fake, anna, first, "case GA-77; arrested 1; heroin 60g", "Outcome recorded")
    await _outcome(fake, anna, second, "case ga-77; arrested 2", "Outcome recorded")
    await card_shows(fake, second, f"Same case: {first}")
    await card_shows(fake, first, f"Same case: {second}")

    await _propose(fake, anna, first, "seized_50_500g", "Seized 60 g at the depot")
    await fake.wait_until(  # the case's other card drops its 💰 button
        lambda: f"v1:r:reward:{second}" not in fake.button_data(find_card(fake, second))
    )
    answer = await answer_of(
        fake, fake.user_presses(anna, find_card(fake, second), f"v1:r:reward:{second}")
    )
    assert "one reward per case" in answer["text"]
    assert f"(tip {first})" in answer["text"]
    # Linking a tip that has its own reward to a case already rewarded is refused too.
    third_tipster = fake.add_user(8200000010, "ThirdTipster")
    _, third = await _verified_tip(fake, anna, third_tipster, "Case tip three: the boat")
    await _outcome(fake, anna, third, "case GA-78; heroin 5g", "Outcome recorded")
    await _propose(fake, anna, third, "seized_lt_10g", "Seized 5 g on the boat")
    fake.user_sends_text(anna, f"/outcome {third} case GA-77; heroin 5g", chat_id=REVIEW_CHAT)
    await fake.wait_for_message(
        REVIEW_CHAT, lambda m: "one reward per case" in m["_plain"] and third in m["_plain"]
    )


async def test_the_outcome_button_asks_and_the_reply_records_it(fake, bot: RunningBot) -> None:
    anna, _, _, tipster = _people(fake)
    _, ref = await _verified_tip(fake, anna, tipster)
    await fake.wait_until(lambda: f"v1:r:outcome:{ref}" in fake.button_data(find_card(fake, ref)))
    await answer_of(fake, press(fake, anna, ref, "outcome"))
    prompt = await fake.wait_for_message(
        REVIEW_CHAT, lambda m: f"the outcome of {ref}" in m["_plain"]
    )
    reply = prompt["message_id"]
    fake.user_sends_text(anna, "heroin 3g", chat_id=REVIEW_CHAT, reply_to_message_id=reply)
    await fake.wait_for_message(
        REVIEW_CHAT, lambda m: "needs the police case number" in m["_plain"]
    )
    fake.user_sends_text(
        anna, "案号 2026-9；抓获 1；冰毒 20克", chat_id=REVIEW_CHAT, reply_to_message_id=reply
    )
    await fake.wait_for_message(REVIEW_CHAT, lambda m: f"Outcome recorded for {ref}" in m["_plain"])
    card = await card_shows(fake, ref, "Case 2026-9 · arrested 1")
    assert "heroin equivalent 20 g" in card["_plain"]
    # The prompt is used up: another reply to it changes nothing.
    fake.user_sends_text(anna, "case 2026-10", chat_id=REVIEW_CHAT, reply_to_message_id=reply)
    fake.user_sends_text(anna, f"/tip {ref}", chat_id=REVIEW_CHAT)
    shown = await fake.wait_for_message(
        REVIEW_CHAT, lambda m: "recorded the outcome" in m["_plain"]
    )
    assert "corrected the outcome" not in shown["_plain"]

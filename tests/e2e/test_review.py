"""The reviewers' desk end to end: claim, ask, answers relayed, decisions, refusals, routing."""

from __future__ import annotations

import re
import struct

import pytest

from tests.e2e.conftest import (
    REVIEW_CHAT,
    REVIEWER,
    RunningBot,
    change_stored,
    cli_database_env,
    make_settings,
    run_cli,
    stored,
    write_policy,
)
from tests.e2e.flows import added, begin, send_text_tip, submit
from tests.e2e.review_flows import answer_of, card_shows, find_card, press, tip_with_card
from tests.images import has_metadata, jpeg_with_gps

TIPSTER_ID = 8100000001
TIPSTER_NAME = "TipsterCanaryName"
REVIEWER_NAME = "AnnaReviewer"
SECOND_REVIEWER = 700000003


@pytest.fixture
def settings(tmp_path, fake, database_url):
    """Every flow here runs on the SQLite file and on PostgreSQL."""
    return make_settings(tmp_path, fake, database_url=database_url)


def _setup_staff(fake) -> tuple:
    anna = fake.add_user(REVIEWER, REVIEWER_NAME, username="anna_rev")
    bob = fake.add_user(SECOND_REVIEWER, "BobReviewer")
    fake.set_member(REVIEW_CHAT, SECOND_REVIEWER, "member")
    tipster = fake.add_user(TIPSTER_ID, TIPSTER_NAME, username="tipster_canary")
    return anna, bob, tipster


async def test_claim_ask_answer_verify_without_identifying_anyone(fake, bot: RunningBot) -> None:
    anna, _, tipster = _setup_staff(fake)
    _, ref = await tip_with_card(fake, tipster, "Heroin sold at the night market stall 12")
    assert "v1:r:claim:" + ref in fake.button_data(find_card(fake, ref))

    await answer_of(fake, press(fake, anna, ref, "claim"))
    card = await card_shows(fake, ref, "in review")
    assert f"Held by: {REVIEWER_NAME}" in card["_plain"]
    assert f"v1:r:verify:{ref}" in fake.button_data(card)
    notice = await fake.wait_for_message(tipster.id, lambda m: "reviewer is looking" in m["_plain"])
    assert ref in notice["_plain"]

    await answer_of(fake, press(fake, anna, ref, "ask"))
    prompt = await fake.wait_for_message(
        REVIEW_CHAT, lambda m: "write your question" in m["_plain"]
    )
    assert prompt["reply_markup"].get("force_reply") is True
    fake.user_sends_text(
        anna,
        "Which stall exactly, and at what time?",
        chat_id=REVIEW_CHAT,
        reply_to_message_id=prompt["message_id"],
    )
    await fake.wait_for_message(REVIEW_CHAT, lambda m: "Question relayed" in m["_plain"])
    question = await fake.wait_for_message(
        tipster.id, lambda m: "Which stall exactly" in m["_plain"]
    )
    await card_shows(fake, ref, "waiting for the tipster")

    reply_data = next(d for d in fake.button_data(question) if d.startswith("v1:a:"))
    fake.user_presses(tipster, question, reply_data)
    await fake.wait_for_message(tipster.id, lambda m: "Send your answer now" in m["_plain"])
    fake.user_sends_text(tipster, "Stall 12, around 23:00 every Friday")
    await fake.wait_for_message(tipster.id, lambda m: "Passed on" in m["_plain"])
    fake.user_sends_photo(tipster, jpeg_with_gps())
    await fake.wait_for_message(tipster.id, lambda m: "Passed on" in m["_plain"])

    answer = await fake.wait_for_message(REVIEW_CHAT, lambda m: "around 23:00" in m["_plain"])
    card = find_card(fake, ref)
    assert answer["reply_parameters"]["message_id"] == card["message_id"]
    alias = card["_plain"].split("Tipster: ")[1].split("\n")[0]
    assert alias in answer["_plain"]
    photo = await fake.wait_for_message(REVIEW_CHAT, lambda m: m.get("method") == "sendPhoto")
    assert not has_metadata(photo["_upload"]["data"])
    await card_shows(fake, ref, "in review")

    await answer_of(fake, press(fake, anna, ref, "verify"))
    await card_shows(fake, ref, "verified")
    await fake.wait_for_message(tipster.id, lambda m: "Verified" in m["_plain"])

    tipster_side = " ".join(
        m["_plain"] + repr(m.get("reply_markup")) for m in fake.messages_in(tipster.id)
    )
    for secret in (REVIEWER_NAME, "anna_rev", str(REVIEWER)):
        assert secret not in tipster_side
    review_side = repr(fake.messages_in(REVIEW_CHAT)).encode()
    for secret in (
        TIPSTER_NAME.encode(),
        b"tipster_canary",
        str(TIPSTER_ID).encode(),
        struct.pack(">q", TIPSTER_ID),
    ):
        assert secret not in review_side


async def test_non_member_press_is_refused_and_changes_nothing(fake, bot: RunningBot) -> None:
    _, _, tipster = _setup_staff(fake)
    outsider = fake.add_user(9000000001, "Outsider")
    _, ref = await tip_with_card(fake, tipster, "Cannabis grown on the roof of block 7")
    answer = await answer_of(fake, press(fake, outsider, ref, "claim"))
    assert answer["show_alert"] is True and "Only members" in answer["text"]
    # A positive signal before "nothing happened": a member's press after it is applied and
    # its card edit arrives; the outsider's press left no edit of its own before it.
    anna = fake.users[REVIEWER]
    await answer_of(fake, press(fake, anna, ref, "claim"))
    await card_shows(fake, ref, "in review")
    assert len(fake.calls_of("editMessageText")) == 1


async def test_two_reviewers_racing_first_wins(fake, bot: RunningBot) -> None:
    anna, bob, tipster = _setup_staff(fake)
    _, ref = await tip_with_card(fake, tipster, "Lab smell from the garage at number 3")
    # Both presses arrive in one batch and are handled concurrently: whichever commits first
    # wins, and the other is told who was first. Exactly one of them may win.
    queries = [
        (REVIEWER_NAME, press(fake, anna, ref, "claim")),
        ("BobReviewer", press(fake, bob, ref, "claim")),
    ]
    answers = {name: await answer_of(fake, query) for name, query in queries}
    winners = [name for name, a in answers.items() if a["text"].startswith("Claimed")]
    assert len(winners) == 1, answers
    winner = winners[0]
    loser = next(name for name in answers if name != winner)
    lost = answers[loser]
    assert lost["show_alert"] is True
    assert winner in lost["text"] and "first" in lost["text"]
    card = await card_shows(fake, ref, "in review")
    assert f"Held by: {winner}" in card["_plain"]
    other = bob if loser == "BobReviewer" else anna
    held = await answer_of(fake, press(fake, other, ref, "verify"))
    assert "held by" in held["text"]


async def test_forged_and_stale_callbacks_are_refused(fake, bot: RunningBot) -> None:
    anna, _, tipster = _setup_staff(fake)
    _, ref = await tip_with_card(fake, tipster, "Dealer in the blue car near the school")
    card = find_card(fake, ref)
    for data in ("v1:r:verify:T-2026-9999", "v1:r:explode:" + ref, "v1:r:" + "x" * 50, "v9:zz"):
        answer = await answer_of(fake, fake.user_presses(anna, card, data))
        assert answer["show_alert"] is True, data
    stale = await answer_of(fake, press(fake, anna, ref, "verify"))
    assert "moved on" in stale["text"]
    assert "new" in find_card(fake, ref)["_plain"]


async def test_anonymous_admin_is_refused(fake, bot: RunningBot) -> None:
    _setup_staff(fake)
    group = {"id": REVIEW_CHAT, "type": "supergroup", "title": "Reviewers"}
    fake.inject_update(
        {
            "message": {
                "message_id": 900001,
                "date": 1_795_000_000,
                "chat": group,
                "sender_chat": group,
                "from": {
                    "id": 1087968824,
                    "is_bot": True,
                    "first_name": "Group",
                    "username": "GroupAnonymousBot",
                },
                "text": "/queue",
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            }
        }
    )
    refusal = await fake.wait_for_message(REVIEW_CHAT, lambda m: "attributable" in m["_plain"])
    assert "Remain anonymous" in refusal["_plain"]


async def test_no_contact_disables_ask_and_duplicate_links_tips(fake, bot: RunningBot) -> None:
    anna, _, tipster = _setup_staff(fake)
    _, original = await tip_with_card(fake, tipster, "Warehouse on Dock Road packs pills")
    other = fake.add_user(8100000002, "Other")
    _, ref = await tip_with_card(
        fake, other, "Pills packed at the Dock Road warehouse", contact=False
    )
    await answer_of(fake, press(fake, anna, ref, "claim"))
    card = await card_shows(fake, ref, "in review")
    assert f"v1:r:nocontact:{ref}" in fake.button_data(card)
    refused = await answer_of(fake, fake.user_presses(anna, card, f"v1:r:nocontact:{ref}"))
    assert "chose no contact" in refused["text"]

    await answer_of(fake, press(fake, anna, original, "duplicate"))
    prompt = await fake.wait_for_message(
        REVIEW_CHAT, lambda m: "reference of the original" in m["_plain"]
    )
    fake.user_sends_text(
        anna, "T-1999-0001", chat_id=REVIEW_CHAT, reply_to_message_id=prompt["message_id"]
    )
    await fake.wait_for_message(REVIEW_CHAT, lambda m: "is not another tip" in m["_plain"])
    fake.user_sends_text(anna, ref, chat_id=REVIEW_CHAT, reply_to_message_id=prompt["message_id"])
    await fake.wait_for_message(REVIEW_CHAT, lambda m: "marked as a duplicate" in m["_plain"])
    card = await card_shows(fake, original, "Duplicate of: " + ref)
    await card_shows(fake, ref, "Repeated by: " + original)
    notice = await fake.wait_for_message(tipster.id, lambda m: "Already known" in m["_plain"])
    assert ref not in notice["_plain"]


async def test_commands_tip_queue_note_search(fake, bot: RunningBot) -> None:
    anna, _, tipster = _setup_staff(fake)
    _, ref = await tip_with_card(
        fake, tipster, "Motorbike courier drops parcels at the karaoke bar"
    )
    await answer_of(fake, press(fake, anna, ref, "claim"))
    fake.user_sends_text(anna, f"/note {ref} plainclothes check on Friday", chat_id=REVIEW_CHAT)
    await fake.wait_for_message(REVIEW_CHAT, lambda m: "Note added" in m["_plain"])
    fake.user_sends_text(anna, f"/tip {ref}", chat_id=REVIEW_CHAT)
    history = await fake.wait_for_message(REVIEW_CHAT, lambda m: "plainclothes" in m["_plain"])
    assert "claimed" in history["_plain"] and REVIEWER_NAME in history["_plain"]
    fake.user_sends_text(anna, "/queue", chat_id=REVIEW_CHAT)
    queue = await fake.wait_for_message(REVIEW_CHAT, lambda m: "Open tips" in m["_plain"])
    assert ref in queue["_plain"]
    fake.user_sends_text(anna, "/search karaoke courier", chat_id=REVIEW_CHAT)
    found = await fake.wait_for_message(REVIEW_CHAT, lambda m: "Matching tips" in m["_plain"])
    assert ref in found["_plain"]
    fake.user_sends_text(anna, "/search nothing-like-this", chat_id=REVIEW_CHAT)
    await fake.wait_for_message(REVIEW_CHAT, lambda m: "No tip in this chat matches" in m["_plain"])
    assert all("plainclothes" not in m["_plain"] for m in fake.messages_in(tipster.id))


async def test_routing_sends_tips_to_their_district_chat(fake, tmp_path, database_url) -> None:
    north_chat = -1001000000077
    north_reviewer = fake.add_user(700000077, "NorthReviewer")
    fake.add_group(
        north_chat, "North team", {fake.bot_id: "administrator", north_reviewer.id: "member"}
    )
    anna, _, tipster = _setup_staff(fake)
    policy = write_policy(
        tmp_path / "routed.toml",
        '[[intake.areas]]\nkey = "north"\nen = "North district"\nzh = "北区"\n'
        '[[review.routes]]\nchat_id = -1001000000077\nareas = ["north"]\n',
    )
    running = RunningBot(
        make_settings(tmp_path, fake, policy_file=policy, database_url=database_url)
    )
    await running.start()
    try:
        from tests.e2e.flows import added, submit, wait_button
        from tests.e2e.flows import press as tipster_press

        fake.user_sends_text(tipster, "/report")
        await wait_button(fake, tipster.id, "v1:t:cat:other")
        tipster_press(fake, tipster, "v1:t:cat:other")
        await wait_button(fake, tipster.id, "v1:t:area:north")
        tipster_press(fake, tipster, "v1:t:area:north")
        await wait_button(fake, tipster.id, "v1:t:review")
        fake.user_sends_text(tipster, "Routed tip about the north depot")
        await added(fake, tipster)
        await submit(fake, tipster)
        card = await fake.wait_for_message(north_chat, lambda m: "north depot" in m["_plain"])
        ref = card["_plain"].split()[2]
        assert "North district" in card["_plain"]
        assert all("north depot" not in m["_plain"] for m in fake.messages_in(REVIEW_CHAT))
        fake.user_sends_text(anna, f"/tip {ref}", chat_id=REVIEW_CHAT)
        await fake.wait_for_message(REVIEW_CHAT, lambda m: f"No tip {ref}" in m["_plain"])
        forged = await answer_of(fake, fake.user_presses(anna, card, f"v1:r:claim:{ref}"))
        assert forged["show_alert"] is True
        await answer_of(fake, press(fake, north_reviewer, ref, "claim", chat_id=north_chat))
        await card_shows(fake, ref, "in review", chat_id=north_chat)
    finally:
        await running.stop()


async def test_audit_verify_detects_tampering(fake, bot: RunningBot, settings, tmp_path) -> None:
    anna, _, tipster = _setup_staff(fake)
    _, ref = await tip_with_card(fake, tipster, "Audit me: deals behind the cinema")
    await answer_of(fake, press(fake, anna, ref, "claim"))
    await answer_of(fake, press(fake, anna, ref, "spam"))
    await card_shows(fake, ref, "spam")
    await bot.stop()
    env = {
        "PATH": "/usr/bin:/bin",
        "TIPLINE_BOT_TOKEN": fake.token,
        "TIPLINE_API_URL": fake.url,
        "TIPLINE_REVIEW_CHAT_ID": str(REVIEW_CHAT),
        "TIPLINE_FINANCE_CHAT_ID": "-1001000000002",
        "TIPLINE_DATA_DIR": str(settings.data_dir),
        "TIPLINE_KEY_FILE": str(settings.key_file),
        **cli_database_env(settings),
    }

    async def verify() -> tuple[int, str]:
        code, out, _ = await run_cli(tmp_path, env, "audit-verify")
        return code, out

    code, out = await verify()
    assert code == 0 and "intact (2 rows)" in out
    await change_stored(settings, "UPDATE audit SET action = 'verify' WHERE id = 2")
    code, out = await verify()
    assert code == 1 and "row 2" in out and "changed" in out
    await change_stored(
        settings,
        "UPDATE audit SET action = 'spam' WHERE id = 2",
        "DELETE FROM audit WHERE id = 1",
    )
    code, out = await verify()
    assert code == 1 and "row 1 is missing" in out


async def test_a_tip_post_telegram_refuses_is_reported_and_can_be_reposted(
    fake, bot: RunningBot
) -> None:
    """A staff post refused for good (an unexpected 400) no longer vanishes with a log line:
    the review chat is told by reference, and /repost brings the tip back."""
    anna, _, tipster = _setup_staff(fake)
    fake.refuse_if = lambda method, params: (
        params.get("chat_id") == REVIEW_CHAT and "refused post" in str(params.get("text", ""))
    )
    await send_text_tip(fake, tipster, "A refused post about the pier")
    notice = await fake.wait_for_message(
        REVIEW_CHAT, lambda m: "could not be delivered" in m["_plain"]
    )
    reference = re.search(r"T-\d{4}-\d{4,7}", notice["_plain"]).group(0)
    assert "pier" not in notice["_plain"], "the notice names the tip, never its content"
    fake.refuse_if = None
    fake.user_sends_text(anna, f"/repost {reference}", chat_id=REVIEW_CHAT)
    card = await fake.wait_for_message(
        REVIEW_CHAT, lambda m: reference in m["_plain"] and "pier" in m["_plain"]
    )
    assert "v1:r:claim:" + reference in fake.button_data(card)


async def test_an_answer_post_telegram_refuses_is_reported_and_comes_back_with_the_tip(
    fake, bot: RunningBot
) -> None:
    """An answer Telegram refuses for good is reported like the tip's post; /repost posts the
    tip again with every answer under the new card."""
    anna, _, tipster = _setup_staff(fake)
    _, ref = await tip_with_card(fake, tipster, "A van at the canal lock every night")
    await answer_of(fake, press(fake, anna, ref, "claim"))
    await answer_of(fake, press(fake, anna, ref, "ask"))
    prompt = await fake.wait_for_message(
        REVIEW_CHAT, lambda m: "write your question" in m["_plain"]
    )
    fake.user_sends_text(
        anna, "Which lock?", chat_id=REVIEW_CHAT, reply_to_message_id=prompt["message_id"]
    )
    question = await fake.wait_for_message(tipster.id, lambda m: "Which lock?" in m["_plain"])
    fake.refuse_if = lambda method, params: (
        params.get("chat_id") == REVIEW_CHAT and "the third lock" in str(params.get("text", ""))
    )
    fake.user_presses(
        tipster, question, next(d for d in fake.button_data(question) if d.startswith("v1:a:"))
    )
    await fake.wait_for_message(tipster.id, lambda m: "Send your answer now" in m["_plain"])
    fake.user_sends_text(tipster, "It is the third lock, east bank")
    notice = await fake.wait_for_message(
        REVIEW_CHAT, lambda m: "could not be delivered" in m["_plain"]
    )
    assert ref in notice["_plain"] and "third lock" not in notice["_plain"]
    fake.refuse_if = None
    fake.user_sends_text(anna, f"/repost {ref}", chat_id=REVIEW_CHAT)
    card = await fake.wait_for_message(
        REVIEW_CHAT, lambda m: m["_plain"].startswith(f"📋 Tip {ref}")
    )
    again = await fake.wait_for_message(REVIEW_CHAT, lambda m: "the third lock" in m["_plain"])
    assert again["reply_parameters"]["message_id"] == card["message_id"], "under the new card"


async def test_a_missing_attachment_file_ends_its_row_and_lets_the_rest_through(
    fake, bot: RunningBot, settings
) -> None:
    """A sealed file gone from the data directory is a permanent fault, not a transient one:
    the row ends (reported, as above) instead of being retried forever and blocking the tip's
    later rows."""
    _, _, tipster = _setup_staff(fake)
    fake.unreachable_chats.add(REVIEW_CHAT)  # hold the post back while the file disappears
    await begin(fake, tipster, area=None)
    fake.user_sends_text(tipster, "The van in the photo")
    await added(fake, tipster)
    fake.user_sends_photo(tipster, jpeg_with_gps())
    await added(fake, tipster)
    await submit(fake, tipster)
    await fake.wait_until(
        lambda: any(c.failed and c.params.get("chat_id") == REVIEW_CHAT for c in fake.calls)
    )
    for blob in (settings.data_dir / "blobs").rglob("*"):
        if blob.is_file():
            blob.unlink()
    fake.unreachable_chats.clear()
    notice = await fake.wait_for_message(
        REVIEW_CHAT, lambda m: "could not be delivered" in m["_plain"], timeout=20
    )
    assert re.search(r"T-\d{4}-\d{4,7}", notice["_plain"])
    [(pending,)] = await stored(
        settings, "SELECT COUNT(*) FROM outbox WHERE status = 'pending' AND kind = 'tip_posted'"
    )
    failed = await stored(
        settings, "SELECT last_error FROM outbox WHERE status = 'failed' AND kind = 'tip_posted'"
    )
    assert pending == 0 and failed == [("an attachment file of the tip is missing",)]


LURE_QUESTION = (
    "Is this you? https://evil.example/x or evil.example, ask @lure_bot at t.me/lure"
    " or write to someone@evil.example"
)
LINK_ENTITIES = {"url", "email", "mention", "text_link", "text_mention"}


async def test_a_question_with_lures_reaches_the_tipster_with_nothing_to_tap(
    fake, bot: RunningBot
) -> None:
    """Links, addresses and mentions in a reviewer's question are relayed inert: the message
    the tipster gets has no entity Telegram would make clickable (the fake finds them as
    Telegram does), no preview, and the reviewer is told what the tipster reads."""
    anna, _, tipster = _setup_staff(fake)
    _, ref = await tip_with_card(fake, tipster, "Dealer uses a phone shop as a front")
    await answer_of(fake, press(fake, anna, ref, "claim"))
    await answer_of(fake, press(fake, anna, ref, "ask"))
    prompt = await fake.wait_for_message(
        REVIEW_CHAT, lambda m: "write your question" in m["_plain"]
    )
    fake.user_sends_text(
        anna, LURE_QUESTION, chat_id=REVIEW_CHAT, reply_to_message_id=prompt["message_id"]
    )
    told = await fake.wait_for_message(REVIEW_CHAT, lambda m: "Question relayed" in m["_plain"])
    assert "made inert" in told["_plain"] and "evil[.]example" in told["_plain"]
    question = await fake.wait_for_message(
        tipster.id, lambda m: "The reviewers have a question" in m["_plain"]
    )
    found = {e["type"] for e in question["_entities"]}
    assert not found & LINK_ENTITIES, question["_entities"]
    assert "italic" in found  # the fake did parse the message's own formatting
    plain = question["_plain"]
    for lure in ("https://", "evil.example", "@lure_bot", "t.me/", "someone@"):
        assert lure not in plain
    assert "lure_bot" in plain and "evil[.]example" in plain  # still readable
    assert question["link_preview_options"] == {"is_disabled": True}
    # The history keeps the question as it was written, for the reviewers only.
    fake.user_sends_text(anna, f"/tip {ref}", chat_id=REVIEW_CHAT)
    history = await fake.wait_for_message(REVIEW_CHAT, lambda m: "asked the tipster" in m["_plain"])
    assert "https://evil.example/x" in history["_plain"]

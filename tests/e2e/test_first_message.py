"""A citizen who writes their tip straight away, with no /start and no /report, loses nothing:
the message is the first part of a new draft, cleaned like any part, and the bot asks for the
category next, exactly as after /report."""

from __future__ import annotations

import sqlite3
from typing import Any

from tests import files
from tests.e2e.conftest import REVIEW_CHAT, RunningBot, make_settings, write_policy
from tests.e2e.flows import press, submit_from_summary, wait_button
from tests.e2e.review_flows import answer_of, card_shows, find_card, tip_with_card
from tests.e2e.review_flows import press as review_press
from tests.fake_telegram import FakeTelegram, FakeUser
from tests.images import EXIF_CANARY, has_metadata, jpeg_with_gps

TIPSTER_ID = 8400000001
KEPT = "I have kept your message as the start of a new tip"
TIP = "CANARY-FIRST-MESSAGE pills sold at the bus station kiosk every evening"


async def _kept(fake: FakeTelegram, user: FakeUser) -> dict[str, Any]:
    """The bot's answer to a first message: kept, then the category question (as /report)."""
    kept = await fake.wait_for_message(user.id, lambda m: m["_plain"].startswith(KEPT))
    await wait_button(fake, user.id, "v1:t:cat:drug_trafficking")
    return kept


async def _to_the_summary(fake: FakeTelegram, user: FakeUser) -> dict[str, Any]:
    """Category, area skipped, then the describe prompt (it knows a part is there) and the
    summary."""
    press(fake, user, "v1:t:cat:drug_trafficking")
    await wait_button(fake, user.id, "v1:t:area-skip")
    press(fake, user, "v1:t:area-skip")
    describe = await wait_button(fake, user.id, "v1:t:review")
    assert describe["_plain"].startswith("Add anything else you know"), describe["_plain"]
    press(fake, user, "v1:t:review")
    return await wait_button(fake, user.id, "v1:t:submit")


async def _card(fake: FakeTelegram, needle: str) -> dict[str, Any]:
    return await fake.wait_for_message(
        REVIEW_CHAT, lambda m: m["_plain"].startswith("📋 Tip") and needle in m["_plain"]
    )


def _count(settings, table: str) -> int:
    with sqlite3.connect(settings.data_dir / "tipline.sqlite3") as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


async def test_a_first_text_is_kept_as_the_drafts_first_part(fake, bot: RunningBot) -> None:
    tipster = fake.add_user(TIPSTER_ID, "T")
    fake.user_sends_text(tipster, TIP)
    kept = await _kept(fake, tipster)
    assert "/cancel" in kept["_plain"] and "Send the tip" in kept["_plain"]
    summary = await _to_the_summary(fake, tipster)
    assert "1. Text" in summary["_plain"] and TIP[:40] in summary["_plain"]
    assert "2." not in summary["_plain"]
    await submit_from_summary(fake, tipster)
    card = await _card(fake, TIP)
    assert "Drug trafficking" in card["_plain"]


async def test_a_first_photo_is_kept_as_the_drafts_first_part(fake, bot: RunningBot) -> None:
    tipster = fake.add_user(TIPSTER_ID, "T")
    fake.user_sends_photo(tipster, jpeg_with_gps(), caption="the kiosk at the bus station")
    await _kept(fake, tipster)
    summary = await _to_the_summary(fake, tipster)
    assert "1. photo" in summary["_plain"] and "hidden data removed" in summary["_plain"]
    assert "2. Text" in summary["_plain"] and "the kiosk" in summary["_plain"]
    await submit_from_summary(fake, tipster)
    await _card(fake, "the kiosk at the bus station")
    photo = await fake.wait_for_message(REVIEW_CHAT, lambda m: m.get("method") == "sendPhoto")
    assert not has_metadata(photo["_upload"]["data"])
    assert EXIF_CANARY.encode() not in photo["_upload"]["data"]


async def test_a_first_document_is_kept_as_the_drafts_first_part(
    fake, bot: RunningBot, settings
) -> None:
    """A file goes through the same cleaning as a part added in a draft: a PDF loses its
    author, a plain text file is passed on with the warning at once, an active file is
    refused and keeps nothing."""
    tipster = fake.add_user(TIPSTER_ID, "T")
    fake.user_sends_document(tipster, files.pdf(), "report_Zhangsan.pdf", "application/pdf")
    kept = await _kept(fake, tipster)
    assert "exactly as it is" not in kept["_plain"]
    summary = await _to_the_summary(fake, tipster)
    assert "1. file (.pdf) hidden data removed" in summary["_plain"]
    await submit_from_summary(fake, tipster)
    await _card(fake, "Drug trafficking")
    document = await fake.wait_for_message(REVIEW_CHAT, lambda m: m.get("method") == "sendDocument")
    assert files.CANARY.encode() not in document["_upload"]["data"]
    assert "Zhangsan" not in document["_upload"]["filename"]

    second = fake.add_user(TIPSTER_ID + 1, "U")
    fake.user_sends_document(second, files.TEXT, "notes.txt", "text/plain")
    warned = await _kept(fake, second)
    assert "exactly as it is" in warned["_plain"]

    third = fake.add_user(TIPSTER_ID + 2, "V")
    fake.user_sends_document(third, files.EXE, "photo.jpg", "image/jpeg")
    await fake.wait_for_message(third.id, lambda m: "can run code" in m["_plain"])
    fake.user_sends_text(third, "/cancel")
    await fake.wait_for_message(third.id, lambda m: "no tip in progress" in m["_plain"])
    assert _count(settings, "drafts") == 1, "only the second tipster's draft"


async def test_messages_before_the_first_answer_are_kept_too(fake, bot: RunningBot) -> None:
    """A tip written in several messages (here a text, a second text and a photo) before the
    category is chosen loses none of them; a photo while the area is asked is kept too, and
    text there is the area, as the question asks."""
    tipster = fake.add_user(TIPSTER_ID, "T")
    fake.user_sends_text(tipster, TIP)
    await _kept(fake, tipster)
    fake.user_sends_text(tipster, "they come on a red scooter")
    more = await fake.wait_for_message(tipster.id, lambda m: m["_plain"].startswith("Added: text"))
    assert "v1:t:cat:drug_trafficking" in fake.button_data(more)
    press(fake, tipster, "v1:t:cat:drug_trafficking")
    await wait_button(fake, tipster.id, "v1:t:area-skip")
    fake.user_sends_photo(tipster, jpeg_with_gps())
    photo = await fake.wait_for_message(
        tipster.id, lambda m: m["_plain"].startswith("Added: photo")
    )
    assert "v1:t:area-skip" in fake.button_data(photo)
    fake.user_sends_text(tipster, "Bus station")
    await wait_button(fake, tipster.id, "v1:t:review")
    press(fake, tipster, "v1:t:review")
    summary = await wait_button(fake, tipster.id, "v1:t:submit")
    assert "Area: Bus station" in summary["_plain"]
    assert "red scooter" in summary["_plain"] and "3. photo" in summary["_plain"]


async def test_a_first_message_over_the_daily_limit_keeps_nothing(fake, tmp_path) -> None:
    policy = write_policy(tmp_path / "one-a-day.toml", "[intake]\nmax_tips_per_day = 1\n")
    settings = make_settings(tmp_path, fake, policy_file=policy)
    running = RunningBot(settings)
    await running.start()
    try:
        tipster = fake.add_user(TIPSTER_ID, "T")
        fake.user_sends_text(tipster, TIP)
        await _kept(fake, tipster)
        await _to_the_summary(fake, tipster)
        await submit_from_summary(fake, tipster)
        fake.user_sends_photo(tipster, jpeg_with_gps(), caption="a second tip the same day")
        await fake.wait_for_message(tipster.id, lambda m: "come back tomorrow" in m["_plain"])
        kept = [m for m in fake.messages_in(tipster.id) if m["_plain"].startswith(KEPT)]
        assert len(kept) == 1, "only the first tip was kept"
    finally:
        await running.stop()
    assert _count(settings, "drafts") == 0
    assert not fake.calls_of("getFile"), "nothing was downloaded for a tip it cannot send"


async def test_while_answering_a_question_messages_go_to_the_reviewers(
    fake, bot: RunningBot, settings
) -> None:
    """The answer window wins, as before: what the tipster sends while it is open goes to
    the reviewers and starts no draft. Once it is closed, a message starts a draft again."""
    reviewer = fake.add_user(700000001, "Reviewer")
    tipster = fake.add_user(TIPSTER_ID, "T")
    _, ref = await tip_with_card(fake, tipster, "heroin at the container yard")
    await answer_of(fake, review_press(fake, reviewer, ref, "claim"))
    await card_shows(fake, ref, "in review")
    await answer_of(fake, review_press(fake, reviewer, ref, "ask"))
    prompt = await fake.wait_for_message(
        REVIEW_CHAT, lambda m: "write your question" in m["_plain"]
    )
    fake.user_sends_text(
        reviewer, "Which gate?", chat_id=REVIEW_CHAT, reply_to_message_id=prompt["message_id"]
    )
    question = await fake.wait_for_message(tipster.id, lambda m: "Which gate?" in m["_plain"])
    reply = next(d for d in fake.button_data(question) if d.startswith("v1:a:"))
    fake.user_presses(tipster, question, reply)
    await fake.wait_for_message(tipster.id, lambda m: "Send your answer now" in m["_plain"])
    fake.user_sends_text(tipster, "The north gate, after midnight")
    await fake.wait_for_message(tipster.id, lambda m: "Passed on" in m["_plain"])
    await fake.wait_for_message(REVIEW_CHAT, lambda m: "north gate" in m["_plain"])
    assert find_card(fake, ref)
    assert not [m for m in fake.messages_in(tipster.id) if m["_plain"].startswith(KEPT)]
    assert _count(settings, "drafts") == 0
    fake.user_sends_text(tipster, "/done")
    await fake.wait_for_message(tipster.id, lambda m: "answer is closed" in m["_plain"])
    fake.user_sends_text(tipster, "one more thing I forgot")
    await _kept(fake, tipster)

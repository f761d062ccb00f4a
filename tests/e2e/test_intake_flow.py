"""A citizen sends a tip from their phone and the reviewers receive the bot's own copy."""

from __future__ import annotations

import struct

import pytest

from bot.domain.codes import normalize_receipt
from tests import files
from tests.e2e.conftest import REVIEW_CHAT, RunningBot, make_settings, stored
from tests.e2e.flows import (
    added,
    begin,
    press,
    send_text_tip,
    submit,
    submit_from_summary,
    wait_button,
)
from tests.images import EXIF_CANARY, has_metadata, jpeg_with_gps
from tests.phone import overflow

TIPSTER_ID = 5550001234
TIP_CANARY = "CANARY-TIP-TEXT-93f1 dealing at the east gate"
NAME_CANARY = "Zhangsan-Canary"
USERNAME_CANARY = "canary_username_77"


@pytest.fixture
def settings(tmp_path, fake, database_url):
    """Every flow here runs on the SQLite file and on PostgreSQL."""
    return make_settings(tmp_path, fake, database_url=database_url)


def _identifiers() -> list[bytes]:
    return [
        str(TIPSTER_ID).encode(),
        struct.pack(">q", TIPSTER_ID),
        struct.pack("<q", TIPSTER_ID),
        NAME_CANARY.encode(),
        USERNAME_CANARY.encode(),
    ]


async def test_full_tip_reaches_reviewers_clean_and_anonymous(fake, bot: RunningBot) -> None:
    tipster = fake.add_user(TIPSTER_ID, NAME_CANARY, username=USERNAME_CANARY, language_code="en")
    await begin(fake, tipster)
    fake.user_sends_text(tipster, TIP_CANARY)
    await added(fake, tipster)
    fake.user_sends_photo(tipster, jpeg_with_gps(), caption="the blue van")
    await added(fake, tipster)
    fake.user_sends_document(
        tipster, jpeg_with_gps((80, 60)), "IMG_2026_Zhangsan.jpg", "image/jpeg"
    )
    await added(fake, tipster)
    fake.user_sends_location(tipster, 31.2304, 121.4737)
    await added(fake, tipster)
    receipt = await submit(fake, tipster)

    header = await fake.wait_for_message(
        REVIEW_CHAT, lambda m: "Tip T-" in m["_plain"] and m["chat_id"] < 0
    )
    assert "Drug trafficking" in header["_plain"]
    assert "Harbour street" in header["_plain"]
    assert TIP_CANARY in header["_plain"] and "the blue van" in header["_plain"]
    assert header["protect_content"] is True
    await fake.wait_until(lambda: len(fake.messages_in(REVIEW_CHAT)) == 4)
    review = fake.messages_in(REVIEW_CHAT)
    photos = [m for m in review if m.get("_upload")]
    assert len(photos) == 2
    for message in photos:
        assert message["_upload"]["field"] == "photo"
        assert not has_metadata(message["_upload"]["data"])
        assert "Zhangsan" not in message["_upload"]["filename"]
        assert message["protect_content"] is True
        assert message["reply_parameters"]["message_id"] == header["message_id"]
    assert any(m.get("method") == "sendLocation" for m in review)
    assert not fake.calls_of("forwardMessage") and not fake.calls_of("copyMessage")

    staff_bytes = b"".join(
        repr({k: v for k, v in m.items() if k != "_upload"}).encode()
        + (m["_upload"]["data"] if m.get("_upload") else b"")
        for m in review
    )
    for identifier in [*_identifiers(), EXIF_CANARY.encode(), receipt.encode()]:
        assert identifier not in staff_bytes, identifier

    other = fake.add_user(5550009999, "Other")
    fake.user_sends_text(other, f"/status {receipt}")
    status = await fake.wait_for_message(other.id, lambda m: "Tip T-" in m["_plain"])
    assert "waiting for a reviewer" in status["_plain"]


async def test_receipt_is_shown_once_in_a_code_entity(fake, bot: RunningBot) -> None:
    tipster = fake.add_user(TIPSTER_ID, "T")
    receipt = await send_text_tip(fake, tipster, "dealing at the school gate")
    assert normalize_receipt(receipt) is not None
    shown = [m for m in fake.messages_in(tipster.id) if receipt in m["_plain"]]
    assert len(shown) == 1
    code = [e for e in shown[0]["_entities"] if e["type"] == "code"]
    assert len(code) == 1 and code[0]["length"] == len(receipt)


async def test_wrong_receipt_reveals_nothing_and_is_rate_limited(fake, bot: RunningBot) -> None:
    stranger = fake.add_user(5550007777, "S")
    fake.user_sends_text(stranger, "/status not-a-receipt")
    await fake.wait_for_message(
        stranger.id, lambda m: "does not look like a receipt" in m["_plain"]
    )
    for _ in range(9):
        fake.user_sends_text(stranger, "/status 0000-0000-0000-0000-0000")
        await fake.wait_for_message(stranger.id, lambda m: "No tip matches" in m["_plain"])
    fake.user_sends_text(stranger, "/status 0000-0000-0000-0000-0000")
    await fake.wait_for_message(stranger.id, lambda m: "Too many receipts" in m["_plain"])


async def test_cancel_leaves_nothing_stored(fake, bot: RunningBot, settings) -> None:
    tipster = fake.add_user(TIPSTER_ID, "T")
    await begin(fake, tipster)
    fake.user_sends_photo(tipster, jpeg_with_gps())
    await added(fake, tipster)
    fake.user_sends_text(tipster, "/cancel")
    await fake.wait_for_message(tipster.id, lambda m: "thrown away" in m["_plain"])
    await bot.stop()
    for table in ("drafts", "items", "reports", "outbox"):
        assert await stored(settings, f"SELECT COUNT(*) FROM {table}") == [(0,)], table
    assert not [p for p in (settings.data_dir / "blobs").rglob("*") if p.is_file()]
    assert fake.messages_in(REVIEW_CHAT) == []


async def test_a_restart_mid_draft_keeps_the_draft(fake, bot: RunningBot) -> None:
    tipster = fake.add_user(TIPSTER_ID, "T")
    await begin(fake, tipster)
    fake.user_sends_text(tipster, "first part before the restart")
    await added(fake, tipster)
    await bot.restart()
    fake.user_sends_text(tipster, "second part after the restart")
    acknowledgement = await added(fake, tipster)
    assert "2 part" in acknowledgement["_plain"]
    receipt = await submit(fake, tipster)
    header = await fake.wait_for_message(
        REVIEW_CHAT, lambda m: "Tip T-" in m["_plain"] and m["chat_id"] < 0
    )
    assert "first part before" in header["_plain"] and "second part after" in header["_plain"]
    assert receipt not in header["_plain"]


async def test_a_button_pressed_after_a_restart_still_works(fake, bot: RunningBot) -> None:
    tipster = fake.add_user(TIPSTER_ID, "T")
    fake.user_sends_text(tipster, "/report")
    await wait_button(fake, tipster.id, "v1:t:cat:cultivation")
    await bot.restart()
    press(fake, tipster, "v1:t:cat:cultivation")
    await wait_button(fake, tipster.id, "v1:t:area-skip")


async def test_refused_media_are_explained_and_change_nothing(fake, bot: RunningBot) -> None:
    tipster = fake.add_user(TIPSTER_ID, "T")
    await begin(fake, tipster)
    cases = [
        (lambda: fake.user_sends_voice(tipster, b"OggS-voice"), "a voice can identify you"),
        (lambda: fake.user_sends_video_note(tipster, b"round-video"), "Video messages are not"),
        (lambda: fake.user_sends_audio(tipster, b"ID3-audio"), "Audio recordings are not"),
        (lambda: fake.user_sends_contact(tipster, "+8613800000000", "Li"), "phone numbers"),
        (lambda: fake.user_sends_sticker(tipster), "not supported"),
        (lambda: fake.user_sends_poll(tipster, "Who?", ["a", "b"]), "not supported"),
        (lambda: fake.user_sends_animation(tipster, b"GIF89a"), "not supported"),
        (lambda: fake.user_sends_location(tipster, 30.0, 120.0, live_period=600), "Live locations"),
    ]
    for send, explanation in cases:
        send()
        await fake.wait_for_message(tipster.id, lambda m, e=explanation: e in m["_plain"])
    press(fake, tipster, "v1:t:review")
    await fake.wait_until(
        lambda: any(
            a.get("text", "").startswith("Your tip is still empty")
            for a in fake.callback_answers.values()
        )
    )


async def test_oversized_text_is_refused_kindly(fake, bot: RunningBot) -> None:
    tipster = fake.add_user(TIPSTER_ID, "T")
    await begin(fake, tipster)
    fake.user_sends_text(tipster, "x" * 4001)
    await fake.wait_for_message(tipster.id, lambda m: "too long" in m["_plain"])


async def test_no_contact_and_forget(fake, bot: RunningBot) -> None:
    tipster = fake.add_user(TIPSTER_ID, "T")
    receipt = await send_text_tip(fake, tipster, "a lab in the warehouse", contact=False)
    assert "You chose no contact" in fake.messages_in(tipster.id)[-1]["_plain"]
    fake.user_sends_text(tipster, f"/status {receipt}")
    await fake.wait_for_message(tipster.id, lambda m: "No contact is stored" in m["_plain"])
    second = fake.add_user(5550002222, "U")
    receipt2 = await send_text_tip(fake, second, "growing poppies behind the farm")
    fake.user_sends_text(second, f"/forget {receipt2}")
    await fake.wait_for_message(second.id, lambda m: m["_plain"].startswith("Done."))
    fake.user_sends_text(second, f"/status {receipt2}")
    await fake.wait_for_message(second.id, lambda m: "No contact is stored" in m["_plain"])


async def test_chinese_tipster_gets_chinese_and_commands_exist_in_both(
    fake, bot: RunningBot
) -> None:
    tipster = fake.add_user(TIPSTER_ID, "T", language_code="zh-hans")
    fake.user_sends_text(tipster, "/start")
    welcome = await fake.wait_for_message(tipster.id)
    assert "匿名举报" in welcome["_plain"] and "110" in welcome["_plain"]
    receipt = await send_text_tip(fake, tipster, "有人在网吧贩卖毒品")
    assert "您的线索已收到" in fake.messages_in(tipster.id)[-1]["_plain"]
    assert normalize_receipt(receipt)
    english = {c["command"] for c in fake.my_commands({"type": "all_private_chats"}, "")}
    chinese = fake.my_commands({"type": "all_private_chats"}, "zh")
    assert english == {c["command"] for c in chinese} >= {"start", "report", "status", "forget"}
    assert any("举报" in c["description"] for c in chinese)


async def test_start_fits_a_screen_and_the_promises_are_one_button_away(
    fake, bot: RunningBot
) -> None:
    """/start and /help are short, in both languages; "Our promises" shows the full text (what
    is kept, for how long, what cannot be promised) and is answered exactly once."""
    tipster = fake.add_user(TIPSTER_ID, "T")
    fake.user_sends_text(tipster, "/start")
    welcome = await wait_button(fake, tipster.id, "v1:t:promises")
    assert overflow(welcome["_plain"]) == [], welcome["_plain"]
    assert "Anonymous drug-crime tip line" in welcome["_plain"] and "110" in welcome["_plain"]
    assert "Telegram itself knows" not in welcome["_plain"]
    assert fake.button_data(welcome) == ["v1:t:report", "v1:t:promises"]
    assert fake.button_texts(welcome)[1] == "🔒 Our promises"
    query = fake.user_presses(tipster, welcome, "v1:t:promises")
    promises = await fake.wait_for_message(
        tipster.id, lambda m: m["_plain"].startswith("What we promise")
    )
    for promise in ("Telegram itself knows", "Rewards", "30 days", "24 hours", "365 days"):
        assert promise in promises["_plain"], promise
    assert fake.button_data(promises) == ["v1:t:report"]
    answers = [
        c
        for c in fake.calls_of("answerCallbackQuery")
        if c.params.get("callback_query_id") == query["id"]
    ]
    assert len(answers) == 1 and not answers[0].failed
    assert query["id"] in fake.callback_answers

    # From the promises, straight to a tip; the button changes nothing in a draft.
    press(fake, tipster, "v1:t:report")
    await wait_button(fake, tipster.id, "v1:t:cat:drug_trafficking")
    fake.user_sends_text(tipster, "/help")
    help_text = await fake.wait_for_message(
        tipster.id, lambda m: "How this tip line" in m["_plain"]
    )
    assert overflow(help_text["_plain"]) == [], help_text["_plain"]
    again = fake.user_presses(tipster, help_text, "v1:t:promises")
    await fake.wait_until(lambda: again["id"] in fake.callback_answers)
    await fake.wait_for_message(tipster.id, lambda m: m["_plain"].startswith("What we promise"))
    press(fake, tipster, "v1:t:cat:drug_trafficking")
    await wait_button(fake, tipster.id, "v1:t:area-skip")

    chinese = fake.add_user(TIPSTER_ID + 1, "Z", language_code="zh-hans")
    fake.user_sends_text(chinese, "/start")
    welcome = await wait_button(fake, chinese.id, "v1:t:promises")
    assert overflow(welcome["_plain"]) == [], welcome["_plain"]
    assert fake.button_texts(welcome)[1] == "🔒 我们的承诺"
    fake.user_presses(chinese, welcome, "v1:t:promises")
    promises = await fake.wait_for_message(chinese.id, lambda m: "我们无法承诺的" in m["_plain"])
    assert "30 天" in promises["_plain"] and "110" in promises["_plain"]
    fake.user_sends_text(chinese, "/help")
    help_text = await fake.wait_for_message(chinese.id, lambda m: "使用说明" in m["_plain"])
    assert overflow(help_text["_plain"]) == [], help_text["_plain"]


async def test_videos_are_remuxed_and_text_files_arrive_with_the_warning(
    fake, bot: RunningBot
) -> None:
    tipster = fake.add_user(TIPSTER_ID, "T")
    await begin(fake, tipster, area=None)
    fake.user_sends_video(tipster, files.video("mp4"))
    added_video = await fake.wait_for_message(tipster.id, lambda m: m["_plain"].startswith("Added"))
    assert "exactly as it is" not in added_video["_plain"]
    fake.user_sends_document(tipster, files.TEXT, "notes.txt", "text/plain")
    warning = await fake.wait_for_message(tipster.id, lambda m: m["_plain"].startswith("Added"))
    assert "exactly as it is" in warning["_plain"]
    fake.user_sends_text(tipster, "y" * 3000)
    await added(fake, tipster)
    fake.user_sends_text(tipster, "z" * 3000)
    await added(fake, tipster)
    press(fake, tipster, "v1:t:review")
    summary = await wait_button(fake, tipster.id, "v1:t:submit")
    assert "hidden data NOT removed" in summary["_plain"]
    await submit_from_summary(fake, tipster)
    video = await fake.wait_for_message(REVIEW_CHAT, lambda m: m.get("method") == "sendVideo")
    assert "metadata removed by the bot" in video["_plain"]
    assert files.LOCATION_CANARY.encode() not in video["_upload"]["data"]
    text = await fake.wait_for_message(REVIEW_CHAT, lambda m: m.get("method") == "sendDocument")
    assert "metadata NOT removed" in text["_plain"]
    assert text["_upload"]["filename"].endswith(".txt")
    texts = [m for m in fake.messages_in(REVIEW_CHAT) if m.get("method") == "sendMessage"]
    assert len(texts) == 2, "6,000 characters of tip need two messages"
    assert sum(m["_plain"].count("y") + m["_plain"].count("z") for m in texts) >= 6000


async def test_the_dialogue_can_be_deleted_from_the_chat_after_sending(fake, bot) -> None:
    tipster = fake.add_user(TIPSTER_ID, "T")
    await begin(fake, tipster)
    own = fake.user_sends_text(tipster, "delete me after sending")
    await added(fake, tipster)
    press(fake, tipster, "v1:t:review")
    await wait_button(fake, tipster.id, "v1:t:wipe:yes")
    press(fake, tipster, "v1:t:wipe:yes")
    await fake.wait_until(
        lambda: (
            "v1:t:wipe:no"
            in fake.button_data(
                [m for m in fake.messages_in(tipster.id) if fake.button_data(m)][-1]
            )
        )
    )
    receipt = await submit_from_summary(fake, tipster)
    await fake.wait_until(lambda: fake.calls_of("deleteMessages"))
    remaining = fake.messages_in(tipster.id)
    assert [m for m in remaining if receipt in m["_plain"]], "the receipt stays"
    assert not [m for m in remaining if "delete me after sending" in m.get("_plain", "")]
    assert not [m for m in remaining if "Please check your tip" in m["_plain"]]
    assert (tipster.id, own["message_id"]) in fake.deleted_messages, "their own message too"

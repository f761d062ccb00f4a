"""Self-test of the fake Telegram server, driven by a real python-telegram-bot ``Bot``."""

from __future__ import annotations

import asyncio
import datetime as dtm
import io
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from PIL import Image
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    ChatFullInfo,
    ChatMemberAdministrator,
    ChatMemberBanned,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberOwner,
    CopyTextButton,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaPhoto,
    Message,
    ReplyParameters,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fake_telegram import Call, FakeTelegram, FakeUser

USER_ID = 4242
GROUP_ID = -1001234567890


def make_jpeg(width: int = 64, height: int = 48) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format="JPEG")
    return buffer.getvalue()


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d.upper(), callback_data=d)] for d in data])


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeTelegram]:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
def user(fake: FakeTelegram) -> FakeUser:
    return fake.add_user(USER_ID, "Alice", username="alice", language_code="de")


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(
        fake.token, base_url=f"{fake.url}/bot", base_file_url=f"{fake.url}/file/bot"
    ) as ptb_bot:
        yield ptb_bot


async def test_get_me_and_url(fake: FakeTelegram, bot: Bot) -> None:
    assert fake.url.startswith("http://127.0.0.1:")
    me = await bot.get_me()
    assert me.id == 123456
    assert me.username == "tipline_test_bot"
    assert me.is_bot and me.can_join_groups is True
    assert fake.calls_of("getMe")
    assert isinstance(fake.calls[0], Call)


async def test_send_message_html_and_keyboard(fake: FakeTelegram, bot: Bot, user: FakeUser) -> None:
    sent = await bot.send_message(
        USER_ID,
        "<b>Tip</b> received &amp; <i>queued</i> 🎉 <a href='https://example.org/?a=1&amp;b=2'>x</a>",
        parse_mode="HTML",
        reply_markup=keyboard("accept", "reject"),
        protect_content=True,
    )
    assert isinstance(sent, Message)
    assert sent.text == "Tip received & queued 🎉 x"
    assert sent.has_protected_content is True
    kinds = [(e.type, e.offset, e.length) for e in sent.entities]
    assert ("bold", 0, 3) in kinds and ("italic", 15, 6) in kinds
    link = next(e for e in sent.entities if e.type == "text_link")
    assert link.url == "https://example.org/?a=1&b=2"
    assert link.offset == 25  # the emoji counts as two UTF-16 units
    assert sent.reply_markup is not None

    (stored,) = fake.messages_in(USER_ID)
    assert stored["text"].startswith("<b>Tip</b>")
    assert stored["parse_mode"] == "HTML"
    assert stored["protect_content"] is True
    assert stored["_plain"] == sent.text
    assert fake.button_data(stored) == ["accept", "reject"]
    assert fake.button_texts(stored) == ["ACCEPT", "REJECT"]
    assert (await fake.wait_for_message(USER_ID))["message_id"] == sent.message_id
    assert b"queued" in fake.all_outgoing_bytes()


async def test_telegram_strictness(fake: FakeTelegram, bot: Bot, user: FakeUser) -> None:
    with pytest.raises(BadRequest, match="unsupported start tag"):
        await bot.send_message(USER_ID, "a <div>b</div>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await bot.send_message(USER_ID, "1 < 2", parse_mode="HTML")
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(USER_ID, "x", reply_markup=keyboard("x" * 65))
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(USER_ID, "x" * 4097)
    with pytest.raises(BadRequest, match="Message to be replied not found"):
        await bot.send_message(USER_ID, "x", reply_parameters=ReplyParameters(999))
    assert fake.messages_in(USER_ID) == []
    assert all(call.failed for call in fake.calls_of("sendMessage"))
    user.blocked_bot = True
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(USER_ID, "hello")


def copy_button(text: str, label: str = "Copy") -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, copy_text=CopyTextButton(text))]])


async def test_copy_text_buttons_that_telegram_takes(
    fake: FakeTelegram, bot: Bot, user: FakeUser
) -> None:
    receipt = "K7QD-3M9X-0000-1111-2222"
    sent = await bot.send_message(USER_ID, "receipt", reply_markup=copy_button(receipt))
    assert sent.reply_markup is not None
    button = sent.reply_markup.inline_keyboard[0][0]
    assert button.copy_text == CopyTextButton(receipt) and button.callback_data is None
    (stored,) = fake.messages_in(USER_ID)
    assert stored["reply_markup"]["inline_keyboard"][0][0]["copy_text"] == {"text": receipt}
    assert fake.button_data(stored) == [] and fake.button_texts(stored) == ["Copy"]
    # The limits are 1 and 256 characters, and a copy button sits beside callback buttons.
    mixed = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("x", copy_text=CopyTextButton("x"))],
            [InlineKeyboardButton("long", copy_text=CopyTextButton("码" * 256))],
            [InlineKeyboardButton("press", callback_data="press")],
        ]
    )
    edited = await bot.edit_message_reply_markup(USER_ID, sent.message_id, reply_markup=mixed)
    assert isinstance(edited, Message) and edited.reply_markup is not None
    assert edited.reply_markup.inline_keyboard[1][0].copy_text == CopyTextButton("码" * 256)
    assert fake.button_data(fake.messages_in(USER_ID)[0]) == ["press"]


@pytest.mark.parametrize(
    ("button", "error"),
    [
        ({"text": "Copy", "copy_text": {"text": "x" * 257}}, "Button_copy_text_invalid"),
        ({"text": "Copy", "copy_text": {"text": "码" * 257}}, "Button_copy_text_invalid"),
        ({"text": "Copy", "copy_text": {"text": ""}}, "Button_copy_text_invalid"),
        ({"text": "Copy", "copy_text": {"text": "   "}}, "Button_copy_text_invalid"),
        ({"text": "Copy", "copy_text": {}}, 'find field "text"'),
        ({"text": "Copy", "copy_text": {"text": 42}}, 'Field "text" must be of type String'),
        ({"text": "Copy", "copy_text": "K7QD"}, 'Field "copy_text" must be of type Object'),
        (
            {"text": "Copy", "copy_text": {"text": "K7QD"}, "callback_data": "k"},
            "exactly one of the optional fields",
        ),
        (
            {"text": "Copy", "copy_text": {"text": "K7QD"}, "url": "https://example.org"},
            "exactly one of the optional fields",
        ),
        ({"text": "", "copy_text": {"text": "K7QD"}}, "Button_text_invalid"),
        ({"text": "Copy"}, "Text buttons are unallowed"),
    ],
)
async def test_copy_text_buttons_that_telegram_refuses(
    fake: FakeTelegram, bot: Bot, user: FakeUser, button: dict[str, object], error: str
) -> None:
    """Posted as raw JSON, since python-telegram-bot would not build most of these."""
    markup = {"inline_keyboard": [[button]]}
    sent = await bot.send_message(USER_ID, "kept")
    async with aiohttp.ClientSession() as session:
        for method, params in (
            ("sendMessage", {"chat_id": USER_ID, "text": "x"}),
            ("editMessageReplyMarkup", {"chat_id": USER_ID, "message_id": sent.message_id}),
        ):
            url = f"{fake.url}/bot{fake.token}/{method}"
            async with session.post(url, json={**params, "reply_markup": markup}) as response:
                answer = await response.json()
            assert response.status == 400 and answer["error_code"] == 400, answer
            assert answer["description"].startswith("Bad Request: "), answer
            assert error.lower() in answer["description"].lower(), answer
    (stored,) = fake.messages_in(USER_ID)
    assert stored["_plain"] == "kept" and "reply_markup" not in stored


async def test_send_photo_upload_and_download(fake: FakeTelegram, bot: Bot, user: FakeUser) -> None:
    jpeg = make_jpeg(640, 480)
    sent = await bot.send_photo(
        USER_ID, InputFile(jpeg, filename="tip.jpg"), caption="<b>Photo</b>", parse_mode="HTML"
    )
    assert sent.caption == "Photo"
    assert [(p.width, p.height) for p in sent.photo] == [(320, 240), (640, 480)]
    stored = fake.messages_in(USER_ID)[0]
    assert stored["_upload"]["field"] == "photo"
    assert stored["_upload"]["content_type"] == "image/jpeg"
    assert stored["_upload"]["filename"] == "tip.jpg"
    assert stored["_upload"]["data"] == jpeg
    assert stored["_plain"] == "Photo"
    assert stored["file_id"] == sent.photo[-1].file_id
    assert fake.calls_of("sendPhoto")[0].files == {"photo": jpeg}

    tg_file = await bot.get_file(sent.photo[-1].file_id)
    assert tg_file.file_size == len(jpeg)
    assert bytes(await tg_file.download_as_bytearray()) == jpeg

    again = await bot.send_photo(USER_ID, sent.photo[-1].file_id)
    assert again.photo[-1].file_id == sent.photo[-1].file_id
    with pytest.raises(BadRequest, match="Image_process_failed"):
        await bot.send_photo(USER_ID, b"not an image")
    with pytest.raises(BadRequest, match="Wrong file identifier"):
        await bot.send_photo(USER_ID, "no-such-file-id")


async def test_send_document_and_media_group(fake: FakeTelegram, bot: Bot, user: FakeUser) -> None:
    doc = await bot.send_document(USER_ID, b"%PDF-1.4 fake", filename="report.pdf", caption="r")
    assert doc.document is not None
    assert doc.document.file_name == "report.pdf"
    stored = fake.messages_in(USER_ID)[0]
    assert stored["_upload"]["data"] == b"%PDF-1.4 fake"
    assert stored["_upload"]["filename"] == "report.pdf"

    first, second = make_jpeg(10, 10), make_jpeg(20, 20)
    album = await bot.send_media_group(
        USER_ID, [InputMediaPhoto(first, caption="one"), InputMediaPhoto(second)]
    )
    assert len(album) == 2
    assert album[0].media_group_id == album[1].media_group_id is not None
    assert album[0].caption == "one"
    stored_album = fake.messages_in(USER_ID)[1:]
    assert [m["_upload"]["data"] for m in stored_album] == [first, second]
    assert [m["_upload"]["field"] for m in stored_album] == ["photo", "photo"]
    assert [m["message_id"] for m in stored_album] == [m.message_id for m in album]


async def test_other_media_senders(fake: FakeTelegram, bot: Bot, user: FakeUser) -> None:
    video = await bot.send_video(USER_ID, b"v", caption="c", width=1, height=2, duration=3)
    assert video.video is not None and video.video.width == 1
    audio = await bot.send_audio(USER_ID, b"a", title="t")
    assert audio.audio is not None and audio.audio.title == "t"
    animation = await bot.send_animation(USER_ID, b"g")
    assert animation.animation is not None
    voice = await bot.send_voice(USER_ID, b"o")
    assert voice.voice is not None
    note = await bot.send_video_note(USER_ID, b"n")
    assert note.video_note is not None
    edited = await bot.edit_message_caption(
        USER_ID, video.message_id, caption="<i>new</i>", parse_mode="HTML"
    )
    assert isinstance(edited, Message) and edited.caption == "new"
    assert fake.messages_in(USER_ID)[0]["_plain"] == "new"
    with pytest.raises(BadRequest, match="no text in the message"):
        await bot.edit_message_text("x", chat_id=USER_ID, message_id=video.message_id)
    text = await bot.send_message(USER_ID, "plain")
    copy_id = await bot.copy_message(USER_ID, USER_ID, text.message_id)
    assert fake.messages_in(USER_ID)[-1]["_plain"] == "plain"
    assert fake.messages_in(USER_ID)[-1]["message_id"] == copy_id.message_id
    assert await bot.send_chat_action(USER_ID, "typing")
    assert await bot.close() and await bot.log_out()
    uploads = [m["_upload"]["field"] for m in fake.messages_in(USER_ID) if "_upload" in m]
    assert uploads == ["video", "audio", "animation", "voice", "video_note"]


async def test_user_file_download(fake: FakeTelegram, bot: Bot, user: FakeUser) -> None:
    sent = fake.user_sends_document(user, b"secret-bytes", "leak.txt", "text/plain", caption="c")
    updates = await bot.get_updates()
    document = updates[0].message.document
    assert document.file_name == "leak.txt" and document.mime_type == "text/plain"
    assert document.file_id == sent["document"]["file_id"]
    tg_file = await bot.get_file(document.file_id)
    assert bytes(await tg_file.download_as_bytearray()) == b"secret-bytes"
    with pytest.raises(BadRequest, match="Invalid file_id"):
        await bot.get_file("nope")

    photo = fake.user_sends_photo(user, make_jpeg(1000, 500), caption="look")
    assert photo["photo"][-1]["width"] == 1000
    tg_file = await bot.get_file(photo["photo"][0]["file_id"])
    assert bytes(await tg_file.download_as_bytearray()) == make_jpeg(1000, 500)
    assert fake.calls_of("downloadFile")


async def test_long_polling_returns_injected_updates(
    fake: FakeTelegram, bot: Bot, user: FakeUser
) -> None:
    polling = asyncio.create_task(bot.get_updates(timeout=10))
    await fake.wait_until(lambda: bool(fake.calls) and fake.calls[-1].method == "getMe")
    await asyncio.sleep(0.05)
    started = time.monotonic()
    text = fake.user_sends_text(user, "/start@tipline_test_bot payload")
    updates = await polling
    assert time.monotonic() - started < 2
    assert len(updates) == 1 and isinstance(updates[0], Update)
    message = updates[0].message
    assert message.text == "/start@tipline_test_bot payload"
    assert message.from_user.language_code == "de"
    assert message.entities[0].type == "bot_command"
    assert message.entities[0].length == len("/start@tipline_test_bot")
    assert message.message_id == text["message_id"]

    sent = await bot.send_message(USER_ID, "pick", reply_markup=keyboard("a", "b"))
    assert sent.message_id == message.message_id + 1
    bot_msg = await fake.wait_for_message(USER_ID)
    query = fake.user_presses(user, bot_msg, "b")
    updates = await bot.get_updates(offset=updates[0].update_id + 1, timeout=5)
    assert fake.confirmed_offset == updates[0].update_id
    callback = updates[0].callback_query
    assert callback is not None and callback.data == "b" and callback.id == query["id"]
    assert callback.message.message_id == sent.message_id
    assert callback.from_user.id == USER_ID

    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == ()
    assert fake.pending_updates == []
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert time.monotonic() - started >= 0.9


async def test_more_update_kinds(fake: FakeTelegram, bot: Bot, user: FakeUser) -> None:
    fake.add_group(GROUP_ID, "Reviewers", {USER_ID: "administrator"})
    fake.user_sends_text(user, "hello group", chat_id=GROUP_ID)
    first = fake.user_sends_text(user, "first")
    fake.user_sends_text(user, "reply", reply_to_message_id=first["message_id"])
    fake.user_sends_photo(user, make_jpeg(), caption="pic")
    fake.user_sends_video(user, b"vid")
    fake.user_sends_voice(user, b"ogg")
    fake.user_sends_video_note(user, b"note")
    fake.user_sends_audio(user, b"mp3")
    fake.user_sends_animation(user, b"gif")
    fake.user_sends_location(user, 52.5, 13.4, live_period=60)
    fake.user_sends_contact(user, "+491701234567", "Bob")
    fake.user_sends_sticker(user)
    fake.user_sends_poll(user, "Why?", ["a", "b"])
    fake.inject_update({"edited_message": {**first, "text": "edited", "edit_date": 1}})
    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == list(range(1, 15))
    msgs = [u.effective_message for u in updates]
    assert msgs[0].chat.type == "supergroup" and msgs[0].chat.title == "Reviewers"
    assert msgs[2].reply_to_message.text == "first"
    assert msgs[3].photo and msgs[3].caption == "pic"
    assert msgs[4].video.duration == dtm.timedelta(seconds=3)
    assert msgs[5].voice and msgs[6].video_note and msgs[7].audio
    assert msgs[8].animation and msgs[8].document
    assert msgs[9].location.live_period == dtm.timedelta(seconds=60)
    assert msgs[10].contact.phone_number == "+491701234567"
    assert msgs[11].sticker and msgs[12].poll.options[1].text == "b"
    assert updates[13].edited_message.text == "edited"


async def test_injected_messages_are_known(fake: FakeTelegram, bot: Bot, user: FakeUser) -> None:
    update = fake.inject_update(
        {
            "message": {
                "message_id": 50,
                "date": 1,
                "chat": {"id": -100777, "type": "supergroup", "title": "Elsewhere"},
                "from": user.to_dict(),
                "text": "hi",
            }
        }
    )
    assert update["update_id"] == 1
    reply = await bot.send_message(-100777, "hello", reply_parameters=ReplyParameters(50))
    assert reply.message_id == 51
    assert reply.reply_to_message is not None and reply.reply_to_message.text == "hi"
    assert (await bot.get_chat(-100777)).title == "Elsewhere"
    assert await bot.delete_message(-100777, 50)


async def test_edit_answer_delete_copy_forward(
    fake: FakeTelegram, bot: Bot, user: FakeUser
) -> None:
    sent = await bot.send_message(
        USER_ID, "<i>v1</i>", parse_mode="HTML", reply_markup=keyboard("a")
    )
    edited = await bot.edit_message_text(
        "<b>v2</b>",
        chat_id=USER_ID,
        message_id=sent.message_id,
        parse_mode="HTML",
        reply_markup=keyboard("c"),
    )
    assert isinstance(edited, Message) and edited.text == "v2" and edited.edit_date
    (stored,) = fake.messages_in(USER_ID)
    assert stored["_plain"] == "v2" and fake.button_data(stored) == ["c"]
    assert stored["_edits"][0]["method"] == "editMessageText"
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text(
            "<b>v2</b>",
            chat_id=USER_ID,
            message_id=sent.message_id,
            parse_mode="HTML",
            reply_markup=keyboard("c"),
        )
    await bot.edit_message_reply_markup(USER_ID, sent.message_id, reply_markup=None)
    assert fake.button_data(stored) == []

    query = fake.user_presses(user, stored, "c")
    assert await bot.answer_callback_query(query["id"], text="ok", show_alert=True)
    assert fake.callback_answers[query["id"]]["show_alert"] is True
    assert fake.calls_of("answerCallbackQuery")[0].params["text"] == "ok"
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query["id"])

    tip = fake.user_sends_photo(user, make_jpeg(), caption="evidence")
    fake.add_group(GROUP_ID, "Reviewers")
    copied = await bot.copy_message(GROUP_ID, USER_ID, tip["message_id"], caption="copy")
    copy = fake.messages_in(GROUP_ID)[0]
    assert copy["message_id"] == copied.message_id and copy["_plain"] == "copy"
    assert copy["file_id"] == tip["photo"][-1]["file_id"]
    forwarded = await bot.forward_message(GROUP_ID, USER_ID, tip["message_id"])
    assert forwarded.forward_origin.sender_user.id == USER_ID
    assert forwarded.caption == "evidence"

    assert await bot.delete_message(USER_ID, sent.message_id)
    assert fake.messages_in(USER_ID) == []
    assert fake.messages_in(USER_ID, include_deleted=True) == [stored]
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(USER_ID, sent.message_id)
    assert await bot.delete_messages(USER_ID, [tip["message_id"], 999])
    assert (USER_ID, tip["message_id"]) in fake.deleted_messages
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER_ID, message_id=sent.message_id)

    location = await bot.send_location(USER_ID, 52.5, 13.4)
    assert location.location.latitude == 52.5
    venue = await bot.send_venue(USER_ID, 1.0, 2.0, "Cafe", "Main St 1")
    assert venue.venue.title == "Cafe"
    assert fake.messages_in(USER_ID)[-1]["venue"]["address"] == "Main St 1"


async def test_chats_and_members(fake: FakeTelegram, bot: Bot, user: FakeUser) -> None:
    fake.add_group(GROUP_ID, "Reviewers", {USER_ID: "creator", 77: "administrator", 78: "kicked"})
    private = await bot.get_chat(USER_ID)
    assert isinstance(private, ChatFullInfo) and private.first_name == "Alice"
    group = await bot.get_chat(GROUP_ID)
    assert group.title == "Reviewers" and group.type == "supergroup"
    with pytest.raises(BadRequest, match="Chat not found") as info:
        await bot.get_chat(-555)
    assert info.value.message == "Chat not found"
    assert fake.calls_of("getChat")[-1].error == "Bad Request: chat not found"

    assert isinstance(await bot.get_chat_member(GROUP_ID, USER_ID), ChatMemberOwner)
    assert isinstance(await bot.get_chat_member(GROUP_ID, 77), ChatMemberAdministrator)
    assert isinstance(await bot.get_chat_member(GROUP_ID, 78), ChatMemberBanned)
    assert isinstance(await bot.get_chat_member(GROUP_ID, 79), ChatMemberLeft)
    assert isinstance(await bot.get_chat_member(GROUP_ID, fake.bot_id), ChatMemberMember)
    fake.set_member(GROUP_ID, 79, "member")
    assert isinstance(await bot.get_chat_member(GROUP_ID, 79), ChatMemberMember)
    admins = await bot.get_chat_administrators(GROUP_ID)
    assert {a.user.id for a in admins} == {USER_ID, 77}

    fake.set_member(GROUP_ID, fake.bot_id, "kicked")
    with pytest.raises(Forbidden, match="kicked"):
        await bot.send_message(GROUP_ID, "hi")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(-555, "hi")


async def test_commands(fake: FakeTelegram, bot: Bot, user: FakeUser) -> None:
    commands = [BotCommand("start", "Start"), BotCommand("tip", "Send a tip")]
    assert await bot.set_my_commands(commands)
    assert await bot.set_my_commands(
        [BotCommand("review", "Review")], scope=BotCommandScopeChat(USER_ID), language_code="de"
    )
    assert await bot.get_my_commands() == tuple(commands)
    scoped = await bot.get_my_commands(scope=BotCommandScopeChat(USER_ID), language_code="de")
    assert [c.command for c in scoped] == ["review"]
    assert fake.my_commands({"type": "chat", "chat_id": USER_ID}, "de")[0]["command"] == "review"
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()
    with pytest.raises(BadRequest):
        await bot.set_my_commands([BotCommand("Bad-Name", "x")])
    assert await bot.set_my_description("d") and await bot.set_my_short_description("s")
    assert fake.bot_settings["setMyDescription"]["description"] == "d"


async def test_errors_and_faults(fake: FakeTelegram, bot: Bot, user: FakeUser) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("999:WRONG", base_url=f"{fake.url}/bot"):
            pass
    assert fake.calls_of("getMe")[-1].error == "Unauthorized"

    fake.fail_next("sendMessage", status=429, retry_after=7)
    with pytest.raises(RetryAfter) as retry:
        await bot.send_message(USER_ID, "a")
    assert retry.value.retry_after == dtm.timedelta(seconds=7)

    fake.fail_next(None, status=502, count=2)
    for _ in range(2):
        with pytest.raises(NetworkError):
            await bot.send_message(USER_ID, "b")
    fake.fail_next("sendMessage", status=403)
    with pytest.raises(Forbidden, match="blocked"):
        await bot.send_message(USER_ID, "c")
    fake.fail_next("sendMessage", status=400, description="Bad Request: custom")
    with pytest.raises(BadRequest, match="Custom"):
        await bot.send_message(USER_ID, "d")
    assert fake.messages_in(USER_ID) == []
    failed = fake.calls_of("sendMessage")
    assert len(failed) == 5 and all(c.failed for c in failed)

    fake.down = True
    with pytest.raises(NetworkError):
        await bot.get_updates()
    fake.down = False
    fake.drop_connections = True
    with pytest.raises(NetworkError):
        await bot.send_message(USER_ID, "e")
    fake.drop_connections = False
    assert (await bot.send_message(USER_ID, "f")).text == "f"
    assert [m["text"] for m in fake.messages_in(USER_ID)] == ["f"]

    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod", api_kwargs={"x": 1})
    assert fake.calls_of("noSuchMethod")[0].params == {"x": 1}


async def test_wait_for_message_cursor_and_timeout(
    fake: FakeTelegram, bot: Bot, user: FakeUser
) -> None:
    await bot.send_message(USER_ID, "one")
    later = asyncio.get_running_loop().call_later(
        0.1, lambda: asyncio.ensure_future(bot.send_message(USER_ID, "three"))
    )
    await bot.send_message(USER_ID, "two")
    assert (await fake.wait_for_message(USER_ID))["text"] == "one"
    third = await fake.wait_for_message(USER_ID, lambda m: m["text"] == "three", timeout=3)
    assert third["text"] == "three"
    later.cancel()
    with pytest.raises(AssertionError, match=r"\[consumed\]: 'two'"):
        await fake.wait_for_message(USER_ID, timeout=0.2)
    with pytest.raises(AssertionError):
        await fake.wait_until(lambda: False, timeout=0.1)


async def test_latency_and_concurrency(fake: FakeTelegram, bot: Bot) -> None:
    users = [fake.add_user(1000 + i) for i in range(200)]
    fake.latency = 0.05
    started = time.monotonic()
    await asyncio.gather(*(bot.send_message(u.id, f"hi {u.id}") for u in users))
    elapsed = time.monotonic() - started
    assert 0.05 <= elapsed < 5
    assert all(len(fake.messages_in(u.id)) == 1 for u in users)


async def test_competing_get_updates_conflict(fake: FakeTelegram, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await fake.wait_until(lambda: bool(fake._poll_generation))
    async with Bot(fake.token, base_url=fake.base_url) as other:
        second = asyncio.create_task(other.get_updates(timeout=dtm.timedelta(seconds=0.2)))
        with pytest.raises(Conflict, match="terminated by other getUpdates"):
            await first
        assert await second == ()


async def test_real_application_round_trip(fake: FakeTelegram, user: FakeUser) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_html(
            "<b>Welcome</b>, send a tip", reply_markup=keyboard("yes", "no")
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("noted")
        await query.edit_message_text(f"You chose {query.data}")

    async def photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        tg_file = await update.effective_message.photo[-1].get_file()
        data = await tg_file.download_as_bytearray()
        await update.effective_message.reply_text(f"got {len(data)} bytes")

    app = (
        Application.builder()
        .token(fake.token)
        .base_url(fake.base_url)
        .base_file_url(fake.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    app.add_handler(MessageHandler(filters.PHOTO, photo))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=dtm.timedelta(seconds=2))
        try:
            fake.user_sends_text(user, "/start")
            welcome = await fake.wait_for_message(USER_ID, lambda m: "Welcome" in m["_plain"])
            assert fake.button_data(welcome) == ["yes", "no"]
            fake.user_presses(user, welcome, "yes")
            await fake.wait_until(lambda: welcome["_plain"] == "You chose yes")
            assert next(iter(fake.callback_answers.values()))["text"] == "noted"
            jpeg = make_jpeg()
            fake.user_sends_photo(user, jpeg)
            reply = await fake.wait_for_message(USER_ID)
            assert reply["text"] == f"got {len(jpeg)} bytes"
            fake.add_group(GROUP_ID, "Reviewers", {USER_ID: "member"})
            command = fake.user_sends_text(user, "/start", chat_id=GROUP_ID)
            quoted = await fake.wait_for_message(GROUP_ID)
            assert quoted["reply_parameters"]["message_id"] == command["message_id"]
        finally:
            await app.updater.stop()
            await app.stop()
    assert fake.pending_updates == []
    assert fake.confirmed_offset == 5


async def test_stop_releases_pending_long_poll() -> None:
    server = FakeTelegram()
    await server.start()
    async with Bot(server.token, base_url=server.base_url) as ptb_bot:
        poll = asyncio.create_task(ptb_bot.get_updates(timeout=30))
        await server.wait_until(lambda: server._poll_generation > 0)
        started = time.monotonic()
        await server.stop()
        try:
            await poll
        except (NetworkError, TimedOut):
            pass
        assert time.monotonic() - started < 5

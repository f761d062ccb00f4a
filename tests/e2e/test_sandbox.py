"""The sandbox in this process: the page's API drives the real bot through the emulator, the
stream tells every change, and the page refuses what a Telegram client could not do."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from sandbox import people
from sandbox.emulator import FakeTelegram, snapshot
from sandbox.emulator.server import Entry
from sandbox.folder import Folder, FolderError
from sandbox.run import Sandbox
from sandbox.views import message_view
from tests.images import has_metadata, jpeg_with_gps

Event = tuple[str, dict[str, Any]]


class Stream:
    """The page's event stream, read as the browser reads it."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def next(self, match: Callable[[str, dict[str, Any]], bool], wait: float = 10) -> Event:
        async def read() -> Event:
            name, data = "", ""
            while True:
                raw = await self._response.content.readline()
                if not raw:
                    raise AssertionError("the stream ended")
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    name = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    data = line.removeprefix("data: ")
                elif not line and name:
                    event = (name, json.loads(data))
                    name, data = "", ""
                    if match(*event):
                        return event

        return await asyncio.wait_for(read(), wait)

    async def each(self, *matches: Callable[[str, dict[str, Any]], bool]) -> list[Event]:
        """One event for each of `matches`, in whatever order they come (the page is told of a
        press's answer in the burst it falls in, before or after the messages it caused)."""
        found: dict[int, Event] = {}

        def wanted(name: str, data: dict[str, Any]) -> bool:
            for index, match in enumerate(matches):
                if index not in found and match(name, data):
                    found[index] = (name, data)
                    return len(found) == len(matches)
            return False

        await self.next(wanted)
        return [found[index] for index in range(len(matches))]


def bot_says(pane: str, needle: str) -> Callable[[str, dict[str, Any]], bool]:
    def match(name: str, data: dict[str, Any]) -> bool:
        message = data.get("message") or {}
        return (
            name == "upsert"
            and data["pane"] == pane
            and message["from"]["bot"]
            and needle in message["text"]
        )

    return match


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    running = Sandbox(Folder(tmp_path / "sandbox-data"))
    await running.start(0, seed=False)
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=sandbox.url) as session:
        yield session


async def _post(client: aiohttp.ClientSession, path: str, body: dict[str, Any]) -> Any:
    async with client.post(path, json=body) as response:
        return response.status, await response.json()


async def test_the_page_plays_the_citizen_against_the_real_bot(sandbox, client) -> None:
    async with client.get("/api/events") as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        stream = Stream(response)
        _, first = await stream.next(lambda name, _: name == "snapshot")
        assert first["panes"] == {"citizen": [], "review": [], "finance": []}
        assert [p["name"] for p in first["personas"]["review"]] == [
            "Demo Reviewer A",
            "Demo Reviewer B",
            "Demo Review Lead",
        ]
        assert {c["command"] for c in first["commands"]} >= {"start", "report", "status"}

        status, sent = await _post(
            client, "/api/send", {"pane": "citizen", "persona": "citizen", "text": "/start"}
        )
        assert status == 200 and sent["ok"]
        _, mine = await stream.next(
            lambda name, data: name == "upsert" and not data["message"]["from"]["bot"]
        )
        assert mine["message"]["text"] == "/start"
        assert mine["message"]["entities"][0]["type"] == "bot_command"
        _, welcome = await stream.next(bot_says("citizen", "Anonymous drug-crime tip line"))
        view = welcome["message"]
        report = next(b for row in view["buttons"] for b in row if b.get("data") == "v1:t:report")
        assert not view["protected"] and not view["force_reply"]

        status, _ = await _post(
            client,
            "/api/press",
            {
                "pane": "citizen",
                "persona": "citizen",
                "message_id": view["id"],
                "data": report["data"],
            },
        )
        assert status == 200
        await stream.each(
            bot_says("citizen", "What is it about?"),
            lambda name, data: name == "answer" and data["pane"] == "citizen",
        )

        status, _ = await _post(client, "/api/language", {"language": "zh"})
        assert status == 200
        _, meta = await stream.next(lambda name, _: name == "meta")
        assert meta["language"] == "zh"
        assert any(
            "举报" in c["description"] or "线索" in c["description"] for c in meta["commands"]
        )
        await _post(client, "/api/send", {"pane": "citizen", "persona": "citizen", "text": "/help"})
        await stream.next(
            lambda name, data: (
                name == "upsert"
                and data["message"]["from"]["bot"]
                and any("\u4e00" <= ch <= "\u9fff" for ch in data["message"]["text"])
            )
        )


async def test_photos_and_files_go_up_and_come_back_down(sandbox, client) -> None:
    form = aiohttp.FormData()
    for key, value in {"pane": "citizen", "persona": "citizen", "kind": "photo"}.items():
        form.add_field(key, value)
    form.add_field("caption", "a caption")
    form.add_field("file", jpeg_with_gps(), filename="IMG_Zhang.jpg", content_type="image/jpeg")
    async with client.post("/api/upload", data=form) as response:
        assert response.status == 200, await response.text()
    form = aiohttp.FormData()
    for key, value in {"pane": "citizen", "persona": "citizen", "kind": "document"}.items():
        form.add_field(key, value)
    form.add_field("file", b"<html><script>alert(1)</script>", filename="../../evil.html")
    async with client.post("/api/upload", data=form) as response:
        assert response.status == 200
    async with client.get("/api/state") as response:
        citizen = (await response.json())["panes"]["citizen"]
    photo, document = citizen[0], citizen[1]
    assert photo["media"]["kind"] == "photo" and photo["text"] == "a caption"
    assert document["media"]["kind"] == "document" and document["media"]["name"] == "evil.html"
    async with client.get(f"/files/{photo['media']['file']}") as response:
        assert response.content_type == "image/jpeg"
        assert has_metadata(await response.read())  # the citizen's own photo, as sent
    async with client.get(f"/files/{document['media']['file']}") as response:
        assert response.content_type == "application/octet-stream"  # never drawn as a page
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert response.headers["Content-Security-Policy"] == "sandbox"
    not_a_picture = aiohttp.FormData()
    for key, value in {"pane": "citizen", "persona": "citizen", "kind": "photo"}.items():
        not_a_picture.add_field(key, value)
    not_a_picture.add_field("file", b"not an image", filename="x.jpg")
    async with client.post("/api/upload", data=not_a_picture) as response:
        assert response.status == 400 and "send it as a file" in (await response.json())["error"]


async def test_only_what_a_telegram_client_could_do(sandbox, client) -> None:
    status, refused = await _post(
        client, "/api/send", {"pane": "review", "persona": "citizen", "text": "hello"}
    )
    assert status == 400 and "nobody" in refused["error"]
    status, refused = await _post(
        client,
        "/api/press",
        {"pane": "citizen", "persona": "citizen", "message_id": 1, "data": "v1:t:submit"},
    )
    assert status == 400 and "not on that message" in refused["error"]
    status, refused = await _post(
        client,
        "/api/send",
        {"pane": "review", "persona": "reviewer_a", "text": "x", "reply_to": 999},
    )
    assert status == 400
    status, _ = await _post(
        client, "/api/send", {"pane": "citizen", "persona": "citizen", "text": "x" * 4097}
    )
    assert status == 400
    async with client.post(
        "/api/send", data=b"pane=citizen", headers={"Content-Type": "text/plain"}
    ) as response:
        assert response.status == 400
    async with client.post(
        "/api/language",
        json={"language": "zh"},
        headers={"Origin": "http://evil.example"},
    ) as response:
        assert response.status == 403
    async with client.get("/api/state", headers={"Host": "attacker.example:80"}) as response:
        assert response.status == 421
    async with client.get("/") as response:
        assert response.status == 200
        page = await response.text()
        assert "Nothing reaches" in page and "<script src=" in page
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    async with client.get("/static/../run.py") as response:
        assert response.status == 404


async def test_staff_act_in_their_group_and_see_the_bot_there(sandbox, client) -> None:
    async with client.get("/api/events") as response:
        stream = Stream(response)
        await _post(
            client,
            "/api/send",
            {"pane": "finance", "persona": "finance_b", "text": "/budget"},
        )
        _, said = await stream.next(bot_says("finance", "no monthly budget"))
    assert said["message"]["reply_to"]["name"] == "Demo Finance B"


async def test_edits_and_deletions_reach_the_page(sandbox, client) -> None:
    """What the bot edits or deletes (here through the Bot API, as the bot does) changes or
    leaves the page at once."""
    async with client.get("/api/events") as response:
        stream = Stream(response)
        await _post(
            client, "/api/send", {"pane": "citizen", "persona": "citizen", "text": "/start"}
        )
        _, welcome = await stream.next(bot_says("citizen", "Anonymous drug-crime tip line"))
        message_id = welcome["message"]["id"]
        api = f"{sandbox.fake.url}/bot{sandbox.fake.token}"
        async with aiohttp.ClientSession() as bot:
            edit = {"chat_id": people.CITIZEN.user_id, "message_id": message_id, "text": "<i>x</i>"}
            async with bot.post(f"{api}/editMessageText", json={**edit, "parse_mode": "HTML"}):
                pass
            _, edited = await stream.next(
                lambda name, data: name == "upsert" and data["message"]["id"] == message_id
            )
            assert edited["message"]["edited"] and edited["message"]["buttons"] == []
            assert edited["message"]["entities"] == [{"type": "italic", "offset": 0, "length": 1}]
            deletion = {"chat_id": people.CITIZEN.user_id, "message_id": message_id}
            async with bot.post(f"{api}/deleteMessage", json=deletion):
                pass
            _, removed = await stream.next(lambda name, _: name == "remove")
    assert removed == {"pane": "citizen", "id": message_id}


def test_the_page_gets_text_and_entities_never_html() -> None:
    fake = FakeTelegram()
    fake.add_user(1, "Somebody")
    message = {
        "message_id": 3,
        "from": fake.bot_user(),
        "chat": {"id": 1, "type": "private"},
        "date": 0,
        "text": "<b>not bold</b> <img src=x onerror=alert(1)> code",
        "entities": [
            {"type": "code", "offset": 47, "length": 4},
            {"type": "custom_emoji", "offset": 0, "length": 1, "custom_emoji_id": "1"},
            {"type": "text_link", "offset": 0, "length": 3, "url": "javascript:alert(1)"},
        ],
        "has_protected_content": True,
        "reply_markup": {
            "inline_keyboard": [
                [{"text": "📋 Copy receipt", "copy_text": {"text": "K7QD-3M9X"}}],
                [{"text": "Press", "callback_data": "v1:t:report"}],
            ]
        },
    }
    view = message_view(Entry(message, from_bot=True, deleted=False))
    assert view["text"].startswith("<b>not bold</b> <img")  # text, for text nodes
    assert [e["type"] for e in view["entities"]] == ["code", "text_link"]
    assert view["protected"] and view["from"]["name"] == people.BOT_NAME
    # A copy button is drawn with the text it copies and nothing to press.
    assert view["buttons"] == [
        [{"text": "📋 Copy receipt", "copy": "K7QD-3M9X"}],
        [{"text": "Press", "data": "v1:t:report"}],
    ]


async def test_the_emulator_keeps_its_chats_across_a_restart(tmp_path: Path) -> None:
    async with FakeTelegram() as fake:
        user = fake.add_user(5, "Keeper")
        fake.add_group(-1001, "Group", {5: "member"})
        fake.user_sends_text(user, "/start")
        fake.user_sends_photo(user, jpeg_with_gps(), "caption")
        before = [entry.message for entry in fake.history(5)]
        last_update = fake._last_update_id
        snapshot.save(fake, tmp_path / "emulator.json")
    again = FakeTelegram()
    assert snapshot.load(again, tmp_path / "emulator.json")
    assert [entry.message for entry in again.history(5)] == before
    assert again.chats[-1001].members[5] == "member"
    assert again.pending_updates == fake.pending_updates
    photo = before[1]["photo"][-1]["file_id"]
    assert again.files[photo].data == fake.files[photo].data
    # Ids handed out before a crash that the file missed are never handed out again.
    assert again._last_update_id > last_update + 100
    assert again.user_sends_text(5, "more")["message_id"] > before[-1]["message_id"] + 10


def test_reset_deletes_only_a_sandbox_folder(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "tipline.sqlite3").write_text("real data")
    with pytest.raises(FolderError, match="not a sandbox folder"):
        Folder(precious).reset()
    with pytest.raises(FolderError):
        Folder(precious).prepare()
    assert (precious / "tipline.sqlite3").exists()
    ours = Folder(tmp_path / "ours")
    ours.prepare()
    assert (ours.root / ".tipline-sandbox").exists() and ours.master_key()
    assert ours.key_file.stat().st_mode & 0o077 == 0
    ours.reset()
    assert not ours.root.exists()

"""At rest and in logs nothing identifies the tipster; an outage loses no post."""

from __future__ import annotations

import io
import logging
import struct
import time
from pathlib import Path

from bot.domain.codes import normalize_receipt
from tests import files
from tests.e2e.conftest import REVIEW_CHAT, RunningBot
from tests.e2e.flows import added, begin, send_text_tip, submit
from tests.images import EXIF_CANARY, jpeg_with_gps

TIPSTER_ID = 6120034567
TEXT_CANARY = "CANARY-TEXT-5d1e meth sold from the red kiosk"
AREA_CANARY = "CANARY-AREA-Lotus-Lane"
CAPTION_CANARY = "CANARY-CAPTION-77ab"
FILE_CANARY = b"CANARY-FILE-BYTES-0c4f"
NAME_CANARY = "CanaryFirstName"
USERNAME_CANARY = "canary_handle_31"


def _canaries(receipt: str) -> dict[str, bytes]:
    found = {
        "text": TEXT_CANARY.encode(),
        "text-utf16": TEXT_CANARY.encode("utf-16-le"),
        "area": AREA_CANARY.encode(),
        "caption": CAPTION_CANARY.encode(),
        "file": FILE_CANARY,
        "exif": EXIF_CANARY.encode(),
        "user id": str(TIPSTER_ID).encode(),
        "user id int64 be": struct.pack(">q", TIPSTER_ID),
        "user id int64 le": struct.pack("<q", TIPSTER_ID),
        "name": NAME_CANARY.encode(),
        "username": USERNAME_CANARY.encode(),
        "receipt": receipt.encode(),
        "receipt normalized": (normalize_receipt(receipt) or "").encode(),
    }
    return found


def _scan(folder: Path, canaries: dict[str, bytes]) -> list[str]:
    leaks = []
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files, f"nothing to scan in {folder}"
    for path in files:
        data = path.read_bytes()
        leaks += [f"{name} in {path.name}" for name, value in canaries.items() if value in data]
    return leaks


async def _canary_tip(fake) -> str:
    tipster = fake.add_user(TIPSTER_ID, NAME_CANARY, username=USERNAME_CANARY)
    await begin(fake, tipster, area=AREA_CANARY)
    fake.user_sends_text(tipster, TEXT_CANARY)
    await added(fake, tipster)
    fake.user_sends_photo(tipster, jpeg_with_gps(), caption=CAPTION_CANARY)
    await added(fake, tipster)
    # The canary is in the page itself (content the bot keeps), not in the PDF's metadata.
    fake.user_sends_document(tipster, files.pdf(FILE_CANARY), "notes.pdf", "application/pdf")
    await added(fake, tipster)
    return await submit(fake, tipster)


async def test_database_wal_and_data_dir_hold_no_canary(fake, bot: RunningBot, settings) -> None:
    receipt = await _canary_tip(fake)
    await fake.wait_until(lambda: len(fake.messages_in(REVIEW_CHAT)) >= 3)
    data_dir = settings.data_dir
    assert (data_dir / "tipline.sqlite3-wal").exists()
    canaries = _canaries(receipt)
    assert _scan(data_dir, canaries) == []
    await bot.stop()
    assert _scan(data_dir, canaries) == []
    assert not settings.key_file.resolve().is_relative_to(data_dir.resolve())
    # The scan can see: the same canary is found in what reached the review chat.
    review = fake.messages_in(REVIEW_CHAT)
    assert any(TEXT_CANARY in m["_plain"] for m in review)
    assert any(FILE_CANARY in m["_upload"]["data"] for m in review if m.get("_upload"))


async def test_draft_in_progress_is_encrypted_too(fake, bot: RunningBot, settings) -> None:
    tipster = fake.add_user(TIPSTER_ID, NAME_CANARY, username=USERNAME_CANARY)
    await begin(fake, tipster, area=AREA_CANARY)
    fake.user_sends_text(tipster, TEXT_CANARY)
    await added(fake, tipster)
    canaries = _canaries("XXXX-XXXX-XXXX-XXXX-XXXX")
    assert _scan(settings.data_dir, canaries) == []


async def test_logs_hold_no_ids_text_or_token_even_at_debug(fake, bot: RunningBot) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        receipt = await _canary_tip(fake)
        await fake.wait_until(lambda: "delivered" in stream.getvalue())
        fake.user_sends_text(fake.users[TIPSTER_ID], f"/status {receipt}")
        await fake.wait_for_message(TIPSTER_ID, lambda m: "Tip T-" in m["_plain"])
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    text = stream.getvalue().encode()
    for name, value in {**_canaries(receipt), "token": fake.token.encode()}.items():
        assert value not in text, name


async def test_post_waits_out_an_outage_and_a_restart(fake, bot: RunningBot) -> None:
    fake.unreachable_chats.add(REVIEW_CHAT)
    tipster = fake.add_user(TIPSTER_ID, "T")
    receipt = await send_text_tip(fake, tipster, "stash under the bridge")
    assert receipt
    await fake.wait_until(
        lambda: any(c.failed and c.params.get("chat_id") == REVIEW_CHAT for c in fake.calls)
    )
    await bot.stop()
    fake.unreachable_chats.clear()
    await bot.start()
    header = await fake.wait_for_message(
        REVIEW_CHAT, lambda m: "stash under the bridge" in m["_plain"], timeout=15
    )
    assert header
    await bot.stop()
    posts = [m for m in fake.messages_in(REVIEW_CHAT) if "stash under" in m["_plain"]]
    assert len(posts) == 1


async def test_post_retries_5xx_while_running(fake, bot: RunningBot) -> None:
    fake.unreachable_chats.add(REVIEW_CHAT)
    tipster = fake.add_user(TIPSTER_ID, "T")
    await send_text_tip(fake, tipster, "retry me please")
    await fake.wait_until(
        lambda: any(c.failed and c.params.get("chat_id") == REVIEW_CHAT for c in fake.calls)
    )
    fake.unreachable_chats.clear()
    await fake.wait_for_message(REVIEW_CHAT, lambda m: "retry me please" in m["_plain"], timeout=15)
    fake.fail_next("sendMessage", status=429, retry_after=1)
    await send_text_tip(fake, tipster, "after a flood wait")
    await fake.wait_for_message(
        REVIEW_CHAT, lambda m: "after a flood wait" in m["_plain"], timeout=15
    )
    assert sum("retry me please" in m["_plain"] for m in fake.messages_in(REVIEW_CHAT)) == 1


async def test_a_throttled_review_chat_never_holds_back_a_tipster(fake, bot: RunningBot) -> None:
    """A 429 for the review chat pauses that chat only: another tipster's whole dialogue and
    receipt go through at once, although the review chat asked for 30 s of silence."""
    fake.throttled_chats[REVIEW_CHAT] = 30
    first = fake.add_user(TIPSTER_ID, "T")
    assert await send_text_tip(fake, first, "the first tip")
    await fake.wait_until(
        lambda: any(
            c.failed and c.params.get("chat_id") == REVIEW_CHAT and "Too Many" in (c.error or "")
            for c in fake.calls
        )
    )
    second = fake.add_user(TIPSTER_ID + 1, "U")
    began = time.monotonic()
    assert await send_text_tip(fake, second, "the second tip")
    assert time.monotonic() - began < 10, "the tipster waited for the review chat's flood limit"
    fake.throttled_chats.clear()

"""Files from a phone, and hostile files, sent as files through the fake Bot API: every file
is cleaned or refused with an explanation, and no canary reaches a staff chat."""

from __future__ import annotations

import io
import zipfile

import av
import pikepdf
from PIL import Image

from bot.telegram.i18n import Catalogue
from tests import files
from tests.e2e.conftest import FINANCE_CHAT, REVIEW_CHAT, RunningBot
from tests.e2e.flows import added, begin, submit
from tests.images import EXIF_CANARY

TIPSTER_ID = 5550004321
CATALOGUE = Catalogue.load()

# What a phone sends as files: (file name, bytes, the mime type the phone claims).
CLEANED = [
    ("IMG_20260301_Zhangsan.jpg", files.mpo(), "image/jpeg"),
    ("IMG_4242.HEIC", files.heic(), "image/heic"),
    ("photo.avif", files.avif(), "image/avif"),
    ("screenshot.png", files.png_with_text(), "image/png"),
    ("sticker.webp", files.webp_with_exif(), "image/webp"),
    ("report.pdf", files.pdf(), "application/pdf"),
    (
        "notes.docx",
        files.office("docx"),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("VID_20260301.mp4", files.video("mp4"), "video/mp4"),
]
# (file name, bytes, claimed mime type, the catalogue key of the explanation)
REFUSED = [
    ("map.svg", files.SVG, "image/svg+xml", "error.file_active"),
    ("photo.jpg", files.EXE, "image/jpeg", "error.file_active"),  # a program named as a photo
    ("setup.exe", files.EXE, "application/x-msdownload", "error.file_active"),
]
CANARIES = {
    "file canary": files.CANARY.encode(),
    "location": files.LOCATION_CANARY.encode(),
    "exif canary": EXIF_CANARY.encode(),
    "file name": b"Zhangsan",
}


async def test_phone_files_are_cleaned_hostile_files_refused_and_no_canary_reaches_staff(
    fake, bot: RunningBot
) -> None:
    tipster = fake.add_user(TIPSTER_ID, "T")
    await begin(fake, tipster, area=None)
    fake.user_sends_text(tipster, "the files from the east gate")
    await added(fake, tipster)
    for name, data, mime in CLEANED:
        assert any(value in data for value in CANARIES.values()), name
        fake.user_sends_document(tipster, data, name, mime)
        acknowledgement = await added(fake, tipster)
        assert "exactly as it is" not in acknowledgement["_plain"], name
    for name, data, mime, key in REFUSED:
        fake.user_sends_document(tipster, data, name, mime)
        explanation = CATALOGUE.text("en", key)
        refusal = await fake.wait_for_message(
            tipster.id, lambda m, text=explanation: m["_plain"] == text
        )
        assert refusal, name
    await submit(fake, tipster)

    def uploads() -> list[dict]:
        return [m for m in fake.messages_in(REVIEW_CHAT) if m.get("_upload")]

    await fake.wait_until(lambda: len(uploads()) == len(CLEANED), timeout=15)
    for chat in (REVIEW_CHAT, FINANCE_CHAT):
        for message in fake.messages_in(chat, include_deleted=True):
            seen = repr({k: v for k, v in message.items() if k != "_upload"}).encode()
            if message.get("_upload"):
                seen += message["_upload"]["data"] + str(message["_upload"]["filename"]).encode()
            leaks = [name for name, value in CANARIES.items() if value in seen]
            assert not leaks, f"{leaks} in a message to {chat}"
    sent = {m["_upload"]["filename"].rsplit(".", 1)[1]: m for m in uploads()}
    assert sorted(sent) == ["docx", "jpg", "mp4", "pdf"], "one of each; the images are JPEGs"
    photos = [m for m in uploads() if m["_upload"]["field"] == "photo"]
    assert len(photos) == 5
    for message in photos:
        with Image.open(io.BytesIO(message["_upload"]["data"])) as image:
            assert image.format == "JPEG" and not image.getexif()
        assert "metadata removed by the bot" in message["_plain"]
    with pikepdf.open(io.BytesIO(sent["pdf"]["_upload"]["data"])) as document:
        assert "/Info" not in document.trailer and len(document.pages) == 1
    with zipfile.ZipFile(io.BytesIO(sent["docx"]["_upload"]["data"])) as archive:
        assert b"OFFICE-BODY-KEEP" in archive.read("word/document.xml")
    assert sent["mp4"]["method"] == "sendVideo"
    with av.open(io.BytesIO(sent["mp4"]["_upload"]["data"])) as clip:
        assert [s.type for s in clip.streams] == ["video", "audio"]
        assert "location" not in clip.metadata

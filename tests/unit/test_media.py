"""Files from phones and hostile files: what the bytes are, how each kind is cleaned, what is
refused. Every file is built here with canaries that must be in the input and not in the
output."""

from __future__ import annotations

import io
import resource
import zipfile

import pikepdf
import pytest
from PIL import Image

from bot.domain.media import CleanFile, FileType, MediaKind, Refusal, Refused
from bot.media.files import clean_file
from bot.media.images import strip_jpeg, strip_png
from bot.media.sniff import sniff
from tests import files

MAX_PIXELS = 50_000_000
CANARY = files.CANARY.encode()


def _clean(data: bytes) -> CleanFile:
    outcome = clean_file(data, MAX_PIXELS)
    assert isinstance(outcome, CleanFile), outcome
    return outcome


def _refusal(data: bytes) -> Refusal:
    outcome = clean_file(data, MAX_PIXELS)
    assert isinstance(outcome, Refused), outcome
    return outcome.reason


SNIFFED = [
    (files.jpeg(), FileType.JPEG),
    (files.mpo(), FileType.JPEG),
    (files.png_with_text(), FileType.PNG),
    (files.webp_with_exif(), FileType.WEBP),
    (files.heic(), FileType.HEIF),
    (files.avif(), FileType.AVIF),
    (files.tiff(), FileType.TIFF),
    (files.gif(), FileType.GIF),
    (files.bmp(), FileType.BMP),
    (files.jpeg2000(), FileType.JPEG2000),
    (files.dng(), FileType.CAMERA_RAW),
    (files.pdf(), FileType.PDF),
    (files.office("docx"), FileType.DOCX),
    (files.office("xlsx"), FileType.XLSX),
    (files.office("pptx"), FileType.PPTX),
    (files.video("mp4"), FileType.MP4),
    (files.video("mov"), FileType.MOV),
    (files.video("3gp"), FileType.THREE_GP),
    (files.TEXT, FileType.TEXT),
    (files.SVG, FileType.SVG),
    (files.HTML, FileType.HTML),
    (files.XML, FileType.XML),
    (files.EXE, FileType.PROGRAM),
    (files.ELF, FileType.PROGRAM),
    (files.MACH_O, FileType.PROGRAM),
    (files.SCRIPT, FileType.PROGRAM),
    (files.SHORTCUT, FileType.PROGRAM),
    (files.apk(), FileType.PROGRAM),
    (files.jar(), FileType.PROGRAM),
    (files.plain_zip(), FileType.ARCHIVE),
    (files.RAR, FileType.ARCHIVE),
    (files.SEVEN_ZIP, FileType.ARCHIVE),
    (files.GZIP, FileType.ARCHIVE),
    (files.MP3, FileType.AUDIO),
    (files.OGG, FileType.AUDIO),
    (files.WAV, FileType.AUDIO),
    (files.FLAC, FileType.AUDIO),
    (files.LEGACY_DOC, FileType.OTHER_DOCUMENT),
    (files.RTF, FileType.OTHER_DOCUMENT),
    (files.ENCRYPTED_DOCX, FileType.PROTECTED_DOCUMENT),
    (bytes(range(256)) * 4, FileType.UNKNOWN),
    (b"", FileType.UNKNOWN),
]


@pytest.mark.parametrize(
    ("data", "kind"), SNIFFED, ids=[k.value + str(i) for i, (_, k) in enumerate(SNIFFED)]
)
def test_the_kind_of_a_file_comes_from_its_bytes(data: bytes, kind: FileType) -> None:
    assert sniff(data) is kind


def test_a_program_named_like_a_photo_is_still_a_program() -> None:
    """Nothing but the bytes is consulted: there is no name or mime type to pass."""
    assert _refusal(files.EXE) is Refusal.ACTIVE
    assert sniff(files.EXE + files.jpeg()) is FileType.PROGRAM
    # A JPEG with a zip appended (a polyglot) is a JPEG, and the rebuilt copy drops the zip.
    polyglot = files.jpeg() + files.plain_zip()
    assert sniff(polyglot) is FileType.JPEG
    assert b"PK\x03\x04" not in _clean(polyglot).data


IMAGES = {
    "jpeg": files.jpeg,
    "mpo": files.mpo,
    "png_text": files.png_with_text,
    "webp_exif": files.webp_with_exif,
    "heic": files.heic,
    "avif": files.avif,
    "tiff": files.tiff,
    "gif": files.gif,
    "bmp": files.bmp,
    "jpeg2000": files.jpeg2000,
}


@pytest.mark.parametrize("name", IMAGES)
def test_every_phone_image_format_is_rebuilt_from_its_pixels(name: str) -> None:
    data = IMAGES[name]()
    if name not in {"bmp", "jpeg2000"}:  # these formats carry no metadata to plant
        assert CANARY in data or b"Exif" in data
    clean = _clean(data)
    assert clean.kind is MediaKind.IMAGE and clean.metadata_removed
    assert (clean.mime, clean.extension) == ("image/jpeg", ".jpg")
    assert CANARY not in clean.data
    with Image.open(io.BytesIO(clean.data)) as image:
        assert image.format == "JPEG"
        assert not image.getexif() and "icc_profile" not in image.info
        assert "comment" not in image.info and "xmp" not in image.info
        assert image.size == (64, 32)
        red, _, blue = image.getpixel((2, 2))
        assert red > 200 and blue < 60, "the top-left corner is still top-left"


def test_png_text_chunks_are_gone_even_compressed_ones() -> None:
    data = files.png_with_text()
    with Image.open(io.BytesIO(data)) as image:
        assert image.text["Comment"] == files.CANARY * 4  # the zTXt chunk was really there
    clean = _clean(data)
    for chunk in (b"tEXt", b"zTXt", b"iTXt", b"eXIf"):
        assert chunk not in clean.data


def test_transparency_is_kept_as_png_without_metadata() -> None:
    clean = _clean(files.png_rgba())
    assert (clean.mime, clean.extension) == ("image/png", ".png")
    assert CANARY not in clean.data and b"eXIf" not in clean.data
    with Image.open(io.BytesIO(clean.data)) as image:
        assert image.mode == "RGBA" and not image.getexif()


def test_mpo_keeps_only_its_first_picture() -> None:
    data = files.mpo()
    with Image.open(io.BytesIO(data)) as image:
        assert image.n_frames == 2
    clean = _clean(data)
    assert clean.data.count(b"\xff\xd8") == 1, "one JPEG, not two"
    assert b"MPF" not in clean.data
    with Image.open(io.BytesIO(clean.data)) as image:
        assert image.format == "JPEG" and getattr(image, "n_frames", 1) == 1
        assert image.getpixel((40, 20))[2] > 150, "the first picture (blue), not the green one"


@pytest.mark.parametrize(
    "build", [files.jpeg, files.heic, files.tiff], ids=["jpeg", "heic", "tiff"]
)
def test_the_exif_orientation_is_applied_once_before_it_is_dropped(build) -> None:
    """Orientation 6 (turn 90 degrees clockwise): the 64x32 picture becomes 32x64 and its red
    top-left corner ends at the top right."""
    clean = _clean(build(orientation=6))
    with Image.open(io.BytesIO(clean.data)) as image:
        assert image.size == (32, 64)
        assert image.getpixel((29, 2))[0] > 200
        assert image.getpixel((2, 2))[0] < 60


def test_an_image_that_cannot_be_decoded_is_refused_never_passed_on() -> None:
    truncated = files.jpeg()[:200]
    assert _refusal(truncated) is Refusal.IMAGE_UNREADABLE
    assert _refusal(files.png_with_text()[:60]) is Refusal.IMAGE_UNREADABLE
    assert _refusal(b"\x89PNG\r\n\x1a\n" + bytes(100)) is Refusal.IMAGE_UNREADABLE


def test_a_decompression_bomb_is_refused_from_its_header() -> None:
    """30000 x 30000 pixels in 100 KB: refused before a pixel is decoded. The process's peak
    memory does not move (decoding it would take 900 MB as grey, 2.7 GB as RGB)."""
    bomb = files.png(30_000, 30_000)
    assert len(bomb) < 200_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcome = clean_file(bomb, MAX_PIXELS)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert outcome == Refused(Refusal.IMAGE_TOO_LARGE, (("limit", 50),))
    assert after - before < 20_000, f"peak memory grew by {after - before} KiB"
    # Just over the limit is refused by the bot's own check, not only Pillow's.
    assert _refusal(files.png(7_100, 7_100)) is Refusal.IMAGE_TOO_LARGE
    assert isinstance(clean_file(files.png(2_000, 2_000), MAX_PIXELS), CleanFile)


def test_camera_raw_is_refused_not_shown_as_its_thumbnail() -> None:
    assert _refusal(files.dng()) is Refusal.CAMERA_RAW


# --- PDF ------------------------------------------------------------------------------------


def test_a_pdf_loses_its_author_xmp_commenters_id_and_the_exif_of_its_photos() -> None:
    data = files.pdf()
    assert data.count(CANARY) >= 4  # docinfo, XMP, comment author, photo EXIF (and /ID)
    clean = _clean(data)
    assert (clean.mime, clean.extension, clean.kind) == (
        "application/pdf",
        ".pdf",
        MediaKind.DOCUMENT,
    )
    assert clean.metadata_removed
    assert CANARY not in clean.data and b"Exif" not in clean.data
    assert b"PDF-BODY-KEEP" in clean.data, "the page itself is untouched"
    with pikepdf.open(io.BytesIO(clean.data)) as document:
        assert "/Info" not in document.trailer
        assert "/Metadata" not in document.Root
        annotation = document.pages[0].Annots[0]
        assert "/T" not in annotation and str(annotation.Contents) == "a reviewer note"
        photo = document.pages[0].Resources.XObject.Im0
        with Image.open(io.BytesIO(photo.read_raw_bytes())) as image:
            assert image.size == (64, 32), "the photo still decodes"


@pytest.mark.parametrize(
    "active", ["javascript", "launch", "attachment", "open_uri", "page_action"]
)
def test_a_pdf_that_acts_on_its_own_is_refused(active: str) -> None:
    assert _refusal(files.pdf(active=active)) is Refusal.DOCUMENT_ACTIVE


def test_a_pdf_behind_a_password_or_broken_is_refused() -> None:
    assert _refusal(files.pdf_with_password()) is Refusal.PROTECTED
    assert _refusal(b"%PDF-1.7\n" + CANARY + b"\n%%EOF") is Refusal.UNREADABLE


# --- Office ---------------------------------------------------------------------------------


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


@pytest.mark.parametrize("kind", ["docx", "xlsx", "pptx"])
def test_office_files_are_rewritten_with_neutral_properties(kind: str) -> None:
    data = files.office(kind)
    assert CANARY in data
    clean = _clean(data)
    assert clean.extension == f".{kind}" and clean.metadata_removed
    assert CANARY not in clean.data
    parts = _parts(clean.data)
    assert "docProps/custom.xml" not in parts
    assert b"custom.xml" not in parts["_rels/.rels"]
    assert b"custom.xml" not in parts["[Content_Types].xml"]
    assert b"<dc:creator" not in parts["docProps/core.xml"]
    assert b"Company" not in parts["docProps/app.xml"]
    assert any(b"OFFICE-BODY-KEEP" in body for body in parts.values()), "the content stays"
    with zipfile.ZipFile(io.BytesIO(clean.data)) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    picture = next(body for name, body in parts.items() if name.endswith("image1.jpeg"))
    assert b"Exif" not in picture
    with Image.open(io.BytesIO(picture)) as image:
        assert image.size == (64, 32)


def test_a_word_file_loses_revisers_and_session_ids() -> None:
    document = _parts(_clean(files.office("docx")).data)["word/document.xml"]
    assert b'w:author="Author"' in document
    assert b"rsid" not in document and b"w:date" not in document


@pytest.mark.parametrize(
    "variant",
    [
        {"extra": {"word/vbaProject.bin": b"\xd0\xcf\x11\xe0 macros"}},
        {"extra": {"word/activeX/activeX1.xml": "<ax:ocx/>"}},
        {"extra": {"word/embeddings/oleObject1.bin": b"\xd0\xcf\x11\xe0"}},
        {"extra": {"word/afchunk.htm": b"<html><script>x</script></html>"}},
        {
            "rels": '<Relationship Id="rId5" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/oleObject" Target="http://evil.example/x.rtf" '
            'TargetMode="External"/>'
        },
    ],
    ids=["macros", "activex", "ole-object", "html-chunk", "external-object"],
)
def test_office_files_with_macros_objects_or_remote_content_are_refused(variant) -> None:
    assert _refusal(files.office("docx", **variant)) is Refusal.DOCUMENT_ACTIVE


def test_macro_enabled_documents_are_refused_by_their_content_type() -> None:
    assert _refusal(files.office("docm")) is Refusal.DOCUMENT_ACTIVE


def test_a_template_path_and_printer_settings_are_dropped_not_refused() -> None:
    template = (
        '<Relationship Id="rId7" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/attachedTemplate" Target="file:///C:/Users/' + files.CANARY + '/t.dotm" '
        'TargetMode="External"/>'
    )
    data = files.office(
        "docx",
        rels=template,
        extra={"word/printerSettings/printerSettings1.bin": CANARY + b" LaserJet on \\\\PC"},
    )
    clean = _clean(data)
    assert CANARY not in clean.data
    assert not any("printerSettings" in name for name in _parts(clean.data))


def test_an_embedded_spreadsheet_is_cleaned_like_the_document() -> None:
    inner = files.office("xlsx")
    clean = _clean(files.office("docx", extra={"word/embeddings/Sheet1.xlsx": inner}))
    assert CANARY not in clean.data
    embedded = _parts(clean.data)["word/embeddings/Sheet1.xlsx"]
    assert b"OFFICE-BODY-KEEP" in b"".join(_parts(embedded).values())


# --- video ----------------------------------------------------------------------------------


@pytest.mark.parametrize("container", ["mp4", "mov"])
def test_a_video_is_remuxed_without_its_location_or_other_metadata(container: str) -> None:
    data = files.video(container)
    location = files.LOCATION_CANARY.encode()
    assert location in data and CANARY in data
    if container == "mov":
        assert b"\xa9xyz" in data
    clean = _clean(data)
    assert clean.kind is MediaKind.VIDEO and clean.metadata_removed
    assert location not in clean.data and CANARY not in clean.data
    for atom in (b"\xa9xyz", b"udta", b"Lavf"):
        assert atom not in clean.data, atom
    assert files.packets(clean.data) == files.packets(data), "every packet copied, none added"


def test_a_video_shot_upright_stays_upright() -> None:
    """The rotation is not metadata: the remuxed track keeps its transformation matrix."""
    data = files.rotated(files.video("mov"))
    assert files.track_matrix(data).startswith(files.ROTATED_90)
    assert files.track_matrix(_clean(data).data).startswith(files.ROTATED_90)


def test_a_3gp_video_keeps_its_container_and_an_mp4_of_sound_alone_is_audio() -> None:
    clean = _clean(files.video("3gp"))
    assert (clean.mime, clean.extension) == ("video/3gpp", ".3gp")
    assert _refusal(files.video("mp4", picture_track=False)) is Refusal.AUDIO
    assert _refusal(files.video("mp4")[:400]) is Refusal.UNREADABLE


# --- the rest -------------------------------------------------------------------------------

REFUSED = [
    (files.SVG, Refusal.ACTIVE),
    (files.HTML, Refusal.ACTIVE),
    (files.XML, Refusal.ACTIVE),
    (files.EXE, Refusal.ACTIVE),
    (files.ELF, Refusal.ACTIVE),
    (files.SCRIPT, Refusal.ACTIVE),
    (files.SHORTCUT, Refusal.ACTIVE),
    (files.apk(), Refusal.ACTIVE),
    (files.jar(), Refusal.ACTIVE),
    (files.plain_zip(), Refusal.ARCHIVE),
    (files.RAR, Refusal.ARCHIVE),
    (files.MP3, Refusal.AUDIO),
    (files.WAV, Refusal.AUDIO),
    (files.LEGACY_DOC, Refusal.NOT_CLEANABLE),
    (files.RTF, Refusal.NOT_CLEANABLE),
    (files.ENCRYPTED_DOCX, Refusal.PROTECTED),
    (bytes(range(256)) * 4, Refusal.NOT_CLEANABLE),
]


@pytest.mark.parametrize(("data", "reason"), REFUSED, ids=[str(i) for i in range(len(REFUSED))])
def test_active_and_uncleanable_files_are_refused(data: bytes, reason: Refusal) -> None:
    assert _refusal(data) is reason


def test_plain_text_is_the_one_kind_that_passes_with_the_warning() -> None:
    outcome = _clean(files.TEXT)
    assert outcome.data == files.TEXT and not outcome.metadata_removed
    assert (outcome.mime, outcome.extension) == ("text/plain", ".txt")


def test_lossless_stripping_keeps_pictures_and_drops_their_metadata() -> None:
    stripped = strip_jpeg(files.jpeg())
    assert stripped is not None and CANARY not in stripped and b"Exif" not in stripped
    with Image.open(io.BytesIO(stripped)) as image:
        assert image.size == (64, 32)
    assert strip_jpeg(files.mpo()).count(b"\xff\xd8") == 1  # type: ignore[union-attr]
    png = strip_png(files.png_with_text())
    assert png is not None and CANARY not in png and b"zTXt" not in png
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (64, 32)
    assert strip_jpeg(b"not a jpeg") is None and strip_png(b"\x89PNG\r\n\x1a\nshort") is None

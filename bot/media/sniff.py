"""What a file is, from its bytes: magic numbers, and the parts of a zip file.

The file name and the mime type come from the sender's phone and are never consulted: a
program named `photo.jpg` is a program. Runs in the worker, because reading a zip's directory
is already parsing hostile input.
"""

from __future__ import annotations

import io
import zipfile
from typing import Literal

from bot.domain.media import FileType

_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"mif2"}
_AVIF_BRANDS = {b"avif", b"avis"}
_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "}
_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}

_PROGRAMS = (
    b"MZ",  # Windows PE (exe, dll, scr)
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",  # Mach-O, both byte orders, 32 and 64 bit
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",  # Mach-O universal binary, and Java class files
    b"dex\n",  # Android Dalvik
    b"\x00asm",  # WebAssembly
    b"#!",  # scripts
    b"L\x00\x00\x00\x01\x14\x02\x00",  # Windows shortcut (.lnk)
    b"%!PS",  # PostScript is a program
)
_ARCHIVES = (
    b"Rar!\x1a\x07",
    b"7z\xbc\xaf\x27\x1c",
    b"\x1f\x8b",  # gzip
    b"BZh",
    b"\xfd7zXZ\x00",
    b"\x28\xb5\x2f\xfd",  # zstd
    b"MSCF",  # cab
    b"xar!",  # macOS installer packages
    b"PK\x05\x06",  # an empty zip
    b"PK\x07\x08",  # a spanned zip
)
_AUDIO = (b"ID3", b"fLaC", b"OggS", b"#!AMR", b"MThd", b".snd", b"caff", b"wvpk", b"MAC ")
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy Office, MSI, encrypted OOXML
_BMP_HEADERS = {12, 16, 40, 52, 56, 64, 108, 124}
_HTML_MARKS = ("<html", "<!doctype html", "<script", "<iframe", "<body")
_TEXT_CONTROLS = set(range(32)) - {9, 10, 12, 13, 27}


def sniff(data: bytes) -> FileType:
    """The kind of file `data` is; UNKNOWN for anything not recognised."""
    head = data[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return FileType.JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return FileType.PNG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return FileType.GIF
    if head.startswith(b"RIFF") and len(head) >= 12:
        return {b"WEBP": FileType.WEBP, b"WAVE": FileType.AUDIO}.get(head[8:12], FileType.UNKNOWN)
    if head.startswith(b"FORM") and head[8:12] in {b"AIFF", b"AIFC"}:
        return FileType.AUDIO
    if head.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")):
        return _tiff_or_raw(data)
    if head.startswith((b"IIRO", b"IIRS", b"IIU\x00", b"FUJIFILM")):
        return FileType.CAMERA_RAW  # Olympus, Panasonic, Fujifilm raw
    if head.startswith((b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xff\x4f\xff\x51")):
        return FileType.JPEG2000
    if head[4:8] == b"ftyp":
        return _iso_media(data)
    if head[4:8] in _QUICKTIME_ATOMS:
        return FileType.MOV  # QuickTime from before the ftyp box
    if head.startswith(b"BM") and len(head) >= 18 and _le32(head, 14) in _BMP_HEADERS:
        return FileType.BMP
    if head.startswith(b"%PDF-"):
        return FileType.PDF
    if head.startswith(b"PK\x03\x04"):
        return _zip(data)
    if head.startswith(_OLE):
        # An Office file behind a password is an OLE container holding "EncryptedPackage".
        if "EncryptedPackage".encode("utf-16-le") in data:
            return FileType.PROTECTED_DOCUMENT
        return FileType.OTHER_DOCUMENT
    if head.startswith(b"{\\rtf"):
        return FileType.OTHER_DOCUMENT
    if head.startswith(_PROGRAMS):
        return FileType.PROGRAM
    if head.startswith(_ARCHIVES) or data[257:262] == b"ustar" or data[32769:32774] == b"CD001":
        return FileType.ARCHIVE
    if head.startswith(_AUDIO) or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return FileType.AUDIO  # the last: an MP3 or AAC frame header
    if head.startswith(b"\x1a\x45\xdf\xa3") or (head.startswith(b"RIFF") and b"AVI" in head):
        return FileType.UNKNOWN  # Matroska, WebM, AVI: no remuxing is offered for them
    return _text(data)


def _le32(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 4], "little")


def _tiff_or_raw(data: bytes) -> FileType:
    """TIFF, unless it is a camera's raw file built on TIFF (DNG, CR2, NEF, ARW and kin).

    A raw file's first image is a small preview, not the photo: passing that on would hide
    from the tipster that the reviewers see a thumbnail. CR2 says so at byte 8; in the first
    directory, DNG carries its version (tag 50706), and raw files mark their first image as a
    reduced-resolution preview (tag 254, bit 0) or point to the sensor data in sub-images
    (tag 330), which ordinary TIFFs from scanners and editors do not do.
    """
    if data[8:10] == b"CR":
        return FileType.CAMERA_RAW
    if data[2:4] not in {b"*\x00", b"\x00*"}:
        return FileType.TIFF  # BigTIFF: no raw format uses it
    order: Literal["little", "big"] = "little" if data[:2] == b"II" else "big"
    offset = int.from_bytes(data[4:8], order)
    if not 8 <= offset <= len(data) - 2:
        return FileType.TIFF
    count = min(int.from_bytes(data[offset : offset + 2], order), 1000)
    for at in range(offset + 2, min(offset + 2 + 12 * count, len(data) - 11), 12):
        tag = int.from_bytes(data[at : at + 2], order)
        if tag in {330, 50706}:
            return FileType.CAMERA_RAW
        if tag == 254:
            short = int.from_bytes(data[at + 2 : at + 4], order) == 3
            value = data[at + 8 : at + 10] if short else data[at + 8 : at + 12]
            if int.from_bytes(value, order) & 1:
                return FileType.CAMERA_RAW
    return FileType.TIFF


def _iso_media(data: bytes) -> FileType:
    """Files made of ISO boxes: HEIF and AVIF photos, MP4, MOV and 3GP videos, M4A audio."""
    size = int.from_bytes(data[0:4], "big")
    major = data[8:12]
    end = min(max(size, 16), 256, len(data))
    brands = {major} | {data[i : i + 4] for i in range(16, end - 3, 4)}
    if brands & _AVIF_BRANDS:
        return FileType.AVIF
    if major in _HEIF_BRANDS or brands & (_HEIF_BRANDS - {b"mif1", b"msf1"}):
        return FileType.HEIF
    if major == b"crx ":
        return FileType.CAMERA_RAW  # Canon CR3
    if major in _AUDIO_BRANDS:
        return FileType.AUDIO
    if major == b"qt  ":
        return FileType.MOV
    if major.startswith((b"3gp", b"3g2", b"3ge", b"3gg")):
        return FileType.THREE_GP
    if major.startswith((b"jp2 ", b"jpx ", b"jpm ")):
        return FileType.JPEG2000
    return FileType.MP4


def _zip(data: bytes) -> FileType:
    """A zip is an Office document (by its main part), a program (APK, JAR) or an archive."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            mimetype = archive.read("mimetype")[:100] if "mimetype" in names else b""
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, EOFError, NotImplementedError):
        return FileType.ARCHIVE  # a zip the bot cannot even list is refused as an archive
    if "AndroidManifest.xml" in names or "classes.dex" in names:
        return FileType.PROGRAM
    if "META-INF/MANIFEST.MF" in names or any(name.endswith(".class") for name in names):
        return FileType.PROGRAM
    if "[Content_Types].xml" in names:
        for part, kind in (
            ("word/document.xml", FileType.DOCX),
            ("xl/workbook.xml", FileType.XLSX),
            ("ppt/presentation.xml", FileType.PPTX),
        ):
            if part in names:
                return kind
        return FileType.OTHER_DOCUMENT  # Visio, XPS and other Open Packaging files
    if mimetype.startswith(b"application/vnd.oasis.opendocument"):
        return FileType.OTHER_DOCUMENT
    return FileType.ARCHIVE


def _text(data: bytes) -> FileType:
    """Plain text (UTF-8, UTF-16 with its byte order mark, or GB18030), unless it is markup."""
    text: str | None = None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = _decode(data, "utf-16")
    elif b"\x00" not in data:
        text = _decode(data, "utf-8-sig")
        if text is None:
            text = _decode(data, "gb18030")
    if text is None or not text.strip() or any(ord(ch) in _TEXT_CONTROLS for ch in text):
        return FileType.UNKNOWN
    start = text[:4096].lstrip().lower()
    window = text[:65536].lower()
    if start.startswith("<svg") or "<svg" in window:
        return FileType.SVG
    if any(mark in window for mark in _HTML_MARKS):
        return FileType.HTML
    if start.startswith("<"):
        return FileType.XML  # XML, XHTML, XSLT, plists: markup a viewer may act on
    return FileType.TEXT


def _decode(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None

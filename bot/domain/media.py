"""What each kind of file means for a tip: cleaned how, refused why, or passed with a warning.

The kind is found from the file's bytes (bot.media.sniff), never from its name or the mime
type the sender's phone claims. The cleaning itself happens in bot.media, in a worker process.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.domain.errors import (
    ArchiveRefused,
    AudioFileRefused,
    CameraRawRefused,
    DocumentActive,
    FileActive,
    FileNotCleanable,
    FileProtected,
    FileTooHeavy,
    FileUnreadable,
    ImageTooLarge,
    ImageUnreadable,
    IntakeError,
)

# What the Bot API lets a bot upload; a cleaned file above it could never reach the reviewers.
MAX_CLEAN_BYTES = 50_000_000


class FileType(StrEnum):
    """A kind of file, as its first bytes (and, for zip files, its parts) show it."""

    JPEG = "jpeg"  # JPEG, and MPO (multi-picture JPEG: Android Ultra HDR, 3D cameras)
    PNG = "png"
    GIF = "gif"
    WEBP = "webp"
    BMP = "bmp"
    TIFF = "tiff"
    HEIF = "heif"  # HEIC, the iPhone's photos
    AVIF = "avif"
    JPEG2000 = "jpeg2000"
    PDF = "pdf"
    DOCX = "docx"
    XLSX = "xlsx"
    PPTX = "pptx"
    MP4 = "mp4"
    MOV = "mov"
    THREE_GP = "3gp"
    TEXT = "text"
    # Refused:
    CAMERA_RAW = "camera_raw"
    SVG = "svg"
    HTML = "html"
    XML = "xml"
    PROGRAM = "program"  # executables, scripts, shortcuts, APK, JAR, installers
    ARCHIVE = "archive"
    AUDIO = "audio"
    OTHER_DOCUMENT = "other_document"  # legacy Office, OpenDocument, RTF, Visio, XPS
    PROTECTED_DOCUMENT = "protected_document"  # Office behind a password
    UNKNOWN = "unknown"


class Cleaning(StrEnum):
    """How a kind of file is made safe to pass on."""

    IMAGE = "image"  # decoded and re-encoded from its pixels (JPEG, or PNG with transparency)
    PDF = "pdf"  # rewritten without document info, XMP and photo metadata; active PDFs refused
    OFFICE = "office"  # the zip rewritten with neutral properties; macros and objects refused
    VIDEO = "video"  # remuxed (no re-encoding) without container and stream metadata
    KEEP = "keep"  # passed as it is, with the "metadata kept" warning


class Refusal(StrEnum):
    """Why a file was not added; each reason has a catalogue message for the tipster."""

    IMAGE_UNREADABLE = "image_unreadable"
    IMAGE_TOO_LARGE = "image_too_large"
    UNREADABLE = "unreadable"
    ACTIVE = "active"
    DOCUMENT_ACTIVE = "document_active"
    PROTECTED = "protected"
    ARCHIVE = "archive"
    CAMERA_RAW = "camera_raw"
    AUDIO = "audio"
    NOT_CLEANABLE = "not_cleanable"
    TOO_HEAVY = "too_heavy"


CLEANING: dict[FileType, Cleaning] = {
    FileType.JPEG: Cleaning.IMAGE,
    FileType.PNG: Cleaning.IMAGE,
    FileType.GIF: Cleaning.IMAGE,
    FileType.WEBP: Cleaning.IMAGE,
    FileType.BMP: Cleaning.IMAGE,
    FileType.TIFF: Cleaning.IMAGE,
    FileType.HEIF: Cleaning.IMAGE,
    FileType.AVIF: Cleaning.IMAGE,
    FileType.JPEG2000: Cleaning.IMAGE,
    FileType.PDF: Cleaning.PDF,
    FileType.DOCX: Cleaning.OFFICE,
    FileType.XLSX: Cleaning.OFFICE,
    FileType.PPTX: Cleaning.OFFICE,
    FileType.MP4: Cleaning.VIDEO,
    FileType.MOV: Cleaning.VIDEO,
    FileType.THREE_GP: Cleaning.VIDEO,
    # Plain text has no hidden fields to strip, but the bot passes its bytes unchanged and an
    # e-mail or chat export carries names and addresses the bot cannot tell from the tip.
    FileType.TEXT: Cleaning.KEEP,
}

REFUSED: dict[FileType, Refusal] = {
    FileType.CAMERA_RAW: Refusal.CAMERA_RAW,
    FileType.SVG: Refusal.ACTIVE,
    FileType.HTML: Refusal.ACTIVE,
    FileType.XML: Refusal.ACTIVE,
    FileType.PROGRAM: Refusal.ACTIVE,
    FileType.ARCHIVE: Refusal.ARCHIVE,
    FileType.AUDIO: Refusal.AUDIO,
    FileType.OTHER_DOCUMENT: Refusal.NOT_CLEANABLE,
    FileType.PROTECTED_DOCUMENT: Refusal.PROTECTED,
    FileType.UNKNOWN: Refusal.NOT_CLEANABLE,
}

# The mime type and extension a file keeps when it is passed on in its own format.
FORMATS: dict[FileType, tuple[str, str]] = {
    FileType.PDF: ("application/pdf", ".pdf"),
    FileType.DOCX: (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ".docx",
    ),
    FileType.XLSX: ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"),
    FileType.PPTX: (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ".pptx",
    ),
    FileType.MP4: ("video/mp4", ".mp4"),
    FileType.MOV: ("video/quicktime", ".mov"),
    FileType.THREE_GP: ("video/3gpp", ".3gp"),
    FileType.TEXT: ("text/plain", ".txt"),
}

_ERRORS: dict[Refusal, type[IntakeError]] = {
    Refusal.IMAGE_UNREADABLE: ImageUnreadable,
    Refusal.IMAGE_TOO_LARGE: ImageTooLarge,
    Refusal.UNREADABLE: FileUnreadable,
    Refusal.ACTIVE: FileActive,
    Refusal.DOCUMENT_ACTIVE: DocumentActive,
    Refusal.PROTECTED: FileProtected,
    Refusal.ARCHIVE: ArchiveRefused,
    Refusal.CAMERA_RAW: CameraRawRefused,
    Refusal.AUDIO: AudioFileRefused,
    Refusal.NOT_CLEANABLE: FileNotCleanable,
    Refusal.TOO_HEAVY: FileTooHeavy,
}


def treatment(kind: FileType) -> Cleaning | Refusal:
    """What happens to a file of this kind: one of the cleanings, or the reason it is refused."""
    return CLEANING.get(kind) or REFUSED[kind]


class MediaKind(StrEnum):
    """What a cleaned file is shown as to the reviewers."""

    IMAGE = "image"
    VIDEO = "video"
    DOCUMENT = "document"


@dataclass(frozen=True)
class CleanFile:
    """A file ready to be sealed: its new bytes, the type they have, and whether hidden data
    was removed (False only for what passes with the warning)."""

    data: bytes
    mime: str
    extension: str
    kind: MediaKind
    metadata_removed: bool


@dataclass(frozen=True)
class Refused:
    """A file that is not added, and why; `params` fill in the tipster's message."""

    reason: Refusal
    params: tuple[tuple[str, int], ...] = ()

    def error(self) -> IntakeError:
        return _ERRORS[self.reason](**dict(self.params))


Outcome = CleanFile | Refused


class FileCleaner(Protocol):
    """Cleans one file; the running bot's is a pool of worker processes (bot.media.worker)."""

    async def clean(self, data: bytes) -> Outcome: ...

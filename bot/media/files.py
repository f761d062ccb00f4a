"""One file in, one outcome out: what it is (from its bytes), then its cleaning or refusal.

This is what the worker process runs (bot.media.worker); nothing here holds or needs a key.
"""

from __future__ import annotations

from bot.domain.media import (
    FORMATS,
    CleanFile,
    Cleaning,
    FileType,
    MediaKind,
    Outcome,
    Refusal,
    Refused,
    treatment,
)
from bot.media.documents import clean_office, clean_pdf
from bot.media.images import clean_image
from bot.media.sniff import sniff
from bot.media.video import clean_video


def clean_file(data: bytes, max_pixels: int) -> Outcome:
    kind = sniff(data)
    how = treatment(kind)
    if isinstance(how, Refusal):
        return Refused(how)
    try:
        return _clean(data, kind, how, max_pixels)
    except MemoryError:
        return Refused(Refusal.TOO_HEAVY)
    except RecursionError:
        return Refused(Refusal.TOO_HEAVY)
    except Exception:  # a decoder's surprise on hostile bytes is a refusal
        return Refused(Refusal.IMAGE_UNREADABLE if how is Cleaning.IMAGE else Refusal.UNREADABLE)


def _clean(data: bytes, kind: FileType, how: Cleaning, max_pixels: int) -> Outcome:
    if how is Cleaning.IMAGE:
        return clean_image(data, kind, max_pixels)
    if how is Cleaning.PDF:
        return clean_pdf(data)
    if how is Cleaning.OFFICE:
        return clean_office(data, kind, clean_video)
    if how is Cleaning.VIDEO:
        return clean_video(data, kind)
    mime, extension = FORMATS[kind]
    return CleanFile(data, mime, extension, MediaKind.DOCUMENT, metadata_removed=False)

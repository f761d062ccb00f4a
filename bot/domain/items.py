"""The parts of a tip (texts, locations, files) and the rules they must meet before sealing."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.domain.errors import AttachmentTooLarge, EmptyText, TextTooLong, UnknownChoice
from bot.domain.policy import Policy

MAX_AREA_CHARS = 100


class Step(StrEnum):
    """Where a draft is in the dialogue."""

    CATEGORY = "category"
    AREA = "area"
    DESCRIBE = "describe"
    CONFIRM = "confirm"


def step_after_choices(category: str | None, area: str | None) -> Step:
    """What a draft asks next, given what is chosen: the category, then the area (both may
    come chosen from a campaign's link), then the tip itself."""
    if category is None:
        return Step.CATEGORY
    return Step.AREA if area is None else Step.DESCRIBE


class ItemKind(StrEnum):
    TEXT = "text"
    PHOTO = "photo"
    DOCUMENT = "document"
    VIDEO = "video"
    LOCATION = "location"


ATTACHMENT_KINDS = frozenset({ItemKind.PHOTO, ItemKind.DOCUMENT, ItemKind.VIDEO})


@dataclass(frozen=True)
class ItemSummary:
    """What the tipster sees of one part of their tip in the summary."""

    kind: ItemKind
    chars: int = 0
    preview: str = ""
    extension: str = ""
    metadata_removed: bool = True


@dataclass(frozen=True)
class DraftView:
    step: Step
    language: str
    category: str | None
    area: str | None
    contact_allowed: bool
    items: tuple[ItemSummary, ...]
    resumed: bool = False
    delete_after: bool = False
    campaign: str | None = None

    @property
    def attachments(self) -> int:
        return sum(1 for item in self.items if item.kind in ATTACHMENT_KINDS)

    @property
    def has_unscrubbed_files(self) -> bool:
        return any(not item.metadata_removed for item in self.items)


@dataclass(frozen=True)
class IncomingAttachment:
    """A file the handler downloaded, and how it was sent (photo, video or file); the
    service decides from its bytes how it is cleaned. The sender's file name and mime type
    are not kept: they are neither trusted nor passed on."""

    kind: ItemKind
    data: bytes


def clean_text(text: str) -> str:
    """Drop control characters other than newlines and tabs; keep everything else as typed."""
    return "".join(ch for ch in text if ch in "\n\t" or ch.isprintable()).strip()


def preview(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@dataclass(frozen=True)
class PreparedItem:
    """One part of a tip or an answer, cleaned and checked, ready to be sealed."""

    payload: dict[str, Any]
    summary: dict[str, Any]
    blob: bytes | None = None

    @property
    def kind(self) -> ItemKind:
        return ItemKind(self.payload["kind"])


def prepare_text(policy: Policy, text: str) -> PreparedItem:
    cleaned = clean_text(text)
    if not cleaned:
        raise EmptyText()
    limit = policy.intake.max_text_chars
    if len(cleaned) > limit:
        raise TextTooLong(limit=limit, length=len(cleaned))
    return PreparedItem(
        {"kind": ItemKind.TEXT, "text": cleaned},
        {"kind": ItemKind.TEXT, "chars": len(cleaned), "preview": preview(cleaned)},
    )


def prepare_location(latitude: float, longitude: float) -> PreparedItem:
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise UnknownChoice()
    return PreparedItem(
        {"kind": ItemKind.LOCATION, "latitude": latitude, "longitude": longitude},
        {"kind": ItemKind.LOCATION},
    )


def check_attachment_size(policy: Policy, size: int | None) -> None:
    limit = policy.intake.max_attachment_bytes
    if size is not None and size > limit:
        raise AttachmentTooLarge(limit_mb=limit // 1_000_000)

"""What the bot posts: outbox rows rendered into parts (texts, photos, files, locations).

Rendering is deterministic for a given report, so a post interrupted after its second part
resumes at the third. Everything a staff chat sees is composed here from sealed storage:
nothing of the tipster's own message (sender, forward origin, file name, metadata) survives.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from bot.i18n import Catalogue, Html
from bot.intake import ItemKind, item_payload
from bot.policy import Policy
from bot.vault import DataKey
from storage.blobs import BlobStore
from storage.records import ItemRecord, ReportRecord

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024


@dataclass(frozen=True)
class TextPart:
    html: str


@dataclass(frozen=True)
class FilePart:
    kind: ItemKind
    data: bytes
    filename: str
    caption: str


@dataclass(frozen=True)
class LocationPart:
    latitude: float
    longitude: float


Part = TextPart | FilePart | LocationPart


def escaped_chunks(text: str, limit: int) -> list[str]:
    """Escape tip text for HTML in chunks of at most `limit` characters, never cutting an entity."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for ch in text:
        piece = html.escape(ch, quote=False)
        if size + len(piece) > limit:
            chunks.append("".join(current))
            current, size = [], 0
        current.append(piece)
        size += len(piece)
    if current:
        chunks.append("".join(current))
    return chunks


def pack_blocks(blocks: list[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Join HTML blocks (each within the limit) into as few messages as fit."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        candidate = f"{current}\n\n{block}" if current else block
        if current and len(candidate) > limit:
            messages.append(current)
            current = block
        else:
            current = candidate
    if current:
        messages.append(current)
    return messages


class PostRenderer:
    """Builds the parts of a staff post in the staff language."""

    def __init__(
        self, catalogue: Catalogue, policy: Policy, blobs: BlobStore, staff_language: str
    ) -> None:
        self._t = catalogue
        self._policy = policy
        self._blobs = blobs
        self._lang = staff_language

    def _area(self, report: ReportRecord, key: DataKey) -> str:
        if report.sealed_area is None:
            return self._t.text(self._lang, "review.area_none")
        raw = key.open_text("area", report.sealed_area)
        kind, _, value = raw.partition(":")
        if kind == "key":
            choice = self._policy.intake.area(value)
            return choice.label(self._lang) if choice else value
        return value

    async def tip_post(
        self, report: ReportRecord, key: DataKey, items: list[ItemRecord]
    ) -> list[Part]:
        """The header with the tip's text, then each attachment and location in order."""
        t, lang = self._t, self._lang
        category = self._policy.intake.category(report.category)
        payloads = [(item, item_payload(key, item.sealed)) for item in items]
        texts = [p["text"] for _, p in payloads if p["kind"] == ItemKind.TEXT]
        others = [(i, p) for i, p in payloads if p["kind"] != ItemKind.TEXT]
        header = t.text(
            lang,
            "review.post_header",
            reference=report.reference,
            category=category.label(lang) if category else report.category,
            area=self._area(report, key),
            alias=report.alias,
            parts=len(payloads),
            attachments=len(others),
        )
        blocks = [header]
        for text in texts:
            blocks.extend(escaped_chunks(text, MESSAGE_LIMIT - 64))
        parts: list[Part] = [TextPart(m) for m in pack_blocks(blocks)]
        for number, (item, payload) in enumerate(others, start=1):
            if payload["kind"] == ItemKind.LOCATION:
                parts.append(LocationPart(float(payload["latitude"]), float(payload["longitude"])))
                continue
            assert item.blob_name is not None
            data = key.open(f"blob:{item.blob_name}", await self._blobs.get(item.blob_name))
            label = (
                "review.metadata_removed"
                if payload["metadata_removed"]
                else ("review.metadata_kept")
            )
            caption = t.text(
                lang,
                "review.attachment_caption",
                reference=report.reference,
                number=number,
                total=len(others),
                note=Html(t.text(lang, label)),
            )
            parts.append(
                FilePart(
                    kind=ItemKind(payload["kind"]),
                    data=data,
                    filename=f"{report.reference}-{number}{payload['extension']}",
                    caption=caption[:CAPTION_LIMIT],
                )
            )
        return parts

"""Telegram-style HTML parsing: plain text plus message entities, with Telegram's strictness."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from .autolink import with_found_entities
from .models import JSONDict, bad_request

_TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAME = r"[a-zA-Z][a-zA-Z0-9-]*"
_START_TAG = re.compile(
    rf"<({_NAME})((?:\s+[a-zA-Z_:][-\w:.]*(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?)*)\s*>"
)
_END_TAG = re.compile(rf"</({_NAME})\s*>")
_ATTR = re.compile(r"([a-zA-Z_:][-\w:.]*)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'>]+)))?")
_CHAR_REF = re.compile(r"&(lt|gt|amp|quot|#[0-9]+|#[xX][0-9a-fA-F]+);")

MAX_TEXT = 4096
MAX_CAPTION = 1024


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram uses for entity offsets."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(slots=True)
class _Open:
    name: str
    attrs: dict[str, str]
    offset: int
    extra: JSONDict = field(default_factory=dict)


def _parse_error(detail: str) -> Exception:
    return bad_request(f"can't parse entities: {detail}")


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _attrs(raw: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for match in _ATTR.finditer(raw):
        value = next((g for g in match.groups()[1:] if g is not None), "")
        found[match.group(1).lower()] = html.unescape(value)
    return found


def _entity_for(tag: _Open, length: int) -> JSONDict | None:
    kind = _TAG_ENTITY[tag.name]
    entity: JSONDict = {"type": kind, "offset": tag.offset, "length": length}
    if kind == "text_link":
        url = tag.attrs.get("href")
        if not url:
            return None
        entity["url"] = url
    elif kind == "custom_emoji":
        entity["custom_emoji_id"] = tag.attrs.get("emoji-id", "")
    elif kind == "blockquote" and "expandable" in tag.attrs:
        entity["type"] = "expandable_blockquote"
    elif kind == "pre" and tag.extra.get("language"):
        entity["language"] = tag.extra["language"]
    return entity


def parse_html(text: str) -> tuple[str, list[JSONDict]]:
    """Strip Telegram HTML into plain text and entities; raise a 400 ApiError like Telegram."""
    out: list[str] = []
    position = 0
    stack: list[_Open] = []
    entities: list[JSONDict] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "<":
            end = _END_TAG.match(text, i)
            if end:
                name = end.group(1).lower()
                if not stack:
                    raise _parse_error(
                        f'unexpected end tag "</{name}>" at byte offset {_byte_offset(text, i)}'
                    )
                top = stack.pop()
                if top.name != name:
                    raise _parse_error(
                        f"unmatched end tag at byte offset {_byte_offset(text, i)}, "
                        f'expected "</{top.name}>", found "</{name}>"'
                    )
                _close(top, position, stack, entities)
                i = end.end()
                continue
            start = _START_TAG.match(text, i)
            if not start:
                raise _parse_error(f"unclosed start tag at byte offset {_byte_offset(text, i)}")
            name = start.group(1).lower()
            attrs = _attrs(start.group(2))
            if name not in _TAG_ENTITY or (name == "span" and attrs.get("class") != "tg-spoiler"):
                raise _parse_error(
                    f'unsupported start tag "{name}" at byte offset {_byte_offset(text, i)}'
                )
            stack.append(_Open(name, attrs, position))
            i = start.end()
            continue
        if char == "&":
            ref = _CHAR_REF.match(text, i)
            if ref:
                decoded = html.unescape(ref.group(0))
                out.append(decoded)
                position += utf16_len(decoded)
                i = ref.end()
                continue
        out.append(char)
        position += utf16_len(char)
        i += 1
    if stack:
        raise _parse_error(f'can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _close(tag: _Open, position: int, stack: list[_Open], entities: list[JSONDict]) -> None:
    language = tag.attrs.get("class", "")
    if (
        tag.name == "code"
        and stack
        and stack[-1].name == "pre"
        and language.startswith("language-")
    ):
        stack[-1].extra["language"] = language.removeprefix("language-")
        return
    length = position - tag.offset
    if length <= 0:
        return
    entity = _entity_for(tag, length)
    if entity is not None:
        entities.append(entity)


def format_text(
    text: str, parse_mode: str | None, entities: list[JSONDict] | None
) -> tuple[str, list[JSONDict]]:
    """Plain text and entities of a text or caption as Telegram would store it, with the
    links, mentions, hashtags and commands Telegram finds in it by itself (autolink.py)."""
    if entities:
        plain, given = text, list(entities)
    elif parse_mode and parse_mode.upper() == "HTML":
        plain, given = parse_html(text)
    else:
        plain, given = text, []
    return plain, with_found_entities(plain, given)

"""A chat message as the page shows it: text and entities, media, buttons, protection, reply.

The page never receives HTML. It gets the plain text and the entities the emulator parsed from
the bot's HTML (offsets in UTF-16 code units, as JavaScript strings count), and builds DOM
nodes from them; so nothing a bot or a person typed can become markup in the page.
"""

from __future__ import annotations

from typing import Any

from sandbox import people
from sandbox.emulator.server import Entry

JSONDict = dict[str, Any]

# Entity types the page draws; any other keeps its text and loses its style.
ENTITY_TYPES = frozenset(
    {
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "code",
        "pre",
        "text_link",
        "spoiler",
        "blockquote",
        "expandable_blockquote",
        "bot_command",
    }
)
MEDIA_KINDS = ("photo", "video", "animation", "document", "audio", "voice", "video_note")
SNIPPET = 80


def _entities(raw: object) -> list[JSONDict]:
    if not isinstance(raw, list):
        return []
    kept: list[JSONDict] = []
    for entity in raw:
        if not isinstance(entity, dict) or entity.get("type") not in ENTITY_TYPES:
            continue
        view: JSONDict = {
            "type": entity["type"],
            "offset": int(entity.get("offset", 0)),
            "length": int(entity.get("length", 0)),
        }
        if entity["type"] == "text_link":
            view["url"] = str(entity.get("url", ""))
        if entity["type"] == "pre" and entity.get("language"):
            view["language"] = str(entity["language"])
        kept.append(view)
    return kept


def _sender(message: JSONDict, from_bot: bool) -> JSONDict:
    sender = message.get("from") or {}
    if from_bot:
        return {"id": people.BOT_ID, "name": people.BOT_NAME, "bot": True}
    name = " ".join(
        str(part) for part in (sender.get("first_name"), sender.get("last_name")) if part
    )
    return {"id": int(sender.get("id", 0)), "name": name or "?", "bot": False}


def _file(kind: str, value: object) -> JSONDict | None:
    if kind == "photo" and isinstance(value, list) and value:
        largest = value[-1]
        return {
            "kind": "photo",
            "file": str(largest.get("file_id", "")),
            "width": largest.get("width"),
            "height": largest.get("height"),
            "size": largest.get("file_size"),
        }
    if isinstance(value, dict) and "file_id" in value:
        return {
            "kind": kind,
            "file": str(value["file_id"]),
            "name": value.get("file_name"),
            "mime": value.get("mime_type"),
            "size": value.get("file_size"),
        }
    return None


def _media(message: JSONDict) -> JSONDict | None:
    for kind in MEDIA_KINDS:
        if kind in message:
            found = _file(kind, message[kind])
            if found is not None:
                return found
    venue = message.get("venue")
    location = message.get("location")
    if isinstance(location, dict):
        view: JSONDict = {
            "kind": "location",
            "latitude": location.get("latitude"),
            "longitude": location.get("longitude"),
        }
        if isinstance(venue, dict):
            view["title"] = venue.get("title")
            view["address"] = venue.get("address")
        return view
    for kind in ("contact", "sticker", "poll"):
        if kind in message:
            return {"kind": kind}
    return None


def _buttons(message: JSONDict) -> list[list[JSONDict]]:
    markup = message.get("reply_markup")
    if not isinstance(markup, dict):
        return []
    rows: list[list[JSONDict]] = []
    for row in markup.get("inline_keyboard") or []:
        built: list[JSONDict] = []
        for button in row:
            if not isinstance(button, dict):
                continue
            view: JSONDict = {"text": str(button.get("text", ""))}
            if "callback_data" in button:
                view["data"] = str(button["callback_data"])
            elif "url" in button:
                view["url"] = str(button["url"])
            elif isinstance(button.get("copy_text"), dict):
                view["copy"] = str(button["copy_text"].get("text", ""))
            built.append(view)
        rows.append(built)
    return rows


def _reply_to(message: JSONDict) -> JSONDict | None:
    replied = message.get("reply_to_message")
    if not isinstance(replied, dict):
        return None
    text = str(replied.get("text") or replied.get("caption") or "")
    sender = replied.get("from") or {}
    from_bot = bool(sender.get("is_bot"))
    if not text:
        media = _media(replied)
        text = f"[{media['kind']}]" if media else ""
    return {
        "id": int(replied.get("message_id", 0)),
        "name": _sender(replied, from_bot)["name"],
        "snippet": text[:SNIPPET],
    }


def message_view(entry: Entry) -> JSONDict:
    """The page's view of one message (the bot's or a person's)."""
    message = entry.message
    text = message.get("text")
    if text is not None:
        body, entities = str(text), _entities(message.get("entities"))
    else:
        body = str(message.get("caption") or "")
        entities = _entities(message.get("caption_entities"))
    return {
        "id": int(message["message_id"]),
        "from": _sender(message, entry.from_bot),
        "date": int(message.get("date", 0)),
        "text": body,
        "entities": entities,
        "media": _media(message),
        "buttons": _buttons(message),
        "force_reply": entry.force_reply,
        "protected": bool(message.get("has_protected_content")),
        "edited": "edit_date" in message,
        "reply_to": _reply_to(message),
        "demo": "[DEMO]" in body,
    }

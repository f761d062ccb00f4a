"""Decoding of Bot API request bodies (urlencoded, multipart, JSON) into typed parameters."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl

from .models import JSONDict, Upload

RAW_STRING_FIELDS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "file_id",
        "url",
        "data",
        "title",
        "address",
        "question",
        "description",
        "short_description",
        "name",
        "first_name",
        "last_name",
        "phone_number",
        "vcard",
        "foursquare_id",
        "foursquare_type",
        "google_place_id",
        "google_place_type",
        "emoji",
        "business_connection_id",
        "message_effect_id",
        "language_code",
        "action",
        "secret_token",
        "photo",
        "document",
        "video",
        "audio",
        "animation",
        "voice",
        "video_note",
        "sticker",
        "thumbnail",
    }
)

_BOUNDARY = re.compile(r'boundary=(?:"([^"]+)"|([^;\s]+))', re.IGNORECASE)
_DISPOSITION_PARAM = re.compile(r';\s*([\w*-]+)=("(?:[^"\\]|\\.)*"|[^;]*)')


def decode_value(key: str, value: str) -> object:
    """Undo PTB's encoding: non-string parameters arrive as JSON text."""
    if key in RAW_STRING_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def decode_fields(pairs: Iterable[tuple[str, str]]) -> JSONDict:
    """Decode form fields; the last occurrence of a key wins."""
    return {key: decode_value(key, value) for key, value in pairs}


def _unquote_param(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = re.sub(r"\\(.)", r"\1", value[1:-1])
    return value.replace("%22", '"')


def _parse_headers(block: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in block.decode("utf-8", "replace").split("\r\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers


def parse_multipart(body: bytes, boundary: str) -> tuple[list[tuple[str, str]], list[Upload]]:
    """Split a multipart/form-data body into text fields and file uploads."""
    fields: list[tuple[str, str]] = []
    uploads: list[Upload] = []
    delimiter = b"--" + boundary.encode("latin-1")
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, sep, content = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            continue
        content = content.removesuffix(b"\r\n")
        headers = _parse_headers(head)
        disposition = headers.get("content-disposition", "")
        params = {
            match.group(1).lower(): _unquote_param(match.group(2))
            for match in _DISPOSITION_PARAM.finditer(disposition)
        }
        name = params.get("name")
        if name is None:
            continue
        if "filename" in params:
            uploads.append(
                Upload(
                    field=name,
                    filename=params["filename"],
                    content_type=headers.get("content-type"),
                    data=content,
                )
            )
        else:
            fields.append((name, content.decode("utf-8", "replace")))
    return fields, uploads


def parse_body(
    content_type_header: str, body: bytes, query: Mapping[str, str]
) -> tuple[JSONDict, dict[str, Upload]]:
    """Parameters and uploads of one request, whatever its encoding."""
    params: JSONDict = decode_fields(query.items())
    uploads: dict[str, Upload] = {}
    mime = content_type_header.split(";", 1)[0].strip().lower()
    if mime == "multipart/form-data":
        match = _BOUNDARY.search(content_type_header)
        if match:
            fields, parts = parse_multipart(body, match.group(1) or match.group(2))
            params.update(decode_fields(fields))
            uploads = {part.field: part for part in parts}
    elif mime == "application/json" and body:
        loaded = json.loads(body)
        if isinstance(loaded, dict):
            params.update(loaded)
    elif body:
        pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        params.update(decode_fields(pairs))
    return params, uploads

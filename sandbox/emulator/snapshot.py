"""The emulator's state as a file, so that a sandbox keeps its chats across restarts.

What a restart must keep is what the bot refers to: the chats and their members, every message
of both sides (the bot edits its cards months later), the files, the updates not yet confirmed,
the callback queries, and the counters of update, message and file ids. The bot records
update ids and (chat, message id) pairs as already applied, so ids must never be handed out
twice: on loading, the counters move a little ahead of what the file says, in case the process
stopped after handing out ids and before saving them. Recorded calls and raw request bodies are
not kept (they are for tests).
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .models import FakeChat, FakeUser, StoredFile
from .state import FakeState

VERSION = 1
# How far the id counters move ahead on loading (see the module's docstring).
UPDATE_ID_GAP = 1000
MESSAGE_ID_GAP = 100


def _encode(value: object) -> object:
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        return {str(key): _encode(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(item) for item in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$bytes"}:
            return base64.b64decode(value["$bytes"])
        return {key: _decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item) for item in value]
    return value


def dump(fake: FakeState) -> dict[str, Any]:
    """Everything a restarted emulator needs, as JSON-ready data."""
    return {
        "version": VERSION,
        "users": [asdict(user) for user in fake.users.values()],
        "chats": [
            {**asdict(chat), "members": [[uid, status] for uid, status in chat.members.items()]}
            for chat in fake.chats.values()
        ],
        "files": [_encode(asdict(stored)) for stored in fake.files.values()],
        "commands": [[scope, lang, cmds] for (scope, lang), cmds in fake.commands.items()],
        "callback_answers": fake.callback_answers,
        "callback_queries": fake._callback_queries,
        "bot_settings": fake.bot_settings,
        "deleted_messages": [list(pair) for pair in fake.deleted_messages],
        "confirmed_offset": fake.confirmed_offset,
        "bot_messages": [_encode(msg) for msgs in fake._bot_messages.values() for msg in msgs],
        "user_messages": [
            [chat_id, message_id, _encode(msg)]
            for (chat_id, message_id), msg in fake._user_index.items()
        ],
        "deleted_user_messages": [list(pair) for pair in fake._deleted_user_messages],
        "last_message_id": [[chat, last] for chat, last in fake._last_message_id.items()],
        "updates": _encode(fake._updates),
        "last_update_id": fake._last_update_id,
        "counters": [fake._file_counter, fake._query_counter, fake._media_group_counter],
    }


def restore(fake: FakeState, data: dict[str, Any]) -> None:
    """Load `dump`'s data into a fresh emulator (before it serves anything)."""
    if data.get("version") != VERSION:
        raise ValueError(f"unknown emulator snapshot version {data.get('version')!r}")
    fake.users = {int(u["id"]): FakeUser(**u) for u in data["users"]}
    fake.chats = {}
    for raw in data["chats"]:
        members = {int(uid): str(status) for uid, status in raw.pop("members")}
        fake.chats[int(raw["id"])] = FakeChat(**raw, members=members)
    fake.files, fake._files_by_path = {}, {}
    for raw in data["files"]:
        stored = StoredFile(**_decode(raw))
        fake.files[stored.file_id] = stored
        fake._files_by_path[stored.file_path] = stored
    fake.commands = {(str(scope), str(lang)): cmds for scope, lang, cmds in data["commands"]}
    fake.callback_answers = dict(data["callback_answers"])
    fake._callback_queries = dict(data["callback_queries"])
    fake.bot_settings = dict(data["bot_settings"])
    fake.deleted_messages = [(int(c), int(m)) for c, m in data["deleted_messages"]]
    fake.confirmed_offset = int(data["confirmed_offset"])
    fake._bot_messages.clear()
    fake._bot_index.clear()
    for raw in data["bot_messages"]:
        msg = _decode(raw)
        chat_id = int(msg["chat_id"])
        fake._bot_messages[chat_id].append(msg)
        fake._bot_index[(chat_id, int(msg["message_id"]))] = msg
    fake._user_index = {
        (int(chat_id), int(message_id)): _decode(msg)
        for chat_id, message_id, msg in data["user_messages"]
    }
    fake._deleted_user_messages = {(int(c), int(m)) for c, m in data["deleted_user_messages"]}
    fake._last_message_id.clear()
    for chat_id, last in data["last_message_id"]:
        fake._last_message_id[int(chat_id)] = int(last) + MESSAGE_ID_GAP
    fake._updates = list(_decode(data["updates"]))
    fake._last_update_id = int(data["last_update_id"]) + UPDATE_ID_GAP
    files, queries, groups = (int(n) for n in data["counters"])
    fake._file_counter = files + MESSAGE_ID_GAP
    fake._query_counter = queries + MESSAGE_ID_GAP
    fake._media_group_counter = groups


def encode(fake: FakeState) -> str:
    """The snapshot as text (taken at once: call it in the emulator's event loop)."""
    return json.dumps(dump(fake), ensure_ascii=False, separators=(",", ":"))


def save(fake: FakeState, path: Path) -> None:
    """Write the snapshot atomically."""
    write(path, encode(fake))


def write(path: Path, text: str) -> None:
    """Write snapshot text atomically (a temporary file, fsynced, renamed over the old one);
    safe to run in a thread."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".emulator-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load(fake: FakeState, path: Path) -> bool:
    """Restore from `path` if it exists; True when something was loaded."""
    if not path.exists():
        return False
    restore(fake, json.loads(path.read_text(encoding="utf-8")))
    return True

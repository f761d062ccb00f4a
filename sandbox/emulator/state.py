"""Shared state of the fake: chats, messages, files, updates and change notification."""

from __future__ import annotations

import asyncio
import io
import time
from collections import defaultdict
from collections.abc import Callable

from PIL import Image

from .models import Call, FakeChat, FakeUser, JSONDict, StoredFile, bad_request

MEDIA_KEYS = (
    "photo",
    "document",
    "video",
    "audio",
    "animation",
    "voice",
    "video_note",
    "sticker",
    "location",
    "venue",
    "contact",
    "poll",
)

_FILE_FOLDERS = {
    "photo": ("photos", "jpg"),
    "document": ("documents", "bin"),
    "video": ("videos", "mp4"),
    "audio": ("music", "mp3"),
    "animation": ("animations", "mp4"),
    "voice": ("voice", "oga"),
    "video_note": ("video_notes", "mp4"),
    "sticker": ("stickers", "webp"),
    "thumbnail": ("thumbnails", "jpg"),
}


def image_size(data: bytes) -> tuple[int, int] | None:
    """Pixel size of an image, or None when Pillow cannot read it."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            return int(width), int(height)
    except Exception:
        return None


class FakeState:
    """Everything the fake remembers; mixed into :class:`FakeTelegram`."""

    def __init__(self, token: str, bot_id: int, bot_username: str) -> None:
        self.token = token
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.bot_first_name = "Tipline Test Bot"
        self.users: dict[int, FakeUser] = {}
        self.chats: dict[int, FakeChat] = {}
        self.calls: list[Call] = []
        self.files: dict[str, StoredFile] = {}
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}
        self.callback_answers: dict[str, JSONDict] = {}
        self.bot_settings: dict[str, JSONDict] = {}
        self.deleted_messages: list[tuple[int, int]] = []
        self.confirmed_offset: int = 0
        self._files_by_path: dict[str, StoredFile] = {}
        self._bot_messages: dict[int, list[JSONDict]] = defaultdict(list)
        self._bot_index: dict[tuple[int, int], JSONDict] = {}
        self._user_index: dict[tuple[int, int], JSONDict] = {}
        self._deleted_user_messages: set[tuple[int, int]] = set()
        self._last_message_id: dict[int, int] = defaultdict(int)
        self._updates: list[JSONDict] = []
        self._last_update_id = 0
        self._callback_queries: dict[str, JSONDict] = {}
        self._file_counter = 0
        self._query_counter = 0
        self._media_group_counter = 0
        self._poll_generation = 0
        self._closing = False
        self._changed = asyncio.Event()
        self._listeners: list[Callable[[], None]] = []

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` (synchronously, it must not block) after every change of state."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _touch(self) -> None:
        """Wake everyone waiting for a change of state."""
        self._changed.set()
        self._changed = asyncio.Event()
        for listener in self._listeners:
            listener()

    async def _wait_change(self, timeout: float) -> None:
        """Sleep until the next change of state or ``timeout``, whichever comes first."""
        event = self._changed
        if timeout <= 0:
            return
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass

    def bot_user(self) -> JSONDict:
        """The bot as a Bot API ``User``."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def _chat(self, chat_id: int) -> FakeChat:
        chat = self.chats.get(chat_id)
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def _next_message_id(self, chat_id: int) -> int:
        self._last_message_id[chat_id] += 1
        return self._last_message_id[chat_id]

    def _store_file(
        self,
        data: bytes,
        kind: str,
        *,
        mime_type: str | None = None,
        file_name: str | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> StoredFile:
        self._file_counter += 1
        n = self._file_counter
        folder, ext = _FILE_FOLDERS.get(kind, ("documents", "bin"))
        if file_name and "." in file_name:
            ext = file_name.rsplit(".", 1)[1]
        stored = StoredFile(
            file_id=f"FAKE-{kind.upper()}-{n:06d}",
            file_unique_id=f"U{n:06d}",
            file_path=f"{folder}/file_{n}.{ext}",
            data=data,
            mime_type=mime_type,
            file_name=file_name,
            width=width,
            height=height,
        )
        self.files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _photo_sizes(self, full: StoredFile) -> list[JSONDict]:
        """Two PhotoSize entries (thumbnail then full size) for one stored photo."""
        width, height = full.width or 800, full.height or 600
        if full.thumb_id is None:
            scale = min(1.0, 320 / max(width, height))
            thumb = self._store_file(
                full.data,
                "photo",
                mime_type=full.mime_type,
                width=max(1, round(width * scale)),
                height=max(1, round(height * scale)),
            )
            full.thumb_id = thumb.file_id
        thumb = self.files[full.thumb_id]
        return [
            {
                "file_id": f.file_id,
                "file_unique_id": f.file_unique_id,
                "width": f.width or width,
                "height": f.height or height,
                "file_size": len(f.data),
            }
            for f in (thumb, full)
        ]

    @staticmethod
    def _file_dict(stored: StoredFile, **extra: object) -> JSONDict:
        """A Bot API file object (Document, Video, ...) for a stored file plus ``extra``."""
        data: JSONDict = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
        }
        data.update({key: value for key, value in extra.items() if value is not None})
        return data

    def _store_photo(self, data: bytes) -> list[JSONDict]:
        width, height = image_size(data) or (800, 600)
        full = self._store_file(data, "photo", mime_type="image/jpeg", width=width, height=height)
        return self._photo_sizes(full)

    @property
    def last_update_id(self) -> int:
        """The id of the newest update queued (to queue one again under its own id)."""
        return self._last_update_id

    def _push_update(self, update: JSONDict) -> JSONDict:
        if "update_id" not in update:
            update["update_id"] = self._last_update_id + 1
        update_id = int(update["update_id"])
        self._updates.append(update)
        if update_id < self._last_update_id:
            self._updates.sort(key=lambda u: int(u["update_id"]))
        self._last_update_id = max(self._last_update_id, update_id)
        self._touch()
        return update

    def _find_message(
        self, chat_id: int, message_id: int, *, with_reply: bool = True
    ) -> JSONDict | None:
        """API view of a live (not deleted) message of either side."""
        key = (chat_id, message_id)
        bot_msg = self._bot_index.get(key)
        if bot_msg is not None:
            if bot_msg.get("_deleted"):
                return None
            return self.render(bot_msg, with_reply=with_reply)
        if key in self._deleted_user_messages:
            return None
        return self._user_index.get(key)

    def render(self, msg: JSONDict, *, with_reply: bool = True) -> JSONDict:
        """The Bot API ``Message`` for a stored bot message (current state)."""
        chat_id = int(msg["chat_id"])
        api: JSONDict = {
            "message_id": msg["message_id"],
            "from": self.bot_user(),
            "chat": self.chats[chat_id].to_dict() if chat_id in self.chats else {"id": chat_id},
            "date": msg["date"],
        }
        if "text" in msg:
            api["text"] = msg["_plain"]
            if msg.get("_entities"):
                api["entities"] = msg["_entities"]
        if "caption" in msg:
            api["caption"] = msg["_plain_caption"]
            if msg.get("_caption_entities"):
                api["caption_entities"] = msg["_caption_entities"]
        api.update(msg.get("_media", {}))
        markup = msg.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            api["reply_markup"] = markup
        if msg.get("protect_content"):
            api["has_protected_content"] = True
        for key in ("link_preview_options", "show_caption_above_media"):
            if key in msg:
                api[key] = msg[key]
        if msg.get("has_spoiler"):
            api["has_media_spoiler"] = True
        if "_edit_date" in msg:
            api["edit_date"] = msg["_edit_date"]
        if "_media_group_id" in msg:
            api["media_group_id"] = msg["_media_group_id"]
        if "_forward_origin" in msg:
            api["forward_origin"] = msg["_forward_origin"]
        reply_to = msg.get("_reply_to")
        if with_reply and reply_to is not None:
            replied = self._find_message(chat_id, int(reply_to), with_reply=False)
            if replied is not None:
                replied = dict(replied)
                replied.pop("reply_to_message", None)
                api["reply_to_message"] = replied
        return api

    @staticmethod
    def _now() -> int:
        return int(time.time())

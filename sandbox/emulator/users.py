"""The user side of the fake: registering users and groups, injecting updates."""

from __future__ import annotations

from .markup import utf16_len
from .models import MEMBER_STATUSES, FakeChat, FakeUser, JSONDict
from .state import FakeState

UserRef = FakeUser | int

_MESSAGE_UPDATE_KEYS = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_message",
)


class UserSide(FakeState):
    """Methods tests use to play users."""

    def add_user(
        self,
        user_id: int,
        first_name: str = "Test User",
        username: str | None = None,
        language_code: str | None = "en",
        *,
        last_name: str | None = None,
    ) -> FakeUser:
        """Register a user together with its private chat (same id)."""
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user = FakeUser(user_id, first_name, username, language_code, last_name)
        self.users[user_id] = user
        self.chats[user_id] = FakeChat(
            id=user_id,
            type="private",
            username=username,
            first_name=first_name,
            last_name=last_name,
            members={user_id: "member", self.bot_id: "member"},
        )
        return user

    def add_group(
        self,
        chat_id: int,
        title: str,
        members: dict[int, str] | None = None,
        *,
        supergroup: bool | None = None,
        username: str | None = None,
    ) -> FakeChat:
        """Register a group; the bot is a plain member unless ``members`` says otherwise.

        Ids starting with -100 are supergroups unless ``supergroup`` is given.
        """
        if chat_id >= 0:
            raise ValueError("group ids are negative")
        members = dict(members or {})
        for status in members.values():
            _check_status(status)
        members.setdefault(self.bot_id, "member")
        if supergroup is None:
            supergroup = str(chat_id).startswith("-100")
        chat = FakeChat(
            id=chat_id,
            type="supergroup" if supergroup else "group",
            title=title,
            username=username,
            members=members,
        )
        self.chats[chat_id] = chat
        return chat

    def set_member(self, chat_id: int, user_id: int, status: str) -> None:
        """Change a member's status in a known group."""
        _check_status(status)
        if chat_id not in self.chats:
            raise KeyError(f"unknown chat {chat_id}")
        self.chats[chat_id].members[user_id] = status

    def block_bot(self, user: UserRef, blocked: bool = True) -> None:
        """Make sends to the user's private chat fail with 403 (or undo that)."""
        self._user(user).blocked_bot = blocked

    def inject_update(self, update: JSONDict) -> JSONDict:
        """Queue a raw update; ``update_id`` is assigned when missing.

        Messages inside it are remembered (so the bot can reply to, copy or delete them) and
        unknown chats are registered from the message's ``chat``.
        """
        for key in _MESSAGE_UPDATE_KEYS:
            message = update.get(key)
            if isinstance(message, dict) and "chat" in message and "message_id" in message:
                self._register_message(message)
        return self._push_update(update)

    def _register_message(self, message: JSONDict) -> None:
        chat_data = message["chat"]
        chat_id = int(chat_data["id"])
        if chat_id not in self.chats:
            private = chat_data.get("type") == "private"
            self.chats[chat_id] = FakeChat(
                id=chat_id,
                type=str(chat_data.get("type", "private" if chat_id > 0 else "supergroup")),
                title=chat_data.get("title"),
                username=chat_data.get("username"),
                first_name=chat_data.get("first_name"),
                last_name=chat_data.get("last_name"),
                members={} if private else {self.bot_id: "member"},
            )
        message_id = int(message["message_id"])
        self._last_message_id[chat_id] = max(self._last_message_id[chat_id], message_id)
        if (chat_id, message_id) not in self._bot_index:
            self._user_index[(chat_id, message_id)] = message

    def user_sends_text(
        self,
        user: UserRef,
        text: str,
        *,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> JSONDict:
        """The user sends a text message; a leading /command gets a bot_command entity."""
        content: JSONDict = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
            ]
        return self._user_message(user, content, chat_id, reply_to_message_id)

    def user_sends_photo(
        self,
        user: UserRef,
        jpeg_bytes: bytes,
        caption: str | None = None,
        *,
        chat_id: int | None = None,
    ) -> JSONDict:
        """The user sends a photo (stored as two PhotoSize entries)."""
        content: JSONDict = {"photo": self._store_photo(jpeg_bytes)}
        return self._user_message(user, _with_caption(content, caption), chat_id)

    def user_sends_document(
        self,
        user: UserRef,
        data: bytes,
        file_name: str,
        mime_type: str,
        caption: str | None = None,
        *,
        chat_id: int | None = None,
    ) -> JSONDict:
        """The user sends a file as a document."""
        stored = self._store_file(data, "document", mime_type=mime_type, file_name=file_name)
        content = {"document": self._file_dict(stored, file_name=file_name, mime_type=mime_type)}
        return self._user_message(user, _with_caption(content, caption), chat_id)

    def user_sends_video(
        self,
        user: UserRef,
        data: bytes,
        mime_type: str = "video/mp4",
        caption: str | None = None,
        *,
        duration: int = 3,
        width: int = 640,
        height: int = 480,
        chat_id: int | None = None,
    ) -> JSONDict:
        """The user sends a video."""
        stored = self._store_file(data, "video", mime_type=mime_type)
        video = self._file_dict(
            stored, mime_type=mime_type, duration=duration, width=width, height=height
        )
        return self._user_message(user, _with_caption({"video": video}, caption), chat_id)

    def user_sends_voice(
        self, user: UserRef, data: bytes, *, duration: int = 2, chat_id: int | None = None
    ) -> JSONDict:
        """The user sends a voice note."""
        stored = self._store_file(data, "voice", mime_type="audio/ogg")
        voice = self._file_dict(stored, mime_type="audio/ogg", duration=duration)
        return self._user_message(user, {"voice": voice}, chat_id)

    def user_sends_video_note(
        self,
        user: UserRef,
        data: bytes,
        *,
        duration: int = 2,
        length: int = 240,
        chat_id: int | None = None,
    ) -> JSONDict:
        """The user sends a round video note."""
        stored = self._store_file(data, "video_note", mime_type="video/mp4")
        note = self._file_dict(stored, duration=duration, length=length)
        return self._user_message(user, {"video_note": note}, chat_id)

    def user_sends_audio(
        self,
        user: UserRef,
        data: bytes,
        mime_type: str = "audio/mpeg",
        file_name: str | None = "audio.mp3",
        caption: str | None = None,
        *,
        duration: int = 5,
        chat_id: int | None = None,
    ) -> JSONDict:
        """The user sends an audio file."""
        stored = self._store_file(data, "audio", mime_type=mime_type, file_name=file_name)
        audio = self._file_dict(stored, mime_type=mime_type, file_name=file_name, duration=duration)
        return self._user_message(user, _with_caption({"audio": audio}, caption), chat_id)

    def user_sends_animation(
        self,
        user: UserRef,
        data: bytes,
        caption: str | None = None,
        *,
        chat_id: int | None = None,
    ) -> JSONDict:
        """The user sends a GIF; like Telegram, both ``animation`` and ``document`` are set."""
        stored = self._store_file(
            data, "animation", mime_type="video/mp4", file_name="animation.mp4"
        )
        document = self._file_dict(stored, mime_type="video/mp4", file_name="animation.mp4")
        animation = {**document, "width": 320, "height": 240, "duration": 2}
        content = {"animation": animation, "document": document}
        return self._user_message(user, _with_caption(content, caption), chat_id)

    def user_sends_location(
        self,
        user: UserRef,
        lat: float,
        lon: float,
        live_period: int | None = None,
        *,
        chat_id: int | None = None,
    ) -> JSONDict:
        """The user shares a (possibly live) location."""
        location: JSONDict = {"latitude": lat, "longitude": lon}
        if live_period is not None:
            location["live_period"] = live_period
        return self._user_message(user, {"location": location}, chat_id)

    def user_sends_contact(
        self,
        user: UserRef,
        phone_number: str,
        first_name: str,
        *,
        contact_user_id: int | None = None,
        chat_id: int | None = None,
    ) -> JSONDict:
        """The user shares a contact card."""
        contact: JSONDict = {"phone_number": phone_number, "first_name": first_name}
        if contact_user_id is not None:
            contact["user_id"] = contact_user_id
        return self._user_message(user, {"contact": contact}, chat_id)

    def user_sends_sticker(
        self, user: UserRef, *, emoji: str = "\N{THUMBS UP SIGN}", chat_id: int | None = None
    ) -> JSONDict:
        """The user sends a static sticker."""
        stored = self._store_file(
            b"RIFF\x00\x00\x00\x00WEBPVP8 ", "sticker", mime_type="image/webp"
        )
        sticker = self._file_dict(
            stored,
            width=512,
            height=512,
            is_animated=False,
            is_video=False,
            type="regular",
            emoji=emoji,
        )
        return self._user_message(user, {"sticker": sticker}, chat_id)

    def user_sends_poll(
        self,
        user: UserRef,
        question: str,
        options: list[str],
        *,
        chat_id: int | None = None,
    ) -> JSONDict:
        """The user sends a regular anonymous poll."""
        self._query_counter += 1
        poll = {
            "id": f"{5000000000000000000 + self._query_counter}",
            "question": question,
            "options": [
                {"text": option, "voter_count": 0, "persistent_id": str(index)}
                for index, option in enumerate(options)
            ],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
            "allows_revoting": False,
            "members_only": False,
        }
        return self._user_message(user, {"poll": poll}, chat_id)

    def user_presses(self, user: UserRef, message: JSONDict, callback_data: str) -> JSONDict:
        """The user presses an inline button on a bot message; returns the callback_query."""
        chat_id = int(message["chat_id"] if "chat_id" in message else message["chat"]["id"])
        stored = self._bot_index.get((chat_id, int(message["message_id"])))
        if stored is None:
            raise ValueError(f"message {message['message_id']} in {chat_id} was not sent by bot")
        if stored.get("_deleted"):
            raise ValueError(f"message {message['message_id']} in {chat_id} was deleted")
        self._query_counter += 1
        query: JSONDict = {
            "id": str(4000000000000000000 + self._query_counter),
            "from": self._user(user).to_dict(),
            "chat_instance": str(-7000000000000000000 + abs(chat_id)),
            "data": callback_data,
            "message": self.render(stored),
        }
        self._callback_queries[query["id"]] = query
        self._push_update({"callback_query": query})
        return query

    def _user(self, user: UserRef) -> FakeUser:
        if isinstance(user, FakeUser):
            return user
        try:
            return self.users[user]
        except KeyError:
            raise KeyError(f"unknown user {user}; call add_user first") from None

    def _user_message(
        self,
        user: UserRef,
        content: JSONDict,
        chat_id: int | None,
        reply_to_message_id: int | None = None,
    ) -> JSONDict:
        sender = self._user(user)
        target = sender.id if chat_id is None else chat_id
        chat = self.chats.get(target)
        if chat is None:
            raise KeyError(f"unknown chat {target}; call add_group first")
        message: JSONDict = {
            "message_id": self._next_message_id(target),
            "from": sender.to_dict(),
            "chat": chat.to_dict(),
            "date": self._now(),
            **content,
        }
        if reply_to_message_id is not None:
            replied = self._find_message(target, reply_to_message_id)
            if replied is None:
                raise KeyError(f"no message {reply_to_message_id} in chat {target}")
            replied = dict(replied)
            replied.pop("reply_to_message", None)
            message["reply_to_message"] = replied
        self._user_index[(target, message["message_id"])] = message
        self._push_update({"message": message})
        return message


def _with_caption(content: JSONDict, caption: str | None) -> JSONDict:
    if caption is not None:
        content["caption"] = caption
    return content


def _check_status(status: str) -> None:
    if status not in MEMBER_STATUSES:
        raise ValueError(f"unknown member status {status!r}; use one of {sorted(MEMBER_STATUSES)}")

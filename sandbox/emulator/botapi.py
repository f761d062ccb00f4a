"""The bot side of the fake: Bot API method implementations."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from .markup import MAX_CAPTION, MAX_TEXT, format_text, utf16_len
from .models import (
    ApiError,
    FakeChat,
    JSONDict,
    StoredFile,
    Upload,
    bad_request,
    forbidden,
)
from .state import MEDIA_KEYS, FakeState, image_size

Handler = Callable[[JSONDict, dict[str, Upload]], Awaitable[Any]]

MAX_DOWNLOAD = 20 * 1024 * 1024
MAX_COPY_TEXT = 256
_FILE_FIELDS = frozenset(
    {"photo", "document", "video", "audio", "animation", "voice", "video_note", "sticker"}
)
_NOT_STORED = frozenset({"chat_id", "thumbnail", *_FILE_FIELDS})
_BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "callback_game",
    "pay",
    "web_app",
    "copy_text",
)
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
_ADMIN_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_pin_messages",
)
_RESTRICTED_RIGHTS = (
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_send_messages",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
    "can_manage_topics",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_edit_tag",
    "can_react_to_messages",
)


def _inline_markup(markup: object) -> object:
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        return markup
    return None


def _int_param(p: JSONDict, key: str) -> int:
    value = p.get(key)
    if value is None or value == "":
        raise bad_request(f"{key} is empty")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"invalid {key} specified") from None


def _set_or_pop(target: JSONDict, key: str, source: JSONDict) -> None:
    if key in source:
        target[key] = source[key]
    else:
        target.pop(key, None)


def _check_copy_text(copy: object) -> None:
    """A CopyTextButton as Telegram checks it: an object whose `text` is a string of 1-256
    characters (counted in UTF-16 code units, which is never fewer than Telegram counts;
    blank text is refused too)."""
    if not isinstance(copy, dict):
        raise bad_request(
            'can\'t parse inline keyboard button: Field "copy_text" must be of type Object'
        )
    if "text" not in copy:
        raise bad_request("can't parse inline keyboard button: Can't find field \"text\"")
    text = copy["text"]
    if not isinstance(text, str):
        raise bad_request(
            'can\'t parse inline keyboard button: Field "text" must be of type String'
        )
    if not text.strip() or utf16_len(text) > MAX_COPY_TEXT:
        raise bad_request("BUTTON_COPY_TEXT_INVALID")


class BotApi(FakeState):
    """Bot API methods; each takes (params, uploads) and returns the ``result``."""

    def _method_table(self) -> dict[str, Handler]:
        table: dict[str, Handler] = {
            "getMe": self._get_me,
            "logOut": self._ok,
            "close": self._ok,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._ok,
            "getWebhookInfo": self._get_webhook_info,
            "getUpdates": self._get_updates,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "sendLocation": self._send_location,
            "sendVenue": self._send_venue,
            "sendContact": self._send_contact,
            "sendMediaGroup": self._send_media_group,
            "copyMessage": self._copy_message,
            "forwardMessage": self._forward_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "answerCallbackQuery": self._answer_callback_query,
            "getFile": self._get_file,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getChatAdministrators": self._get_chat_administrators,
            "getChatMemberCount": self._get_chat_member_count,
            "sendChatAction": self._send_chat_action,
            "pinChatMessage": self._chat_ok,
            "unpinChatMessage": self._chat_ok,
            "unpinAllChatMessages": self._chat_ok,
            "banChatMember": self._ban_chat_member,
            "unbanChatMember": self._unban_chat_member,
            "leaveChat": self._leave_chat,
        }
        for method, field in (
            ("sendPhoto", "photo"),
            ("sendDocument", "document"),
            ("sendVideo", "video"),
            ("sendAudio", "audio"),
            ("sendAnimation", "animation"),
            ("sendVoice", "voice"),
            ("sendVideoNote", "video_note"),
            ("sendSticker", "sticker"),
        ):
            table[method] = self._media_sender(method, field)
        for method in (
            "setChatMenuButton",
            "setMyDescription",
            "setMyShortDescription",
            "setMyName",
            "setMyDefaultAdministratorRights",
        ):
            table[method] = self._setting(method)
        return {name.lower(): handler for name, handler in table.items()}

    # --- misc -----------------------------------------------------------------------------

    async def _ok(self, p: JSONDict, files: dict[str, Upload]) -> bool:
        return True

    def _setting(self, method: str) -> Handler:
        async def store(p: JSONDict, files: dict[str, Upload]) -> bool:
            self.bot_settings[method] = p
            return True

        return store

    async def _get_me(self, p: JSONDict, files: dict[str, Upload]) -> JSONDict:
        return {
            **self.bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _delete_webhook(self, p: JSONDict, files: dict[str, Upload]) -> bool:
        if p.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, p: JSONDict, files: dict[str, Upload]) -> JSONDict:
        return {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    # --- updates ----------------------------------------------------------------------------

    def _confirm(self, offset: int) -> None:
        if offset < 0:
            del self._updates[: max(0, len(self._updates) + offset)]
            return
        self._updates = [u for u in self._updates if int(u["update_id"]) >= offset]
        self.confirmed_offset = max(self.confirmed_offset, offset)

    async def _get_updates(self, p: JSONDict, files: dict[str, Upload]) -> list[JSONDict]:
        offset = int(p.get("offset") or 0)
        limit = min(max(int(p.get("limit") or 100), 1), 100)
        timeout = max(float(p.get("timeout") or 0), 0.0)
        if offset:
            self._confirm(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        self._touch()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self._closing:
                return []
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            if self._updates:
                return self._updates[:limit]
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            await self._wait_change(remaining)

    # --- commands ---------------------------------------------------------------------------

    @staticmethod
    def _commands_key(scope: object, language_code: object) -> tuple[str, str]:
        return json.dumps(scope or {"type": "default"}, sort_keys=True), str(language_code or "")

    def my_commands(self, scope: JSONDict | None = None, language_code: str = "") -> list[JSONDict]:
        """The commands set for exactly this scope and language."""
        return self.commands.get(self._commands_key(scope, language_code), [])

    async def _set_my_commands(self, p: JSONDict, files: dict[str, Upload]) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            name = str(command.get("command", "")) if isinstance(command, dict) else ""
            description = str(command.get("description", "")) if isinstance(command, dict) else ""
            valid_name = 1 <= len(name) <= 32 and all(
                c.isascii() and (c.islower() or c.isdigit() or c == "_") for c in name
            )
            if not valid_name or not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_INVALID")
        self.commands[self._commands_key(p.get("scope"), p.get("language_code"))] = commands
        return True

    async def _get_my_commands(self, p: JSONDict, files: dict[str, Upload]) -> list[JSONDict]:
        return self.my_commands(p.get("scope"), str(p.get("language_code") or ""))

    async def _delete_my_commands(self, p: JSONDict, files: dict[str, Upload]) -> bool:
        self.commands.pop(self._commands_key(p.get("scope"), p.get("language_code")), None)
        return True

    # --- chats ------------------------------------------------------------------------------

    def _target_chat(self, p: JSONDict, key: str = "chat_id") -> FakeChat:
        value = p.get(key)
        if value is None or value == "":
            raise bad_request(f"{key} is empty")
        if isinstance(value, str) and value.startswith("@"):
            name = value[1:].lower()
            for chat in self.chats.values():
                if chat.username and chat.username.lower() == name:
                    return chat
            raise bad_request("chat not found")
        try:
            return self._chat(int(value))
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None

    def _check_can_send(self, chat: FakeChat) -> None:
        if chat.type == "private":
            user = self.users.get(chat.id)
            if user is not None and user.blocked_bot:
                raise forbidden("bot was blocked by the user")
            return
        status = chat.members.get(self.bot_id, "left")
        if status == "kicked":
            raise forbidden(f"bot was kicked from the {chat.type} chat")
        if status == "left":
            raise forbidden(f"bot is not a member of the {chat.type} chat")

    def _user_object(self, user_id: int) -> JSONDict:
        if user_id == self.bot_id:
            return self.bot_user()
        user = self.users.get(user_id)
        if user is not None:
            return user.to_dict()
        return {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}

    def _member(self, user_id: int, status: str) -> JSONDict:
        member: JSONDict = {"status": status, "user": self._user_object(user_id)}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(
                {"can_be_edited": False, "is_anonymous": False, "can_promote_members": False}
            )
            member.update(dict.fromkeys(_ADMIN_RIGHTS, True))
        elif status == "restricted":
            member.update({"is_member": True, "until_date": 0})
            member.update(dict.fromkeys(_RESTRICTED_RIGHTS, False))
        elif status == "kicked":
            member["until_date"] = 0
        return member

    async def _get_chat(self, p: JSONDict, files: dict[str, Upload]) -> JSONDict:
        chat = self._target_chat(p)
        return {
            **chat.to_dict(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def _get_chat_member(self, p: JSONDict, files: dict[str, Upload]) -> JSONDict:
        chat = self._target_chat(p)
        user_id = _int_param(p, "user_id")
        return self._member(user_id, chat.members.get(user_id, "left"))

    async def _get_chat_administrators(
        self, p: JSONDict, files: dict[str, Upload]
    ) -> list[JSONDict]:
        chat = self._target_chat(p)
        return [
            self._member(user_id, status)
            for user_id, status in chat.members.items()
            if status in ("creator", "administrator")
        ]

    async def _get_chat_member_count(self, p: JSONDict, files: dict[str, Upload]) -> int:
        chat = self._target_chat(p)
        present = ("creator", "administrator", "member", "restricted")
        return sum(1 for status in chat.members.values() if status in present)

    async def _send_chat_action(self, p: JSONDict, files: dict[str, Upload]) -> bool:
        self._check_can_send(self._target_chat(p))
        return True

    async def _chat_ok(self, p: JSONDict, files: dict[str, Upload]) -> bool:
        self._target_chat(p)
        return True

    async def _ban_chat_member(self, p: JSONDict, files: dict[str, Upload]) -> bool:
        chat = self._target_chat(p)
        chat.members[_int_param(p, "user_id")] = "kicked"
        return True

    async def _unban_chat_member(self, p: JSONDict, files: dict[str, Upload]) -> bool:
        chat = self._target_chat(p)
        user_id = _int_param(p, "user_id")
        if chat.members.get(user_id) == "kicked":
            chat.members[user_id] = "left"
        return True

    async def _leave_chat(self, p: JSONDict, files: dict[str, Upload]) -> bool:
        self._target_chat(p).members[self.bot_id] = "left"
        return True

    # --- building messages --------------------------------------------------------------------

    @staticmethod
    def _validate_markup(markup: object) -> None:
        if not isinstance(markup, dict) or "inline_keyboard" not in markup:
            return
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request("can't parse inline keyboard button: InlineKeyboardButton expected")
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not str(button.get("text", "")).strip():
                    raise bad_request("BUTTON_TEXT_INVALID")
                actions = [action for action in _BUTTON_ACTIONS if action in button]
                if not actions:
                    raise bad_request("text buttons are unallowed in the inline keyboard")
                if len(actions) > 1:
                    # Stricter than Telegram, which silently keeps the first field in its own
                    # order: the Bot API says exactly one must be used, and a button with two
                    # does something its bot may not mean.
                    raise bad_request(
                        "can't parse inline keyboard button: exactly one of the optional fields"
                        f" must be used, found {', '.join(actions)}"
                    )
                if "callback_data" in button:
                    size = len(str(button["callback_data"]).encode("utf-8"))
                    if not 1 <= size <= 64:
                        raise bad_request("BUTTON_DATA_INVALID")
                if "copy_text" in button:
                    _check_copy_text(button["copy_text"])

    def _reply_target(self, chat_id: int, p: JSONDict) -> tuple[int, int] | None:
        """(chat_id, message_id) the new message replies to; 400 if it does not exist."""
        params = p.get("reply_parameters")
        if isinstance(params, dict):
            message_id = params.get("message_id")
            allow = bool(params.get("allow_sending_without_reply"))
            if isinstance(params.get("chat_id"), int):
                chat_id = params["chat_id"]
        else:
            message_id = p.get("reply_to_message_id")
            allow = bool(p.get("allow_sending_without_reply"))
        if message_id is None:
            return None
        if self._find_message(chat_id, int(message_id)) is None:
            if allow:
                return None
            raise bad_request("message to be replied not found")
        return chat_id, int(message_id)

    def _new_message(self, method: str, chat: FakeChat, p: JSONDict) -> JSONDict:
        self._check_can_send(chat)
        self._validate_markup(p.get("reply_markup"))
        msg: JSONDict = {
            "chat_id": chat.id,
            "message_id": 0,
            "date": self._now(),
            "method": method,
        }
        msg.update({key: value for key, value in p.items() if key not in _NOT_STORED})
        msg["_edits"] = []
        msg["_plain"] = ""
        reply_to = self._reply_target(chat.id, p)
        if reply_to is not None and reply_to[0] == chat.id:
            msg["_reply_to"] = reply_to[1]
        return msg

    def _commit(self, msg: JSONDict) -> JSONDict:
        chat_id = int(msg["chat_id"])
        msg["message_id"] = self._next_message_id(chat_id)
        self._bot_messages[chat_id].append(msg)
        self._bot_index[(chat_id, msg["message_id"])] = msg
        self._touch()
        return self.render(msg)

    @staticmethod
    def _formatted(
        value: object, parse_mode: object, entities: object, *, limit: int, what: str
    ) -> tuple[str, list[JSONDict]]:
        plain, found = format_text(
            str(value),
            parse_mode if isinstance(parse_mode, str) else None,
            entities if isinstance(entities, list) else None,
        )
        if len(plain) > limit:
            raise bad_request(f"message {what} is too long" if what else "message is too long")
        return plain, found

    def _apply_text(self, msg: JSONDict, p: JSONDict) -> None:
        text = p.get("text")
        if text is None or not str(text).strip():
            raise bad_request("message text is empty")
        plain, entities = self._formatted(
            text, p.get("parse_mode"), p.get("entities"), limit=MAX_TEXT, what=""
        )
        if not plain.strip():
            raise bad_request("message text is empty")
        msg["_plain"], msg["_entities"] = plain, entities

    def _apply_caption(self, msg: JSONDict, p: JSONDict) -> None:
        caption = p.get("caption")
        for key in ("caption", "_plain_caption", "_caption_entities"):
            msg.pop(key, None)
        if "text" not in msg:
            msg["_plain"] = ""
        if caption is None:
            return
        plain, entities = self._formatted(
            caption,
            p.get("parse_mode"),
            p.get("caption_entities"),
            limit=MAX_CAPTION,
            what="caption",
        )
        msg["caption"] = caption
        msg["_plain_caption"], msg["_caption_entities"] = plain, entities
        if "text" not in msg:
            msg["_plain"] = plain

    # --- files ------------------------------------------------------------------------------

    def _resolve_file(
        self, field: str, value: object, upload: Upload | None, files: dict[str, Upload]
    ) -> tuple[StoredFile, Upload | None]:
        if upload is None and isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value.removeprefix("attach://"))
            if upload is None:
                raise bad_request("wrong file identifier/HTTP URL specified")
        if upload is not None:
            size = image_size(upload.data) if field == "photo" else None
            if field == "photo" and size is None:
                raise bad_request("IMAGE_PROCESS_FAILED")
            width, height = size or (None, None)
            stored = self._store_file(
                upload.data,
                field,
                mime_type=upload.content_type,
                file_name=upload.filename,
                width=width,
                height=height,
            )
            return stored, upload
        if isinstance(value, str) and value:
            if value in self.files:
                return self.files[value], None
            if value.startswith(("http://", "https://")):
                return self._store_file(b"", field, file_name=value.rsplit("/", 1)[-1]), None
            raise bad_request("wrong file identifier/HTTP URL specified")
        raise bad_request(f"there is no {field} in the request")

    def _media_object(self, field: str, stored: StoredFile, p: JSONDict) -> Any:
        duration = p.get("duration") or 1
        if field == "photo":
            return self._photo_sizes(stored)
        if field == "document":
            return self._file_dict(stored, file_name=stored.file_name, mime_type=stored.mime_type)
        if field in ("video", "animation"):
            return self._file_dict(
                stored,
                width=p.get("width") or stored.width or 640,
                height=p.get("height") or stored.height or 480,
                duration=duration,
                file_name=stored.file_name,
                mime_type=stored.mime_type,
            )
        if field == "audio":
            return self._file_dict(
                stored,
                duration=duration,
                performer=p.get("performer"),
                title=p.get("title"),
                file_name=stored.file_name,
                mime_type=stored.mime_type,
            )
        if field == "voice":
            return self._file_dict(stored, duration=duration, mime_type=stored.mime_type)
        if field == "video_note":
            return self._file_dict(stored, duration=duration, length=p.get("length") or 240)
        return self._file_dict(
            stored,
            width=512,
            height=512,
            is_animated=False,
            is_video=False,
            type="regular",
            emoji=p.get("emoji"),
        )

    def _attach_file(
        self,
        msg: JSONDict,
        field: str,
        value: object,
        upload: Upload | None,
        files: dict[str, Upload],
        p: JSONDict,
    ) -> None:
        stored, used = self._resolve_file(field, value, upload, files)
        media = self._media_object(field, stored, p)
        msg["_media"] = {field: media}
        if field == "animation":
            msg["_media"]["document"] = self._file_dict(
                stored, file_name=stored.file_name, mime_type=stored.mime_type
            )
        msg["file_id"] = media[-1]["file_id"] if isinstance(media, list) else media["file_id"]
        if used is not None:
            msg["_upload"] = {**used.as_dict(), "field": field, "part": used.field}

    # --- sending ------------------------------------------------------------------------------

    async def _send_message(self, p: JSONDict, files: dict[str, Upload]) -> JSONDict:
        msg = self._new_message("sendMessage", self._target_chat(p), p)
        self._apply_text(msg, p)
        return self._commit(msg)

    def _media_sender(self, method: str, field: str) -> Handler:
        async def send(p: JSONDict, files: dict[str, Upload]) -> JSONDict:
            msg = self._new_message(method, self._target_chat(p), p)
            self._apply_caption(msg, p)
            self._attach_file(msg, field, p.get(field), files.get(field), files, p)
            return self._commit(msg)

        return send

    @staticmethod
    def _location(p: JSONDict) -> JSONDict:
        try:
            location: JSONDict = {
                "latitude": float(p["latitude"]),
                "longitude": float(p["longitude"]),
            }
        except (KeyError, TypeError, ValueError):
            raise bad_request("latitude and longitude are required") from None
        for key in ("horizontal_accuracy", "live_period", "heading", "proximity_alert_radius"):
            if p.get(key) is not None:
                location[key] = p[key]
        return location

    async def _send_location(self, p: JSONDict, files: dict[str, Upload]) -> JSONDict:
        msg = self._new_message("sendLocation", self._target_chat(p), p)
        location = self._location(p)
        msg["location"] = location
        msg["_media"] = {"location": location}
        return self._commit(msg)

    async def _send_venue(self, p: JSONDict, files: dict[str, Upload]) -> JSONDict:
        msg = self._new_message("sendVenue", self._target_chat(p), p)
        location = self._location(p)
        if not p.get("title") or not p.get("address"):
            raise bad_request("venue title and address are required")
        venue: JSONDict = {"location": location, "title": p["title"], "address": p["address"]}
        for key in ("foursquare_id", "foursquare_type", "google_place_id", "google_place_type"):
            if p.get(key) is not None:
                venue[key] = p[key]
        msg["location"], msg["venue"] = location, venue
        msg["_media"] = {"venue": venue, "location": location}
        return self._commit(msg)

    async def _send_contact(self, p: JSONDict, files: dict[str, Upload]) -> JSONDict:
        msg = self._new_message("sendContact", self._target_chat(p), p)
        if not p.get("phone_number") or not p.get("first_name"):
            raise bad_request("phone_number and first_name are required")
        contact = {
            key: p[key]
            for key in ("phone_number", "first_name", "last_name", "vcard")
            if p.get(key) is not None
        }
        msg["contact"] = contact
        msg["_media"] = {"contact": contact}
        return self._commit(msg)

    async def _send_media_group(self, p: JSONDict, files: dict[str, Upload]) -> list[JSONDict]:
        chat = self._target_chat(p)
        media = p.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise bad_request("media group must contain 2-10 items")
        base = self._new_message(
            "sendMediaGroup", chat, {k: v for k, v in p.items() if k != "media"}
        )
        self._media_group_counter += 1
        group_id = str(13000000000000000 + self._media_group_counter)
        built: list[JSONDict] = []
        for item in media:
            kind = item.get("type") if isinstance(item, dict) else None
            if kind not in ("photo", "video", "document", "audio"):
                raise bad_request("can't parse InputMedia: unsupported media type")
            msg = {**base, "_edits": [], "_input_media": item, "_media_group_id": group_id}
            self._apply_caption(msg, item)
            built.append(msg)
        for msg in built:
            item = msg["_input_media"]
            self._attach_file(msg, item["type"], item.get("media"), None, files, item)
        return [self._commit(msg) for msg in built]

    def _source_message(self, p: JSONDict, what: str) -> tuple[int, JSONDict]:
        source_chat = self._target_chat(p, "from_chat_id")
        message_id = _int_param(p, "message_id")
        source = self._find_message(source_chat.id, message_id)
        if source is None:
            raise bad_request(f"message to {what} not found")
        return source_chat.id, source

    def _copy_content(
        self, msg: JSONDict, source: JSONDict, p: JSONDict, *, recaption: bool
    ) -> None:
        if "text" in source:
            msg["text"] = msg["_plain"] = source["text"]
            msg["_entities"] = list(source.get("entities", []))
        msg["_media"] = {key: source[key] for key in MEDIA_KEYS if key in source}
        if recaption and "caption" in p:
            self._apply_caption(msg, p)
        elif "caption" in source:
            msg["caption"] = msg["_plain_caption"] = source["caption"]
            msg["_caption_entities"] = list(source.get("caption_entities", []))
            if "text" not in msg:
                msg["_plain"] = source["caption"]
        for media in msg["_media"].values():
            if isinstance(media, list) and media and "file_id" in media[-1]:
                msg["file_id"] = media[-1]["file_id"]
            elif isinstance(media, dict) and "file_id" in media:
                msg["file_id"] = media["file_id"]

    async def _copy_message(self, p: JSONDict, files: dict[str, Upload]) -> JSONDict:
        source_chat, source = self._source_message(p, "copy")
        msg = self._new_message("copyMessage", self._target_chat(p), p)
        for key in ("text", "caption", "parse_mode", "caption_entities", "entities"):
            msg.pop(key, None)
        self._copy_content(msg, source, p, recaption=True)
        msg["_copied_from"] = {"chat_id": source_chat, "message_id": source["message_id"]}
        return {"message_id": self._commit(msg)["message_id"]}

    async def _forward_message(self, p: JSONDict, files: dict[str, Upload]) -> JSONDict:
        source_chat, source = self._source_message(p, "forward")
        msg = self._new_message("forwardMessage", self._target_chat(p), p)
        self._copy_content(msg, source, p, recaption=False)
        msg["_forward_origin"] = {
            "type": "user",
            "sender_user": source.get("from", self.bot_user()),
            "date": source["date"],
        }
        msg["_forwarded_from"] = {"chat_id": source_chat, "message_id": source["message_id"]}
        return self._commit(msg)

    # --- editing and deleting -----------------------------------------------------------------

    def _editable(self, p: JSONDict) -> JSONDict:
        chat = self._target_chat(p)
        message_id = _int_param(p, "message_id")
        msg = self._bot_index.get((chat.id, message_id))
        if msg is None or msg.get("_deleted"):
            if self._find_message(chat.id, message_id) is not None:
                raise bad_request("message can't be edited")
            raise bad_request("message to edit not found")
        self._validate_markup(p.get("reply_markup"))
        return msg

    def _finish_edit(self, msg: JSONDict, method: str, p: JSONDict) -> JSONDict:
        _set_or_pop(msg, "reply_markup", p)
        msg["_edit_date"] = self._now()
        msg["_edits"].append({"method": method, **p})
        self._touch()
        return self.render(msg)

    async def _edit_message_text(self, p: JSONDict, files: dict[str, Upload]) -> JSONDict | bool:
        if p.get("inline_message_id"):
            return True
        msg = self._editable(p)
        if "text" not in msg:
            raise bad_request("there is no text in the message to edit")
        probe: JSONDict = {}
        self._apply_text(probe, p)
        if (
            probe["_plain"] == msg["_plain"]
            and probe["_entities"] == msg["_entities"]
            and _inline_markup(p.get("reply_markup")) == _inline_markup(msg.get("reply_markup"))
        ):
            raise bad_request(_NOT_MODIFIED)
        msg["text"] = p["text"]
        msg.update(probe)
        for key in ("parse_mode", "entities", "link_preview_options"):
            _set_or_pop(msg, key, p)
        return self._finish_edit(msg, "editMessageText", p)

    async def _edit_message_caption(self, p: JSONDict, files: dict[str, Upload]) -> JSONDict | bool:
        if p.get("inline_message_id"):
            return True
        msg = self._editable(p)
        if not msg.get("_media"):
            raise bad_request("there is no caption in the message to edit")
        probe: JSONDict = {"text": None}
        self._apply_caption(probe, p)
        if (
            probe.get("_plain_caption") == msg.get("_plain_caption")
            and probe.get("_caption_entities") == msg.get("_caption_entities")
            and _inline_markup(p.get("reply_markup")) == _inline_markup(msg.get("reply_markup"))
        ):
            raise bad_request(_NOT_MODIFIED)
        self._apply_caption(msg, p)
        for key in ("parse_mode", "caption_entities"):
            _set_or_pop(msg, key, p)
        return self._finish_edit(msg, "editMessageCaption", p)

    async def _edit_message_reply_markup(
        self, p: JSONDict, files: dict[str, Upload]
    ) -> JSONDict | bool:
        if p.get("inline_message_id"):
            return True
        msg = self._editable(p)
        if _inline_markup(p.get("reply_markup")) == _inline_markup(msg.get("reply_markup")):
            raise bad_request(_NOT_MODIFIED)
        return self._finish_edit(msg, "editMessageReplyMarkup", p)

    def _delete_one(self, chat_id: int, message_id: int) -> bool:
        key = (chat_id, message_id)
        bot_msg = self._bot_index.get(key)
        if bot_msg is not None and not bot_msg.get("_deleted"):
            bot_msg["_deleted"] = True
        elif key in self._user_index and key not in self._deleted_user_messages:
            self._deleted_user_messages.add(key)
        else:
            return False
        self.deleted_messages.append(key)
        self._touch()
        return True

    async def _delete_message(self, p: JSONDict, files: dict[str, Upload]) -> bool:
        chat = self._target_chat(p)
        if not self._delete_one(chat.id, _int_param(p, "message_id")):
            raise bad_request("message to delete not found")
        return True

    async def _delete_messages(self, p: JSONDict, files: dict[str, Upload]) -> bool:
        chat = self._target_chat(p)
        ids = p.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise bad_request("message_ids must contain 1-100 items")
        for message_id in ids:
            self._delete_one(chat.id, int(message_id))
        return True

    # --- callbacks and files ------------------------------------------------------------------

    async def _answer_callback_query(self, p: JSONDict, files: dict[str, Upload]) -> bool:
        query_id = str(p.get("callback_query_id") or "")
        if query_id not in self._callback_queries or query_id in self.callback_answers:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        self.callback_answers[query_id] = p
        return True

    async def _get_file(self, p: JSONDict, files: dict[str, Upload]) -> JSONDict:
        stored = self.files.get(str(p.get("file_id") or ""))
        if stored is None:
            raise bad_request("invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD:
            raise bad_request("file is too big")
        return stored.file_object()

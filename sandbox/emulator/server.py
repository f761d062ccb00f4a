"""The Bot API emulator's server on 127.0.0.1: the HTTP side, faults, and what it can tell.

The end-to-end tests drive a real PTB application against it, the benchmark loads it with
hundreds of simulated people, and the sandbox plays it from a web page.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from .botapi import BotApi
from .models import ApiError, Call, JSONDict, Upload
from .parsing import parse_body
from .users import UserSide

MAX_REQUEST_BYTES = 64 * 1024 * 1024
DOWNLOAD_METHOD = "downloadFile"


@dataclass(slots=True)
class _Fault:
    method: str | None
    status: int
    retry_after: int | None
    remaining: int
    description: str | None

    def matches(self, method: str) -> bool:
        if self.method is None:
            return method.lower() not in ("getupdates", DOWNLOAD_METHOD.lower())
        return self.method.lower() == method.lower()

    def error(self) -> ApiError:
        if self.status == 429:
            retry_after = self.retry_after if self.retry_after is not None else 1
            return ApiError(
                429,
                self.description or f"Too Many Requests: retry after {retry_after}",
                {"retry_after": retry_after},
            )
        defaults = {
            400: "Bad Request: injected failure",
            401: "Unauthorized",
            403: "Forbidden: bot was blocked by the user",
            404: "Not Found",
            409: "Conflict: terminated by other getUpdates request",
        }
        try:
            phrase = HTTPStatus(self.status).phrase
        except ValueError:
            phrase = "Injected failure"
        return ApiError(self.status, self.description or defaults.get(self.status, phrase))


def _matches(predicate: Callable[[JSONDict], bool] | None, message: JSONDict) -> bool:
    if predicate is None:
        return True
    try:
        return bool(predicate(message))
    except KeyError:
        return False


class AnswerTimeout(Exception):
    """No matching bot message arrived in a chat feed in time."""


class ChatFeed:
    """The bot's new messages in one chat, in order, each with the moment it was stored.

    `wait_for_message` wakes every waiter on every change, fine for a test with three people
    and quadratic with hundreds of simulated tipsters; a feed is read by its own chat only.
    """

    def __init__(self) -> None:
        self._items: deque[tuple[JSONDict, float]] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def push(self, message: JSONDict, stored_at: float) -> None:
        self._items.append((message, stored_at))
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def next_matching(
        self, predicate: Callable[[JSONDict], bool], seconds: float
    ) -> tuple[JSONDict, float]:
        """The next message matching `predicate`; earlier non-matching ones are consumed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            while self._items:
                message, stored_at = self._items.popleft()
                if predicate(message):
                    return message, stored_at
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AnswerTimeout()
            self._waiter = loop.create_future()
            try:
                await asyncio.wait_for(self._waiter, remaining)
            except TimeoutError:
                pass
            finally:
                self._waiter = None


@dataclass(frozen=True, slots=True)
class Entry:
    """One message of a chat's history as a client shows it: the Bot API view, and what the
    view leaves out (a bot message's force_reply, whether the message was deleted)."""

    message: JSONDict
    from_bot: bool
    deleted: bool
    force_reply: bool = False


class FakeTelegram(UserSide, BotApi):
    """The Bot API emulator; point PTB's ``base_url``/``base_file_url`` at :attr:`url`.

    ``latency`` is added to every call. Everything is remembered unless told otherwise:
    ``keep_requests=False`` keeps no raw request bodies, ``keep_calls`` keeps only about the
    last that many recorded calls (`call_totals` still counts them all).
    """

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        bot_id: int = 123456,
        bot_username: str = "tipline_test_bot",
        latency: float = 0.0,
        keep_requests: bool = True,
        keep_calls: int | None = None,
    ) -> None:
        super().__init__(token, bot_id, bot_username)
        self.latency = latency
        self.keep_requests = keep_requests
        self.keep_calls = keep_calls
        self._feeds: dict[int, ChatFeed] = {}
        self._call_totals: Counter[str] = Counter()
        self._message_totals: Counter[int] = Counter()
        self.down = False
        self.drop_connections = False
        self._faults: list[_Fault] = []
        # Calls addressed to these chats answer 502, as in an outage seen only by some calls.
        self.unreachable_chats: set[int] = set()
        # chat id -> retry_after: every message to that chat answers 429 (a throttled group).
        self.throttled_chats: dict[int, int] = {}
        # (method, params) -> True: that call is refused with a 400, as Telegram refuses bad input.
        self.refuse_if: Callable[[str, JSONDict], bool] | None = None
        self._outgoing: list[bytes] = []
        self._cursors: dict[int, int] = defaultdict(int)
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._methods = self._method_table()

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` once started."""
        if self._url is None:
            raise RuntimeError("FakeTelegram is not started")
        return self._url

    @property
    def base_url(self) -> str:
        """Value for PTB's ``base_url``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for PTB's ``base_file_url``."""
        return f"{self.url}/file/bot"

    async def start(self, port: int = 0) -> None:
        """Listen on 127.0.0.1, on a free port unless ``port`` is given."""
        if self._runner is not None:
            return
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        port = runner.addresses[0][1]
        self._closing = False
        self._runner = runner
        self._url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        """Answer pending long polls and shut the server down."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._closing = True
        self._touch()
        await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # --- fault injection ----------------------------------------------------------------------

    def fail_next(
        self,
        method: str | None,
        *,
        status: int = 502,
        retry_after: int | None = None,
        count: int = 1,
        description: str | None = None,
    ) -> None:
        """Make the next ``count`` calls of ``method`` (None: any but getUpdates) fail."""
        if count < 1:
            raise ValueError("count must be positive")
        self._faults.append(_Fault(method, status, retry_after, count, description))

    def _take_fault(self, method: str) -> _Fault | None:
        for fault in self._faults:
            if fault.matches(method):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault
        return None

    # --- HTTP ---------------------------------------------------------------------------------

    def _record(
        self,
        method: str,
        params: JSONDict,
        uploads: dict[str, Upload],
        at: float,
        *,
        error: str | None = None,
        result: Any = None,
    ) -> None:
        self._call_totals[method + ("!" if error is not None else "")] += 1
        files = {name: upload.data for name, upload in uploads.items()}
        self.calls.append(
            Call(method, params, files, at, failed=error is not None, error=error, result=result)
        )
        if self.keep_calls is not None and len(self.calls) > 2 * self.keep_calls:
            del self.calls[: len(self.calls) - self.keep_calls]
        self._touch()

    def _commit(self, msg: JSONDict) -> JSONDict:
        # The one place a new bot message is stored (send*, copy, forward): feed its chat.
        rendered: JSONDict = super()._commit(msg)
        chat_id = int(msg["chat_id"])
        self._message_totals[chat_id] += 1
        feed = self._feeds.get(chat_id)
        if feed is not None:
            feed.push(msg, time.monotonic())
        return rendered

    @staticmethod
    def _error_response(error: ApiError) -> web.Response:
        return web.json_response(error.payload(), status=error.status)

    async def _drop(self, request: web.Request) -> web.Response:
        transport = request.transport
        if transport is not None:
            transport.close()
        await asyncio.get_running_loop().create_future()
        raise AssertionError("unreachable")

    async def _gate(self, request: web.Request, method: str) -> ApiError | None:
        """Latency, outage, token and injected faults; the error to answer with, if any."""
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        if self.down:
            return ApiError(502, "Bad Gateway")
        if request.match_info["token"] != self.token:
            return ApiError(401, "Unauthorized")
        fault = self._take_fault(method)
        return fault.error() if fault else None

    async def _handle_method(self, request: web.Request) -> web.StreamResponse:
        at = time.monotonic()
        method = request.match_info["method"]
        body = await request.read()
        if self.keep_requests:
            self._outgoing.append(body)
        try:
            params, uploads = parse_body(
                request.headers.get("Content-Type", ""), body, request.query
            )
        except ValueError:
            params, uploads = {}, {}
        if self.drop_connections:
            self._record(method, params, uploads, at, error="connection dropped")
            return await self._drop(request)
        failure = await self._gate(request, method)
        if failure is None and params.get("chat_id") in self.unreachable_chats:
            failure = ApiError(502, "Bad Gateway")
        if failure is None and self.refuse_if is not None and self.refuse_if(method, params):
            failure = ApiError(400, "Bad Request: injected refusal")
        throttled = self.throttled_chats.get(params.get("chat_id"))  # type: ignore[arg-type]
        if failure is None and throttled is not None and method.lower().startswith("send"):
            failure = ApiError(
                429, f"Too Many Requests: retry after {throttled}", {"retry_after": throttled}
            )
        handler = self._methods.get(method.lower())
        if failure is None and handler is None:
            failure = ApiError(404, "Not Found: method not found")
        if failure is None and handler is not None:
            try:
                result = await handler(params, uploads)
            except ApiError as exc:
                failure = exc
            else:
                self._record(method, params, uploads, at, result=result)
                return web.json_response({"ok": True, "result": result})
        assert failure is not None
        self._record(method, params, uploads, at, error=failure.description)
        return self._error_response(failure)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        at = time.monotonic()
        path = request.match_info["path"]
        params: JSONDict = {"file_path": path}
        if self.drop_connections:
            self._record(DOWNLOAD_METHOD, params, {}, at, error="connection dropped")
            return await self._drop(request)
        failure = await self._gate(request, DOWNLOAD_METHOD)
        stored = self._files_by_path.get(path)
        if failure is None and stored is None:
            failure = ApiError(404, "Not Found")
        if failure is not None or stored is None:
            assert failure is not None
            self._record(DOWNLOAD_METHOD, params, {}, at, error=failure.description)
            return self._error_response(failure)
        self._record(DOWNLOAD_METHOD, params, {}, at)
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    # --- inspection ---------------------------------------------------------------------------

    def feed(self, chat_id: int) -> ChatFeed:
        """Start collecting the bot's new messages in `chat_id` (from now on)."""
        feed = self._feeds[chat_id] = ChatFeed()
        return feed

    def drop_feed(self, chat_id: int) -> None:
        self._feeds.pop(chat_id, None)

    def bot_message_count(self, chat_id: int) -> int:
        """Messages the bot has sent to a chat so far, deleted and forgotten ones included."""
        return self._message_totals[chat_id]

    def call_totals(self) -> Counter[str]:
        """Bot API calls so far by method (failed ones as `method!`), forgotten ones included."""
        return Counter(self._call_totals)

    def history(self, chat_id: int) -> list[Entry]:
        """Every message of a chat, both sides, in order, as it is now (deleted ones flagged)."""
        entries: list[tuple[int, Entry]] = []
        for msg in self._bot_messages.get(chat_id, []):
            markup = msg.get("reply_markup")
            force = isinstance(markup, dict) and bool(markup.get("force_reply"))
            entry = Entry(self.render(msg), True, bool(msg.get("_deleted")), force)
            entries.append((int(msg["message_id"]), entry))
        for message_id in range(1, self._last_message_id.get(chat_id, 0) + 1):
            key = (chat_id, message_id)
            sent = self._user_index.get(key)
            if sent is not None and key not in self._bot_index:
                deleted = key in self._deleted_user_messages
                entries.append((message_id, Entry(sent, False, deleted)))
        entries.sort(key=lambda pair: pair[0])
        return [entry for _, entry in entries]

    def set_language(self, user_id: int, language_code: str | None) -> None:
        """The user changes the language of their Telegram app (their next updates carry it)."""
        self.users[user_id].language_code = language_code
        self._touch()

    def skip_to_end(self, chat_id: int) -> None:
        """Move the chat's cursor past every message so far: `wait_for_message` then sees only
        messages sent from now on."""
        self._cursors[chat_id] = len(self._bot_messages.get(chat_id, []))

    def calls_of(self, method: str) -> list[Call]:
        """Recorded calls of one method (case-insensitive), oldest first."""
        wanted = method.lower()
        return [call for call in self.calls if call.method.lower() == wanted]

    def messages_in(self, chat_id: int, *, include_deleted: bool = False) -> list[JSONDict]:
        """The bot's messages in a chat, in sending order, as they are now."""
        return [
            msg
            for msg in self._bot_messages.get(chat_id, [])
            if include_deleted or not msg.get("_deleted")
        ]

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates not yet confirmed by the bot."""
        return list(self._updates)

    def all_outgoing_bytes(self) -> bytes:
        """Every request body the bot sent, raw, newline-joined (for leak scans)."""
        return b"\n".join(self._outgoing)

    @staticmethod
    def _buttons(message: JSONDict) -> list[JSONDict]:
        markup = message.get("reply_markup")
        if not isinstance(markup, dict):
            return []
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        return [
            button if isinstance(button, dict) else {"text": str(button)}
            for row in rows
            for button in row
        ]

    def button_data(self, message: JSONDict) -> list[str]:
        """All callback_data of the message's inline keyboard, row by row."""
        return [str(b["callback_data"]) for b in self._buttons(message) if "callback_data" in b]

    def copy_buttons(self, message: JSONDict) -> list[tuple[str, str]]:
        """(label, text copied) of each copy_text button of the message, row by row."""
        return [
            (str(b.get("text", "")), str(b["copy_text"].get("text", "")))
            for b in self._buttons(message)
            if isinstance(b.get("copy_text"), dict)
        ]

    def button_texts(self, message: JSONDict) -> list[str]:
        """All button labels of the message's keyboard, row by row."""
        return [str(b.get("text", "")) for b in self._buttons(message)]

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until ``predicate()`` is true; AssertionError after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"condition not met within {timeout}s")
            await self._wait_change(min(remaining, 0.05))

    async def wait_for_message(
        self,
        chat_id: int,
        predicate: Callable[[JSONDict], bool] | None = None,
        timeout: float = 5.0,
    ) -> JSONDict:
        """The next bot message in ``chat_id`` matching ``predicate`` (per-chat cursor).

        Messages before the cursor (already returned or skipped) are never returned again;
        a predicate raising KeyError counts as "no match".
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            sent = self._bot_messages.get(chat_id, [])
            for index in range(self._cursors[chat_id], len(sent)):
                if _matches(predicate, sent[index]):
                    self._cursors[chat_id] = index + 1
                    return sent[index]
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"no matching bot message in chat {chat_id} within {timeout}s\n"
                    + self.describe_chat(chat_id)
                )
            await self._wait_change(remaining)

    def describe_chat(self, chat_id: int) -> str:
        """Human-readable dump of what the bot sent to (and failed to send to) a chat."""
        cursor = self._cursors[chat_id]
        lines = [f"bot messages in chat {chat_id} (cursor at {cursor}):"]
        for index, msg in enumerate(self._bot_messages.get(chat_id, [])):
            flags = " [consumed]" if index < cursor else ""
            flags += " [deleted]" if msg.get("_deleted") else ""
            text = msg.get("_plain", "")
            media = ",".join(msg.get("_media", {}))
            buttons = self.button_data(msg)
            lines.append(
                f"  #{index} id={msg['message_id']} {msg['method']}{flags}: {text[:300]!r}"
                + (f" [{media}]" if media else "")
                + (f" buttons={buttons}" if buttons else "")
            )
        if len(lines) == 1:
            lines.append("  (none)")
        failed = [
            call
            for call in self.calls
            if call.failed and str(call.params.get("chat_id")) == str(chat_id)
        ]
        for call in failed[-10:]:
            lines.append(f"  failed {call.method}: {call.error}")
        return "\n".join(lines)

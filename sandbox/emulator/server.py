"""A fake Telegram Bot API server on 127.0.0.1 for driving a real PTB application in tests."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
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


class FakeTelegram(UserSide, BotApi):
    """Fake Bot API server; point PTB's ``base_url``/``base_file_url`` at :attr:`url`."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        bot_id: int = 123456,
        bot_username: str = "tipline_test_bot",
        latency: float = 0.0,
    ) -> None:
        super().__init__(token, bot_id, bot_username)
        self.latency = latency
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

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        if self._runner is not None:
            return
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
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
        files = {name: upload.data for name, upload in uploads.items()}
        self.calls.append(
            Call(method, params, files, at, failed=error is not None, error=error, result=result)
        )
        self._touch()

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

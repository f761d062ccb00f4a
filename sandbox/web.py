"""The sandbox page: three chats served by aiohttp, kept live with server-sent events.

The page acts only as Telegram's own clients could: a person sends a text, a photo or a file
(optionally as a reply), presses a button that is on a message, or changes their language.
Each of these becomes an update in the emulator, exactly like the e2e tests make them, and
the real bot handles it. What the bot sends, edits or deletes reaches every open page through
one stream (`/api/events`): a snapshot first, then each change.

Only 127.0.0.1 is served, and only to pages of this origin: requests naming another host
(DNS rebinding) or coming from another origin are refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
from importlib import resources
from typing import Any
from urllib.parse import unquote

from aiohttp import web
from PIL import Image, UnidentifiedImageError

from sandbox import people
from sandbox.emulator import FakeTelegram
from sandbox.views import message_view

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]
MAX_UPLOAD = 20 * 1024 * 1024
MAX_TEXT = 4096
MAX_CAPTION = 1024
KEEPALIVE_SECONDS = 15.0
CLIENT_QUEUE = 2000
STATIC = {
    "index.html": "text/html",
    "app.js": "text/javascript",
    "render.js": "text/javascript",
    "style.css": "text/css",
}
# The page's own files may come only from here; images also from blob: (previews).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob:; style-src 'self'; script-src 'self';"
        " connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
INLINE_IMAGES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
LANGUAGES = {"en": "en", "zh": "zh-hans"}
COMMAND_SCOPE = {"type": "all_private_chats"}


def _sse(event: str, data: object) -> bytes:
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"event: {event}\ndata: {payload}\n\n".encode()


class Hub:
    """Watches the emulator and tells every open page what changed, once per burst."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self._views: dict[str, dict[int, str]] = {pane: {} for pane in people.PANES}
        self._order: dict[str, list[int]] = {pane: [] for pane in people.PANES}
        self._seen_answers: set[str] = set()
        self._presses: dict[str, tuple[str, str]] = {}  # query id -> (pane, persona)
        self._meta = ""
        self._clients: set[asyncio.Queue[bytes | None]] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Take the chats as they are now, then follow every change."""
        self._seen_answers = set(self.fake.callback_answers)
        self._collect()
        self.fake.add_listener(self._wake.set)
        self._task = asyncio.create_task(self._run(), name="sandbox-hub")

    async def stop(self) -> None:
        self.fake.remove_listener(self._wake.set)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for queue in list(self._clients):
            queue.put_nowait(None)

    def pressed(self, query_id: str, pane: str, persona: str) -> None:
        """Remember who pressed, so the bot's answer goes to that pane."""
        self._presses[query_id] = (pane, persona)

    def meta(self) -> JSONDict:
        """What the page shows besides the chats: the people, the citizen's language and
        the bot's command menu for it."""
        code = self.fake.users[people.CITIZEN.user_id].language_code or "en"
        language = "zh" if code.lower().startswith("zh") else "en"
        commands = self.fake.my_commands(COMMAND_SCOPE, language) or self.fake.my_commands(
            COMMAND_SCOPE, ""
        )
        return {
            "language": language,
            "commands": [
                {"command": str(c.get("command")), "description": str(c.get("description"))}
                for c in commands
            ],
            "personas": {
                pane: [{"key": p.key, "id": p.user_id, "name": p.name} for p in cast]
                for pane, cast in people.PANES.items()
            },
            "chats": {
                "citizen": {"id": people.CITIZEN.user_id, "title": people.BOT_NAME},
                "review": {"id": people.REVIEW_CHAT, "title": people.REVIEW_TITLE},
                "finance": {"id": people.FINANCE_CHAT, "title": people.FINANCE_TITLE},
            },
        }

    def snapshot(self) -> JSONDict:
        """Every pane as the page should draw it now."""
        return {
            **self.meta(),
            "panes": {
                pane: [json.loads(self._views[pane][i]) for i in self._order[pane]]
                for pane in people.PANES
            },
        }

    def flush(self) -> None:
        """Tell the open pages every change not yet told (before a snapshot is taken)."""
        for event in self._collect():
            self._broadcast(event)

    def subscribe(self) -> asyncio.Queue[bytes | None]:
        self.flush()
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        queue.put_nowait(_sse("snapshot", self.snapshot()))
        self._clients.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[bytes | None]) -> None:
        self._clients.discard(queue)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(0.02)  # one diff for a burst of changes
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # a view that cannot be drawn must not stop the page
                log.exception("could not draw the chats")

    def _broadcast(self, event: bytes) -> None:
        for queue in list(self._clients):
            if queue.qsize() > CLIENT_QUEUE:  # a page that stopped reading
                self._clients.discard(queue)
                queue.put_nowait(None)
            else:
                queue.put_nowait(event)

    def _collect(self) -> list[bytes]:
        """The changes since the last call, as events (and remember the new state)."""
        events: list[bytes] = []
        for pane in people.PANES:
            views = self._views[pane]
            order: list[int] = []
            current: dict[int, str] = {}
            for entry in self.fake.history(people.pane_chat(pane)):
                if entry.deleted:
                    continue
                view = message_view(entry)
                text = json.dumps(view, ensure_ascii=False, sort_keys=True)
                current[view["id"]] = text
                order.append(view["id"])
                if views.get(view["id"]) != text:
                    events.append(_sse("upsert", {"pane": pane, "message": view}))
            for gone in views.keys() - current.keys():
                events.append(_sse("remove", {"pane": pane, "id": gone}))
            self._views[pane], self._order[pane] = current, order
        for query_id, answer in self.fake.callback_answers.items():
            if query_id in self._seen_answers:
                continue
            self._seen_answers.add(query_id)
            pressed = self._presses.pop(query_id, None)
            if pressed is not None:
                said = answer.get("text")
                events.append(
                    _sse(
                        "answer",
                        {
                            "pane": pressed[0],
                            "persona": pressed[1],
                            "text": str(said) if said else "",
                            "alert": bool(answer.get("show_alert")),
                        },
                    )
                )
        meta = json.dumps(self.meta(), sort_keys=True)
        if meta != self._meta:
            if self._meta:
                events.append(_sse("meta", self.meta()))
            self._meta = meta
        return events


class PageError(Exception):
    """A request the page should not have made; answered 400 with the reason."""


class Page:
    """The aiohttp application of the page and its API."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self.hub = Hub(fake)
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._streams: set[web.StreamResponse] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def application(self) -> web.Application:
        app = web.Application(client_max_size=MAX_UPLOAD + 64 * 1024, middlewares=[self._guard])
        app.router.add_get("/", self._index)
        app.router.add_get("/favicon.ico", self._no_icon)
        app.router.add_get("/static/{name}", self._static)
        app.router.add_get("/files/{file_id}", self._file)
        app.router.add_get("/api/state", self._state)
        app.router.add_get("/api/events", self._events)
        app.router.add_post("/api/send", self._send)
        app.router.add_post("/api/press", self._press)
        app.router.add_post("/api/upload", self._upload)
        app.router.add_post("/api/language", self._language)
        return app

    async def start(self, port: int) -> None:
        """Listen on 127.0.0.1:`port` (0: a free one). OSError if the port is taken."""
        runner = web.AppRunner(
            self.application(), access_log=None, shutdown_timeout=1.0, handler_cancellation=True
        )
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        self.hub.start()

    async def stop(self) -> None:
        await self.hub.stop()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    # --- guard ------------------------------------------------------------------------------

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        allowed = {f"127.0.0.1:{self.port}", f"localhost:{self.port}"}
        if request.host not in allowed:
            return web.Response(status=421, text="this sandbox answers only on 127.0.0.1")
        origin = request.headers.get("Origin")
        if request.method != "GET" and origin not in (None, *(f"http://{h}" for h in allowed)):
            return web.Response(status=403, text="requests from other pages are refused")
        try:
            response: web.StreamResponse = await handler(request)
        except PageError as exc:
            response = web.json_response({"ok": False, "error": str(exc)}, status=400)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    # --- files ------------------------------------------------------------------------------

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return self._static_file("index.html")

    async def _no_icon(self, request: web.Request) -> web.StreamResponse:
        return web.Response(status=204)

    async def _static(self, request: web.Request) -> web.StreamResponse:
        return self._static_file(request.match_info["name"])

    @staticmethod
    def _static_file(name: str) -> web.StreamResponse:
        content_type = STATIC.get(name)
        if content_type is None:
            raise web.HTTPNotFound()
        body = resources.files("sandbox").joinpath("static", name).read_bytes()
        return web.Response(body=body, content_type=content_type, charset="utf-8")

    async def _file(self, request: web.Request) -> web.StreamResponse:
        """A file of the emulator (a photo or document of either side)."""
        stored = self.fake.files.get(request.match_info["file_id"])
        if stored is None:
            raise web.HTTPNotFound()
        mime = (stored.mime_type or "").lower()
        if mime in INLINE_IMAGES:
            return web.Response(body=stored.data, content_type=mime)
        name = stored.file_name or stored.file_path.rsplit("/", 1)[-1]
        safe = "".join(ch for ch in name if ch.isalnum() or ch in "._-") or "file"
        return web.Response(
            body=stored.data,
            content_type="application/octet-stream",
            headers={
                "Content-Disposition": f'attachment; filename="{safe}"',
                "Content-Security-Policy": "sandbox",
            },
        )

    # --- state ------------------------------------------------------------------------------

    async def _state(self, request: web.Request) -> web.StreamResponse:
        self.hub.flush()
        return web.json_response(self.hub.snapshot(), dumps=_dumps)

    async def _events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
        )
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        await response.prepare(request)
        queue = self.hub.subscribe()
        try:
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    event = b": keepalive\n\n"
                if event is None:
                    break
                await response.write(event)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.hub.unsubscribe(queue)
        return response

    # --- acting as a person -----------------------------------------------------------------

    @staticmethod
    async def _json(request: web.Request) -> JSONDict:
        if request.content_type != "application/json":
            raise PageError("send JSON")
        try:
            body = await request.json()
        except ValueError:
            raise PageError("not JSON") from None
        if not isinstance(body, dict):
            raise PageError("send an object")
        return body

    @staticmethod
    def _who(body: JSONDict) -> tuple[str, people.Persona, int]:
        pane = str(body.get("pane", ""))
        who = people.persona(pane, str(body.get("persona", "")))
        if who is None:
            raise PageError("nobody of that name in that pane")
        return pane, who, people.pane_chat(pane)

    def _reply_target(self, chat_id: int, body: JSONDict) -> int | None:
        raw = body.get("reply_to")
        if raw in (None, ""):
            return None
        try:
            message_id = int(str(raw))
        except ValueError:
            raise PageError("reply_to is not a message") from None
        if not any(e.message.get("message_id") == message_id for e in self.fake.history(chat_id)):
            raise PageError("the message to reply to is not in this chat")
        return message_id

    async def _send(self, request: web.Request) -> web.StreamResponse:
        body = await self._json(request)
        pane, who, chat_id = self._who(body)
        text = str(body.get("text", ""))
        if not text.strip():
            raise PageError("nothing to send")
        if len(text) > MAX_TEXT:
            raise PageError(f"Telegram takes at most {MAX_TEXT} characters in one message")
        reply_to = self._reply_target(chat_id, body)
        user = self.fake.users[who.user_id]
        sent = self.fake.user_sends_text(
            user, text, chat_id=None if pane == "citizen" else chat_id, reply_to_message_id=reply_to
        )
        return web.json_response({"ok": True, "id": sent["message_id"]})

    async def _press(self, request: web.Request) -> web.StreamResponse:
        body = await self._json(request)
        pane, who, chat_id = self._who(body)
        data = str(body.get("data", ""))
        try:
            message_id = int(str(body.get("message_id")))
        except ValueError:
            raise PageError("message_id is not a number") from None
        message = next(
            (m for m in self.fake.messages_in(chat_id) if int(m["message_id"]) == message_id),
            None,
        )
        if message is None or data not in self.fake.button_data(message):
            raise PageError("that button is not on that message (any more)")
        query = self.fake.user_presses(self.fake.users[who.user_id], message, data)
        self.hub.pressed(str(query["id"]), pane, who.key)
        return web.json_response({"ok": True, "query": query["id"]})

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        fields = {key: form.get(key) for key in ("pane", "persona", "kind", "caption", "reply_to")}
        pane, who, chat_id = self._who({k: v for k, v in fields.items() if isinstance(v, str)})
        upload = form.get("file")
        if not isinstance(upload, web.FileField):
            raise PageError("no file")
        data = upload.file.read()
        if not data:
            raise PageError("the file is empty")
        if len(data) > MAX_UPLOAD:
            raise PageError("Telegram bots receive files of at most 20 MB")
        caption = fields["caption"] if isinstance(fields["caption"], str) else ""
        if len(caption) > MAX_CAPTION:
            raise PageError(f"a caption holds at most {MAX_CAPTION} characters")
        user = self.fake.users[who.user_id]
        target = None if pane == "citizen" else chat_id
        if fields["kind"] == "photo":
            photo = _as_telegram_photo(data)
            sent = self.fake.user_sends_photo(user, photo, caption or None, chat_id=target)
        else:
            name = _safe_name(upload.filename or "file")
            mime = upload.content_type or "application/octet-stream"
            sent = self.fake.user_sends_document(
                user, data, name, mime, caption or None, chat_id=target
            )
        return web.json_response({"ok": True, "id": sent["message_id"]})

    async def _language(self, request: web.Request) -> web.StreamResponse:
        body = await self._json(request)
        code = LANGUAGES.get(str(body.get("language", "")))
        if code is None:
            raise PageError("the language is en or zh")
        self.fake.set_language(people.CITIZEN.user_id, code)
        return web.json_response({"ok": True})


def _as_telegram_photo(data: bytes) -> bytes:
    """What a Telegram client uploads for a photo: a JPEG of it (metadata and all are the
    bot's to clean; the client only changes the format)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format == "JPEG":
                return data
            out = io.BytesIO()
            image.convert("RGB").save(out, format="JPEG", quality=90)
            return out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError):
        raise PageError("this is not a picture: send it as a file") from None


def _safe_name(name: str) -> str:
    """The file's own name, without any folder a client sent with it."""
    base = unquote(name).replace("\\", "/").rsplit("/", 1)[-1].strip()
    return base[:120] or "file"


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)

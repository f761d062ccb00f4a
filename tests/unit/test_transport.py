"""bot/transport.py: PTB's requests over aiohttp, against a small HTTP server on 127.0.0.1.

Uploads must arrive as multipart with their file name and type, plain calls as form fields,
and every failure before an answer must surface as TimedOut or NetworkError (so the sender
retries), never as a success and never with the token in the message.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web
from telegram import Bot
from telegram.error import BadRequest, NetworkError, TimedOut

from bot.telegram.transport import AiohttpRequest

TOKEN = "123456:SECRET-TOKEN-VALUE"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _message(text: str = "ok") -> dict[str, Any]:
    return {
        "message_id": 7,
        "date": 1_700_000_000,
        "chat": {"id": 42, "type": "private", "first_name": "A"},
        "text": text,
    }


async def _serve(handler: Handler) -> AsyncIterator[tuple[Bot, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []

    async def record(request: web.Request) -> web.StreamResponse:
        entry: dict[str, Any] = {"path": request.path, "type": request.content_type}
        if request.content_type == "multipart/form-data":
            form = await request.post()
            entry["form"] = {
                k: (v.filename, v.content_type, v.file.read()) if hasattr(v, "file") else v
                for k, v in form.items()
            }
        else:
            entry["form"] = dict(await request.post())
        seen.append(entry)
        return await handler(request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=AiohttpRequest(4))
    await bot.request.initialize()  # no getMe: these tests call one method each
    try:
        yield bot, seen
    finally:
        await bot.request.shutdown()
        await runner.cleanup()


@pytest.fixture
def serve() -> Callable[[Handler], Any]:
    """`async with serve(handler) as (bot, seen)`: a Bot on AiohttpRequest and what arrived."""
    return asynccontextmanager(_serve)


async def _ok(_: web.Request) -> web.StreamResponse:
    return web.json_response({"ok": True, "result": _message()})


async def test_plain_calls_send_form_fields(serve) -> None:
    async with serve(_ok) as (bot, seen):
        message = await bot.send_message(42, "héllo")
    assert message.message_id == 7
    assert seen[0]["path"] == f"/bot{TOKEN}/sendMessage"
    assert seen[0]["type"] == "application/x-www-form-urlencoded"
    assert seen[0]["form"]["chat_id"] == "42"
    assert seen[0]["form"]["text"] == "héllo"


async def test_uploads_arrive_as_multipart_with_name_and_type(serve) -> None:
    async with serve(_ok) as (bot, seen):
        await bot.send_document(42, b"%PDF-1.4 bytes", filename="report.pdf", caption="c")
    form = seen[0]["form"]
    assert seen[0]["type"] == "multipart/form-data"
    assert form["chat_id"] == "42"
    assert form["caption"] == "c"
    name, content_type, body = next(v for v in form.values() if isinstance(v, tuple))
    assert (name, content_type, body) == ("report.pdf", "application/pdf", b"%PDF-1.4 bytes")


async def test_telegram_errors_keep_their_meaning(serve) -> None:
    async def refuse(_: web.Request) -> web.StreamResponse:
        body = {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
        return web.json_response(body, status=400)

    async with serve(refuse) as (bot, _):
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await bot.send_message(42, "x")


async def test_a_dropped_connection_is_a_network_error_without_the_token(serve) -> None:
    async def drop(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.close()
        await asyncio.sleep(0.1)
        return web.Response()

    async with serve(drop) as (bot, _):
        with pytest.raises(NetworkError) as caught:
            await bot.send_message(42, "x")
    assert not isinstance(caught.value, TimedOut)
    assert "SECRET" not in str(caught.value)


async def test_no_answer_within_the_read_timeout_is_timed_out(serve) -> None:
    async def stall(_: web.Request) -> web.StreamResponse:
        await asyncio.sleep(2)
        return web.json_response({"ok": True, "result": _message()})

    async with serve(stall) as (bot, _):
        with pytest.raises(TimedOut):
            await bot.send_message(42, "x", read_timeout=0.2)

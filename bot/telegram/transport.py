"""python-telegram-bot's HTTP layer on aiohttp instead of httpx.

The benchmark showed the default httpx layer costing about 3 ms of CPU per Bot API
call at 32 requests in flight, and over 6 ms at 200: with two or more calls per update it was
most of the bot's CPU. The same calls through aiohttp cost about 0.5 ms. PTB supports this by
design: a `BaseRequest` only has to turn one request into a status code and a body; PTB still
builds the requests, parses the answers and maps Telegram's errors.

Requests that fail before an answer arrives raise `TimedOut` or `NetworkError`, as with httpx,
so the sender's retries and the polling loop's back-off work unchanged. aiohttp never retries
a POST by itself, so a message is sent again only when tipline's own sender decides to.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

# Upper bounds in seconds when a call does not pass its own; PTB's httpx defaults are alike.
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
MEDIA_WRITE_TIMEOUT = 20.0
CONNECT_TIMEOUT = 5.0
POOL_TIMEOUT = 10.0


def _seconds(value: Any, default: float) -> float | None:
    """A call's timeout: PTB's DEFAULT_NONE means "use ours"; None means no limit."""
    if isinstance(value, BaseRequest.DEFAULT_NONE.__class__):
        return default
    return None if value is None else float(value)


class AiohttpRequest(BaseRequest):
    """One aiohttp session with at most `connections` connections to the Bot API server."""

    def __init__(self, connections: int, read_timeout: float = READ_TIMEOUT) -> None:
        self._connections = connections
        self._read_timeout = read_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections),
                headers={"User-Agent": "tipline"},
                # HTTPS_PROXY / HTTP_PROXY are honoured, as httpx did: a line run where Telegram
                # is blocked reaches the Bot API through a proxy.
                trust_env=True,
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        body: aiohttp.FormData | dict[str, str] | None = None
        files = False
        if request_data is not None:
            fields = request_data.json_parameters
            uploads = request_data.multipart_data
            files = bool(uploads)
            if uploads:
                form = aiohttp.FormData()
                for name, value in fields.items():
                    form.add_field(name, value)
                for name, (filename, content, mime_type) in uploads.items():
                    form.add_field(name, content, filename=filename, content_type=mime_type)
                body = form
            else:
                body = fields
        read = _seconds(read_timeout, self._read_timeout)
        write = _seconds(write_timeout, MEDIA_WRITE_TIMEOUT if files else WRITE_TIMEOUT)
        connect = _seconds(connect_timeout, CONNECT_TIMEOUT)
        pool = _seconds(pool_timeout, POOL_TIMEOUT)
        parts = (read, write, connect, pool)
        timeout = aiohttp.ClientTimeout(
            # A backstop over the whole call (aiohttp has no separate write timeout).
            total=None if None in parts else sum(p for p in parts if p is not None),
            connect=None if pool is None or connect is None else pool + connect,
            sock_connect=connect,
            sock_read=read,
        )
        try:
            async with self._session.request(method, url, data=body, timeout=timeout) as answer:
                return answer.status, await answer.read()
        except TimeoutError as exc:
            raise TimedOut() from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}") from exc

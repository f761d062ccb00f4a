"""`make run` on a fresh machine, as a subprocess: `tipline sandbox` comes up, prints one line,
serves the page with the seeded demo tips, keeps them across a restart, and stops cleanly."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

TIPLINE = Path(sys.executable).parent / "tipline"
UP_WITHIN_SECONDS = 45  # "well under a minute"; it takes a few seconds


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIPLINE_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config-home")
    return env


def _get(url: str) -> tuple[str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:  # http on 127.0.0.1
        return response.headers.get_content_type(), response.read()


class Run:
    """One `tipline sandbox` process in `cwd`."""

    def __init__(self, cwd: Path, env: dict[str, str], *args: str) -> None:
        self.cwd, self.env, self.args = cwd, env, args
        self.process: asyncio.subprocess.Process | None = None
        self.line = ""
        self.seconds = 0.0

    async def __aenter__(self) -> Run:
        started = time.monotonic()
        self.process = await asyncio.create_subprocess_exec(
            str(TIPLINE),
            "sandbox",
            *self.args,
            cwd=self.cwd,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert self.process.stdout is not None
        try:
            raw = await asyncio.wait_for(self.process.stdout.readline(), UP_WITHIN_SECONDS)
        except TimeoutError:
            self.process.kill()
            _, err = await self.process.communicate()
            raise AssertionError(f"no line within {UP_WITHIN_SECONDS} s: {err.decode()}") from None
        self.seconds = time.monotonic() - started
        self.line = raw.decode()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> tuple[int, str, str]:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(self.process.communicate(), 40)
        assert self.process.returncode is not None
        return self.process.returncode, out.decode(), err.decode()


def _state(port: int) -> dict[str, Any]:
    kind, body = _get(f"http://127.0.0.1:{port}/api/state")
    assert kind == "application/json"
    state: dict[str, Any] = json.loads(body)
    return state


def _cards(state: dict[str, Any]) -> list[str]:
    return [m["text"] for m in state["panes"]["review"] if m["text"].startswith("📋 Tip")]


async def test_make_run_on_a_fresh_machine_starts_a_seeded_sandbox(tmp_path: Path) -> None:
    port = _free_port()
    env = _env(tmp_path)
    # A real deployment's .env beside it is never read by the sandbox (nor its data touched).
    (tmp_path / ".env").write_text("TIPLINE_BOT_TOKEN=1:REAL\nTIPLINE_DATA_DIR=./data\n")
    async with Run(tmp_path, env, "--port", str(port)) as first:
        assert first.line.startswith("tipline sandbox: open ")
        assert f"http://127.0.0.1:{port} " in first.line
        kind, page = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/")
        assert kind == "text/html" and b"Nothing reaches" in page
        state = await asyncio.to_thread(_state, port)
        cards = _cards(state)
        assert len(cards) == 5 and all("[DEMO]" in card for card in cards)
        for status in ("🆕 new", "🔎 in review", "⏳ waiting for the tipster", "✅ verified"):
            assert any(status in card for card in cards), status
        finance = " ".join(m["text"] for m in state["panes"]["finance"])
        assert "offered" not in finance or "paid" in finance
        assert "DEMO-V-" in finance and "Reward proposal" in finance
        names = {p["name"] for cast in state["personas"].values() for p in cast}
        assert all(name.startswith("Demo ") for name in names)
        code, out, err = await first.stop()
    print(f"\nsandbox: first start (with seeding) printed its line after {first.seconds:.1f} s")
    assert code == 0, err
    assert first.line.endswith("\n") and out == "", out  # ONE line, nothing after it
    assert "Traceback" not in err and "ERROR" not in err, err
    folder = tmp_path / "sandbox-data"
    assert {p.name for p in folder.iterdir()} >= {
        ".tipline-sandbox",
        "data",
        "master.key",
        "policy.toml",
        "emulator.json",
        "sandbox.log",
    }
    assert not (tmp_path / "data").exists()  # nothing beside a real deployment's data
    log = (folder / "sandbox.log").read_text()
    assert "tipline is running" in log and "SANDBOX-NOT-A-REAL-TOKEN" not in log

    async with Run(tmp_path, env, "--port", str(port)) as again:
        state = await asyncio.to_thread(_state, port)
        assert _cards(state) == cards  # the same chats, not seeded twice
        await again.stop()
    print(f"sandbox: restart printed its line after {again.seconds:.1f} s")

    async with Run(tmp_path, env, "--port", str(port), "--seed") as seeded:
        assert len(_cards(await asyncio.to_thread(_state, port))) == 10
        await seeded.stop()
    async with Run(tmp_path, env, "--port", str(port), "--reset") as reset:
        assert len(_cards(await asyncio.to_thread(_state, port))) == 5
        await reset.stop()
    assert first.seconds < UP_WITHIN_SECONDS and again.seconds < 20


async def test_a_busy_port_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**_env(tmp_path), "TIPLINE_SANDBOX_PORT": str(port)}
        process = await asyncio.create_subprocess_exec(
            str(TIPLINE),
            "sandbox",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 40)
    assert process.returncode == 2
    assert not out
    assert err.decode().startswith(
        f"tipline sandbox: cannot start: cannot listen on 127.0.0.1:{port}"
    )
    assert "Traceback" not in err.decode()

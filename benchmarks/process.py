"""The parent's handle on a bot process: start it, read its CPU time and memory, stop it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
READY_TIMEOUT_SECONDS = 60.0
STOP_GRACE_SECONDS = 30.0


class BotProcessError(Exception):
    """The bot process failed to start or died; the message holds its log's tail."""


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a live process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command name: state is field 3, utime field 14, stime field 15 (1-based).
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


MEMORY_FIELDS = ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem")


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM (peak resident set) and RSS by kind (anonymous, file, shmem), in kB."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in MEMORY_FIELDS:
            values[name] = int(rest.split()[0])
    return values


@dataclass
class BotProcess:
    """A running `python -m benchmarks.botproc` child."""

    process: asyncio.subprocess.Process
    pid: int
    startup_seconds: float
    log_path: Path
    stopped: dict[str, Any] | None = None

    @classmethod
    async def start(
        cls, arguments: Sequence[str], log_path: Path, *, wrapper: Sequence[str] = ()
    ) -> BotProcess:
        """Spawn the child and wait for its "ready" line; `wrapper` prefixes the command."""
        command = [*wrapper, sys.executable, "-m", "benchmarks.botproc", *arguments]
        began = time.monotonic()
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                *command,
                cwd=PROJECT_ROOT,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                env={**os.environ, "PTB_TIMEDELTA": "1", "PYTHONUNBUFFERED": "1"},
            )
        try:
            ready = await asyncio.wait_for(_ready_event(process), READY_TIMEOUT_SECONDS)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise BotProcessError("the bot did not become ready\n" + _tail(log_path)) from None
        if ready is None:
            await process.wait()
            raise BotProcessError(
                f"the bot exited with {process.returncode} during start-up\n" + _tail(log_path)
            )
        return cls(process, int(ready["pid"]), time.monotonic() - began, log_path)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def memory_kb(self) -> dict[str, int]:
        return memory_kb(self.pid)

    async def stop(self, grace: float = STOP_GRACE_SECONDS) -> bool:
        """Close stdin (the stop signal), wait up to `grace` seconds, then kill. True if clean."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        try:
            rest = await asyncio.wait_for(self.process.stdout.read(), grace)
            await asyncio.wait_for(self.process.wait(), grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()
            return False
        for line in rest.splitlines():
            event = _event(line)
            if event is not None and event["event"] == "stopped":
                self.stopped = event
        return self.process.returncode == 0

    def logged_errors(self) -> int:
        """ERROR and CRITICAL lines the bot wrote to its log."""
        text = self.log_path.read_text(errors="replace")
        return sum(1 for line in text.splitlines() if " ERROR " in line or " CRITICAL " in line)


def _event(line: bytes) -> dict[str, Any] | None:
    """A JSON event line of the bot; None for anything else (a wrapper's chatter)."""
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) and "event" in event else None


async def _ready_event(process: asyncio.subprocess.Process) -> dict[str, Any] | None:
    """The "ready" event, or None when the process closed its output first."""
    assert process.stdout is not None
    while line := await process.stdout.readline():
        event = _event(line)
        if event is not None and event["event"] == "ready":
            return event
    return None


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"

"""Jobs the worker tests give the pool (module-level, so that a worker can import them)."""

from __future__ import annotations

import json
import os
import resource
import signal
import time

from bot.domain.media import CleanFile, MediaKind, Outcome
from bot.media.worker import clean_in_worker


def _report(**values: object) -> Outcome:
    return CleanFile(
        json.dumps(values).encode(), "application/json", ".json", MediaKind.DOCUMENT, True
    )


def job(data: bytes, max_pixels: int) -> Outcome:
    """`die` kills its worker, `sleep:<s>` sleeps, `env` reports the worker's environment,
    limits and process; anything else is cleaned for real."""
    if data == b"die":
        os.kill(os.getpid(), signal.SIGKILL)
    if data.startswith(b"sleep:"):
        began = time.monotonic()
        time.sleep(float(data[6:]))
        return _report(pid=os.getpid(), began=began, ended=time.monotonic())
    if data == b"env":
        return _report(
            environment=sorted(os.environ),
            address_space=resource.getrlimit(resource.RLIMIT_AS),
            core=resource.getrlimit(resource.RLIMIT_CORE),
            niceness=os.nice(0),
            pid=os.getpid(),
            modules=sorted(name for name in __import__("sys").modules if name.startswith("bot")),
        )
    return clean_in_worker(data, max_pixels)

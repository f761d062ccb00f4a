"""The cleaning workers: separate processes without secrets, under a memory limit, one or two
at a time; a worker that dies or hangs costs a refusal, never the bot."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from multiprocessing import forkserver

import pytest

from bot.domain.media import CleanFile, Refusal, Refused
from bot.domain.policy import MediaPolicy
from bot.media.worker import WORKER_NICENESS, MediaWorkers
from tests import files
from tests.processes import address_space_limit, peak_rss
from tests.unit.media_jobs import job

MB = 1024 * 1024


def _policy(**changes: int) -> MediaPolicy:
    values = {"max_megapixels": 50, "workers": 2, "worker_memory_mb": 256, "worker_seconds": 30}
    return MediaPolicy(**{**values, **changes})


async def _report(workers: MediaWorkers, request: bytes) -> dict:
    outcome = await workers.clean(request)
    assert isinstance(outcome, CleanFile), outcome
    return json.loads(outcome.data)


@pytest.fixture
async def workers():
    pool = MediaWorkers(_policy(), job=job)
    await pool.start()
    yield pool
    await pool.close()


async def test_a_worker_holds_no_secret_and_runs_under_its_limits(monkeypatch) -> None:
    """A fresh fork server is started while the bot's environment holds its secrets: the
    worker sees none of them, imports none of the key code, and cannot raise its limits."""
    monkeypatch.setenv("TIPLINE_MASTER_KEY", "c2VjcmV0LWtleS1tYXRlcmlhbA==")
    monkeypatch.setenv("TIPLINE_BOT_TOKEN", "123:secret")
    monkeypatch.setenv("HTTPS_PROXY", "http://user:password@proxy.example:3128")
    forkserver._forkserver._stop()  # the next start is a new fork server, under this env
    pool = MediaWorkers(_policy(), job=job)
    await pool.start()
    try:
        report = await _report(pool, b"env")
    finally:
        await pool.close()
    assert not [name for name in report["environment"] if "TIPLINE" in name or "PROXY" in name]
    assert not [name for name in report["modules"] if name.startswith(("bot.crypto", "bot.config"))]
    soft, hard = report["address_space"]
    assert soft == hard, "the worker cannot raise its own limit"
    assert 256 * MB < soft < 256 * MB + 2048 * MB
    assert report["core"] == [0, 0]
    assert report["niceness"] == WORKER_NICENESS


async def test_a_heavy_image_hits_the_memory_limit_and_is_refused(workers) -> None:
    """49 MP of RGBA passes the pixel check but needs about 400 MB to rebuild: over the
    256 MB the workers may use here, so it is refused, and the next file is fine."""
    heavy = files.png(7_000, 7_000, colour_type=6, depth=8)
    assert len(heavy) < 400_000
    outcome = await workers.clean(heavy)
    assert outcome == Refused(Refusal.TOO_HEAVY)
    assert isinstance(await workers.clean(files.jpeg()), CleanFile)
    pids = workers.worker_pids()
    for _ in range(50):  # a worker started for the last file may still be starting up
        if all(address_space_limit(pid) is not None for pid in pids):
            break
        await asyncio.sleep(0.1)
    for pid in pids:
        limit = address_space_limit(pid)
        assert limit is not None and peak_rss(pid) < limit


async def test_a_worker_killed_mid_file_is_replaced_and_the_file_refused(workers) -> None:
    assert await workers.clean(b"die") == Refused(Refusal.TOO_HEAVY)
    assert workers.replaced == 1, "the pool was replaced; the file failed again alone"
    assert isinstance(await workers.clean(files.jpeg()), CleanFile)


async def test_a_file_that_takes_too_long_is_refused_and_its_worker_killed() -> None:
    pool = MediaWorkers(_policy(worker_seconds=1), job=job)
    await pool.start()
    try:
        began = time.monotonic()
        assert await pool.clean(b"sleep:30") == Refused(Refusal.TOO_HEAVY)
        assert time.monotonic() - began < 5
        assert pool.replaced == 1
        assert isinstance(await pool.clean(files.jpeg()), CleanFile)
    finally:
        await pool.close()


async def test_at_most_two_files_are_cleaned_at_once_and_the_others_wait(workers) -> None:
    reports = await asyncio.gather(*[_report(workers, b"sleep:0.3") for _ in range(6)])
    moments = sorted([(r["began"], 1) for r in reports] + [(r["ended"], -1) for r in reports])
    running = peak = 0
    for _, change in moments:
        running += change
        peak = max(peak, running)
    assert peak <= 2
    assert len({r["pid"] for r in reports}) <= 2


async def test_an_innocent_file_beside_a_crash_is_cleaned_on_its_second_try(workers) -> None:
    innocent = asyncio.ensure_future(workers.clean(b"sleep:0.5"))
    await asyncio.sleep(0.1)
    assert await workers.clean(b"die") == Refused(Refusal.TOO_HEAVY)
    assert isinstance(await innocent, CleanFile)


async def test_a_stopped_pool_kills_a_file_in_progress_at_once() -> None:
    pool = MediaWorkers(_policy(), job=job)
    await pool.start()
    pending = asyncio.ensure_future(pool.clean(b"sleep:30"))
    await asyncio.sleep(0.3)
    began = time.monotonic()
    await pool.close()
    assert time.monotonic() - began < 5
    with pytest.raises(RuntimeError):
        await pending


_KILLED_BOT = """
import asyncio, os, signal
from multiprocessing import forkserver
from bot.domain.policy import MediaPolicy
from bot.media.worker import MediaWorkers
from tests import files

async def main():
    pool = MediaWorkers(MediaPolicy(max_megapixels=50, workers=2, worker_memory_mb=256,
                                    worker_seconds=30))
    await pool.start()
    await asyncio.gather(pool.clean(files.jpeg()), pool.clean(files.pdf()))
    pids = [*pool.worker_pids(), forkserver._forkserver._forkserver_pid]
    print(" ".join(map(str, pids)), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

if __name__ == "__main__":
    asyncio.run(main())
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_bot_killed_with_kill_9_leaves_no_worker_behind(tmp_path) -> None:
    """Without the watch on the bot, its workers (and through them the fork server) would
    wait forever for work that cannot come."""
    script = tmp_path / "killed_bot.py"
    script.write_text(_KILLED_BOT, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=os.getcwd(),
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    pids = [int(pid) for pid in done.stdout.split()]
    assert len(pids) == 3, done.stderr
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in pids if _alive(pid)], "a worker or the fork server lived on"

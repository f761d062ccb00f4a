"""The worker processes that decode and clean files, and the pool the bot hands files to.

Every file a tipster sends is hostile input to a stack of C decoders (libjpeg, libpng,
libheif, libavif, openjpeg, qpdf, FFmpeg). They run here, never in the bot's own process:

- **Processes from a fork server.** Workers are forked from multiprocessing's fork server,
  a fresh interpreter started once, with an environment stripped of everything but a short
  list (no `TIPLINE_*` variable, no token, no key, no proxy credentials), and with the
  cleaners imported in advance. So a worker holds no key, no database handle and no tip
  other than the file it is given, and a replacement worker costs milliseconds, not the
  second a new interpreter importing FFmpeg and libheif would. (`fork` would copy the bot's
  memory, keys included; `spawn` would start every replacement from scratch.)
- **A memory limit.** Each worker limits its address space (`RLIMIT_AS`) to what it holds
  after start-up plus `[media] worker_memory_mb`: an allocation beyond it fails, which the
  cleaners report as too heavy, and a decoder that dies of it takes only its worker down.
  Core dumps are off (they would write the file to disk), and workers run at a lower
  priority, so the bot keeps answering on a small machine.
- **Gone with the bot.** A worker exits as soon as the bot's process ends, even by
  `kill -9`, and the fork server follows once its workers are gone.
- **One or two at a time.** At most `[media] workers` files are in the pool; the others wait
  here, not in the pool, so a worker's death fails only files already in it. The pool is
  replaced, and each of those files is tried once more, alone in a pool of its own: the file
  that killed the worker kills it again and is refused, a file that only shared the pool with
  it is cleaned. A file that takes longer than `[media] worker_seconds` is refused and its
  workers are killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import resource
import select
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import forkserver

from bot.domain.media import Outcome, Refusal, Refused
from bot.domain.policy import MediaPolicy

log = logging.getLogger(__name__)

# What the fork server (and so every worker) keeps of the bot's environment.
_ENVIRONMENT_KEPT = {"PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "LD_LIBRARY_PATH"}
_ENVIRONMENT_PREFIXES = ("LC_", "PYTHON")
# Imported by the fork server before it forks any worker. (Not "__main__": the fork server
# of Python 3.11 never loads it; the CLI names its main module so that workers skip it.)
_PRELOAD = ["bot.media.files"]
# Lower priority than the bot (0): a worker busy with a large file never starves the loop.
WORKER_NICENESS = 10


def start_worker(memory_bytes: int, max_pixels: int, bot_pid: int) -> None:
    """The initializer of each worker: the watch on the bot, the cleaners (already imported
    by the fork server, unless its preload failed), then the limits, measured from what the
    worker holds now."""
    _exit_with(bot_pid)
    from PIL import Image

    import bot.media.files  # noqa: F401

    Image.MAX_IMAGE_PIXELS = max_pixels
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    limit = address_space() + memory_bytes
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.nice(WORKER_NICENESS)


def _exit_with(bot_pid: int) -> None:
    """Exit as soon as the bot's process ends, however it ends.

    A pool's workers wait for work on a pipe they also hold the other end of, and each holds
    the fork server's lifeline: after a `kill -9` of the bot, nothing else would ever stop
    them (or, through them, the fork server). A pidfd becomes readable when the process
    ends; where there is none, the bot's pid is checked every second.
    """
    try:
        pidfd: int | None = os.pidfd_open(bot_pid)
    except (AttributeError, OSError):
        pidfd = None

    def watch() -> None:
        if pidfd is not None:
            select.select([pidfd], [], [])
        else:
            while True:
                time.sleep(1)
                try:
                    os.kill(bot_pid, 0)
                except ProcessLookupError:
                    break
        os._exit(0)

    threading.Thread(target=watch, name="watch-bot", daemon=True).start()


def address_space() -> int:
    """This process's virtual memory size in bytes (Linux: /proc/self/statm)."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        pages = int(statm.read().split()[0])
    return pages * resource.getpagesize()


def clean_in_worker(data: bytes, max_pixels: int) -> Outcome:
    from bot.media.files import clean_file

    return clean_file(data, max_pixels)


@contextlib.contextmanager
def _environment_without_secrets() -> Iterator[None]:
    saved = dict(os.environ)
    for name in saved:
        if name not in _ENVIRONMENT_KEPT and not name.startswith(_ENVIRONMENT_PREFIXES):
            del os.environ[name]
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class MediaWorkers:
    """The pool of cleaning workers one running bot owns (started and closed by bot.app)."""

    def __init__(
        self, policy: MediaPolicy, *, job: Callable[[bytes, int], Outcome] = clean_in_worker
    ) -> None:
        """`job` is what a worker runs on each file (tests give their own; it must be a
        module-level function the worker can import)."""
        self._policy = policy
        self._job = job
        self._slots = asyncio.Semaphore(policy.workers)
        self._context = multiprocessing.get_context("forkserver")
        self._pool: ProcessPoolExecutor | None = None
        self._alone: set[ProcessPoolExecutor] = set()
        self.replaced = 0

    async def start(self) -> None:
        """Start the fork server (once per process) and the pool; workers start on demand."""
        await asyncio.to_thread(self._start_fork_server)
        self._pool = self._new_pool()

    def _start_fork_server(self) -> None:
        self._context.set_forkserver_preload(_PRELOAD)
        with _environment_without_secrets():
            forkserver.ensure_running()

    def _new_pool(self, workers: int | None = None) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=workers or self._policy.workers,
            mp_context=self._context,
            initializer=start_worker,
            initargs=(self._policy.worker_memory_bytes, self._policy.max_pixels, os.getpid()),
        )

    async def clean(self, data: bytes) -> Outcome:
        """The file cleaned or refused; never raises for what the file does to a worker."""
        async with self._slots:
            pool = self._pool
            if pool is None:
                raise RuntimeError("the media workers are not running")
            try:
                return await self._run(pool, data)
            except BrokenProcessPool:
                log.warning("a cleaning worker died (memory limit or decoder crash); replaced")
                self._replace(pool)
            if self._pool is None:
                raise RuntimeError("the media workers were stopped")
            # Tried once more, alone in a pool of its own: a file that kills its worker again
            # is refused; a file that only shared the pool with such a file is cleaned.
            alone = self._new_pool(workers=1)
            self._alone.add(alone)
            try:
                return await self._run(alone, data)
            except BrokenProcessPool:
                return Refused(Refusal.TOO_HEAVY)
            finally:
                self._alone.discard(alone)
                alone.shutdown(wait=False, cancel_futures=True)

    async def _run(self, pool: ProcessPoolExecutor, data: bytes) -> Outcome:
        future = pool.submit(self._job, data, self._policy.max_pixels)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self._policy.worker_seconds)
        except TimeoutError:
            log.warning(
                "a file took over %d s to clean; refused, and its worker replaced",
                self._policy.worker_seconds,
            )
            _kill(pool)
            self._replace(pool)
            return Refused(Refusal.TOO_HEAVY)

    def _replace(self, pool: ProcessPoolExecutor) -> None:
        if self._pool is not pool:
            return  # another file already replaced it, or it is not the shared pool
        pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool()
        self.replaced += 1

    def worker_pids(self) -> list[int]:
        """The workers alive now (for tests and diagnostics)."""
        pool = self._pool
        return list((pool._processes or {}).keys()) if pool is not None else []

    async def close(self) -> None:
        """Stop the workers; a file still being cleaned is abandoned (nobody waits for it)."""
        pool, self._pool = self._pool, None
        for alone in list(self._alone):
            _kill(alone)
        if pool is not None:
            _kill(pool)
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)


def _kill(pool: ProcessPoolExecutor) -> None:
    for process in list((pool._processes or {}).values()):
        with contextlib.suppress(OSError, ValueError):
            process.kill()

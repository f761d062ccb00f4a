"""Decompression bombs sent at once: refused kindly, the bot keeps answering, memory stays
bounded (the bot's own process barely moves; each worker stays under its limit)."""

from __future__ import annotations

import asyncio
import resource
import time
from multiprocessing import forkserver

import pytest

from bot.telegram.i18n import Catalogue
from tests import files
from tests.e2e.conftest import REVIEW_CHAT, make_settings, write_policy
from tests.e2e.flows import begin
from tests.processes import address_space_limit, children, peak_rss

CATALOGUE = Catalogue.load()
MB = 1024 * 1024
WORKER_MEMORY_MB = 256
TIPSTERS = 12


@pytest.fixture
def settings(tmp_path, fake):
    policy = write_policy(
        tmp_path / "media-policy.toml", f"[media]\nworker_memory_mb = {WORKER_MEMORY_MB}\n"
    )
    return make_settings(tmp_path, fake, policy_file=policy)


async def test_ten_bombs_and_two_heavy_images_at_once_leave_the_bot_alive(fake, bot) -> None:
    # 30000 x 30000 (900 MP) in about 100 KB: refused from its header.
    bomb = files.png(30_000, 30_000)
    # 7000 x 7000 RGBA (49 MP): under the pixel limit, but rebuilding it needs about 400 MB,
    # more than the 256 MB a worker may use here.
    heavy = files.png(7_000, 7_000, colour_type=6, depth=8)
    assert len(bomb) < 200_000 and len(heavy) < 400_000
    tipsters = [fake.add_user(7_100_000_000 + n, f"T{n}") for n in range(TIPSTERS)]
    for tipster in tipsters:
        await begin(fake, tipster, area=None)
    bot_peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    began = time.monotonic()
    for n, tipster in enumerate(tipsters):
        data = bomb if n < 10 else heavy
        fake.user_sends_document(tipster, data, f"scan-{n}.png", "image/png")
    # While the files are cleaned, someone checks a receipt: the bot answers at once.
    other = fake.add_user(7_200_000_000, "Other")
    await asyncio.sleep(0.05)
    asked = time.monotonic()
    fake.user_sends_text(other, "/status K7QD-3M9X-K7QD-3M9X-K7QD")
    unknown = CATALOGUE.text("en", "error.receipt_unknown")
    await fake.wait_for_message(other.id, lambda m: m["_plain"] == unknown, timeout=10)
    status_seconds = time.monotonic() - asked

    too_large = CATALOGUE.text("en", "error.image_too_large", limit=50)
    too_heavy = CATALOGUE.text("en", "error.file_too_heavy")
    for n, tipster in enumerate(tipsters):
        expected = too_large if n < 10 else too_heavy
        await fake.wait_for_message(tipster.id, lambda m, e=expected: m["_plain"] == e, timeout=30)
    all_refused_seconds = time.monotonic() - began

    # Still alive and answering afterwards, and nothing reached the reviewers.
    fake.user_sends_text(other, "/status K7QD-3M9X-K7QD-3M9X-K7QD")
    await fake.wait_for_message(other.id, lambda m: m["_plain"] == unknown, timeout=10)
    assert not [m for m in fake.messages_in(REVIEW_CHAT) if m.get("_upload")]

    bot_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - bot_peak_before
    workers = children(forkserver._forkserver._forkserver_pid)
    assert workers, "the workers are children of the fork server"
    peaks = [peak_rss(pid) for pid in workers]
    limits = [address_space_limit(pid) for pid in workers]
    print(
        f"\nbombs: /status answered in {status_seconds:.2f} s, all refused in"
        f" {all_refused_seconds:.2f} s; bot process peak grew {bot_growth / MB:.0f} MB;"
        f" workers peak {[round(p / MB) for p in peaks]} MB under limits"
        f" {[round(limit / MB) if limit else None for limit in limits]} MB"
    )
    assert status_seconds < 3
    assert bot_growth < 100 * MB, "nothing was decoded in the bot's own process"
    for peak, limit in zip(peaks, limits, strict=True):
        assert limit is not None and limit < 1024 * MB
        assert peak < limit

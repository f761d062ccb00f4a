"""A redelivered update changes nothing twice; the inbox holds nothing after handling.

Telegram delivers a message in one update only and redelivers an update under its own id
(until getUpdates confirms it), so the update id is the marker; no marker names a chat."""

from __future__ import annotations

import copy
import sqlite3

import pytest

from tests.e2e.conftest import RunningBot
from tests.e2e.flows import added, begin, press, wait_button
from tests.images import jpeg_with_gps

TIPSTER_ID = 8300000001


async def test_an_update_delivered_twice_is_added_once(fake, bot: RunningBot, settings) -> None:
    tipster = fake.add_user(TIPSTER_ID, "T")
    await begin(fake, tipster)
    message = copy.deepcopy(fake.user_sends_text(tipster, "only once please"))
    # The same update again, under its own id, as after a crash before it was confirmed.
    fake.inject_update({"update_id": fake.last_update_id, "message": message})
    await added(fake, tipster)
    fake.user_sends_text(tipster, "second part")
    acknowledgement = await added(fake, tipster)
    assert "2 part" in acknowledgement["_plain"], acknowledgement["_plain"]
    press(fake, tipster, "v1:t:review")
    summary = await wait_button(fake, tipster.id, "v1:t:submit")
    assert summary["_plain"].count("only once please") == 1
    await bot.stop()
    with sqlite3.connect(settings.data_dir / "tipline.sqlite3") as conn:
        assert conn.execute("SELECT COUNT(*) FROM inbox").fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM applied_updates").fetchone()[0] > 0


@pytest.mark.parametrize("kind", ["text", "photo"])
async def test_a_first_message_delivered_twice_makes_one_draft(
    fake, bot: RunningBot, settings, kind: str
) -> None:
    """The message that starts a draft (no /report before it) is handled again after a crash
    before it was confirmed: still one draft, one copy of each part, no stray file."""
    tipster = fake.add_user(TIPSTER_ID, "T")
    if kind == "text":
        sent = fake.user_sends_text(tipster, "the first message, only once")
    else:
        sent = fake.user_sends_photo(tipster, jpeg_with_gps(), caption="the first message")
    message = copy.deepcopy(sent)
    fake.inject_update({"update_id": fake.last_update_id, "message": message})
    await wait_button(fake, tipster.id, "v1:t:cat:drug_trafficking")
    # The redelivery is handled before this press (one sender's updates keep their order).
    press(fake, tipster, "v1:t:cat:drug_trafficking")
    await wait_button(fake, tipster.id, "v1:t:area-skip")
    press(fake, tipster, "v1:t:area-skip")
    await wait_button(fake, tipster.id, "v1:t:review")
    press(fake, tipster, "v1:t:review")
    summary = await wait_button(fake, tipster.id, "v1:t:submit")
    assert summary["_plain"].count("the first message") == 1, summary["_plain"]
    kept = [m for m in fake.messages_in(tipster.id) if m["_plain"].startswith("I have kept")]
    assert len(kept) == 1
    await bot.stop()
    with sqlite3.connect(settings.data_dir / "tipline.sqlite3") as conn:
        assert conn.execute("SELECT COUNT(*) FROM drafts").fetchone()[0] == 1
        parts = conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
        assert parts == (1 if kind == "text" else 2)
        assert conn.execute("SELECT COUNT(*) FROM inbox").fetchone()[0] == 0
    stored = [p for p in (settings.data_dir / "blobs").rglob("*") if p.is_file()]
    assert len(stored) == (0 if kind == "text" else 1)

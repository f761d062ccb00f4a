"""A redelivered update changes nothing twice; the inbox holds nothing after handling.

Telegram delivers a message in one update only and redelivers an update under its own id
(until getUpdates confirms it), so the update id is the marker; no marker names a chat."""

from __future__ import annotations

import copy
import sqlite3

from tests.e2e.conftest import RunningBot
from tests.e2e.flows import added, begin, press, wait_button

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

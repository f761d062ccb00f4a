"""What a seized server reveals: the attacker holds the database, the WAL, the data directory
and the master key together, and plays every computation the keys allow.

A day after a tip sent with "Do not contact me", nothing in those files links it to the
Telegram account that sent it: no pseudonym or marker of the account can be recomputed, under
any key left, for any purpose or period, and the account's id is in no file in any encoding.
What `/forget` and a submission deleted is in neither the database file nor the WAL.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import sqlite3
import struct
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.crypto.vault import IndexKeys, KeyRing, Vault, WrappedKey, keyed_pseudonym
from tests.e2e.conftest import (
    FINANCE_CHAT,
    REVIEW_CHAT,
    Clock,
    RunningBot,
    make_settings,
    write_policy,
)
from tests.e2e.flows import added, begin, press, submit, submit_from_summary, wait_button

TIPSTER_ID = 8_500_000_001  # above 2**32: SQLite would store it in 6 bytes
TEXT = "CANARY-SEIZED-31 the warehouse at pier 9"
HOUR = 3600
DAY = 86_400
# Every purpose a pseudonym of a tipster had or has, and the counters' buckets.
PURPOSES = ("draft", "answer", "tips", "receipt", "receipt_fail", "code_fail", "inbox")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def bot(fake, tmp_path, clock):  # a movable clock, sweeps every second, a digest soon
    hour = (datetime.fromtimestamp(clock(), UTC).hour + 1) % 24
    policy = write_policy(
        tmp_path / "seized-policy.toml",
        f"[jobs]\nsweep_seconds = 1\n[digests]\nfinance_hour_utc = {hour}\n",
    )
    running = RunningBot(make_settings(tmp_path, fake, policy_file=policy), clock=clock)
    await running.start()
    yield running
    await running.stop()


def _digests(fake) -> list:
    return [m for m in fake.messages_in(FINANCE_CHAT) if "Daily digest" in m["_plain"]]


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def _read_only(database: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)


def _periods(moment: float) -> list[str]:
    """Every period string a pseudonym could carry around `moment`: none, days, hours."""
    days = [
        datetime.fromtimestamp(moment + d * DAY, UTC).strftime("%Y-%m-%d") for d in range(-2, 3)
    ]
    hours = [
        datetime.fromtimestamp(moment + h * HOUR, UTC).strftime("%Y-%m-%dT%H")
        for h in range(-3, 30)
    ]
    return ["", *days, *hours]


def _attacker_keys(database: Path, ring: KeyRing) -> tuple[Vault, dict[str, bytes]]:
    """Every HMAC key the files and the master key give: the index secret's subkeys and every
    window key still stored, unwrapped with the real vault."""
    with _read_only(database) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        key_id, blob = conn.execute(
            "SELECT key_id, wrapped_key FROM vault_keys WHERE name = 'index'"
        ).fetchone()
        windows = (
            conn.execute("SELECT name, key_id, wrapped_key FROM window_keys").fetchall()
            if "window_keys" in tables
            else []
        )
    secret = Vault(ring).unwrap("vault:index", WrappedKey(key_id, bytes(blob))).material
    index = IndexKeys.from_secret(secret)
    keys = {
        "index pseudonym key": index.pseudonym_key,
        "index receipt key": index.receipt_key,
        "index audit key": index.audit_key,
    }
    vault = Vault(ring, secret)
    for name, window_key_id, wrapped in windows:
        keys[f"window key {name}"] = vault.unwrap(
            name, WrappedKey(window_key_id, bytes(wrapped))
        ).material
    return vault, keys


def _candidates(
    vault: Vault, keys: dict[str, bytes], user_id: int, moment: float, message_ids: range
) -> dict[bytes, str]:
    """Every pseudonym and marker of the user the attacker can compute."""
    found: dict[bytes, str] = {}
    for key_name, key in keys.items():
        for purpose in PURPOSES:
            for period in _periods(moment):
                value = keyed_pseudonym(key, purpose, user_id, period)
                found[value] = f"{purpose}:{period} under the {key_name}"
        for message_id in message_ids:
            text = f"applied:m:{user_id}:{message_id}".encode()
            value = hmac.new(key, text, hashlib.sha256).digest()[:16]
            found[value] = f"message marker {message_id} under the {key_name}"
    for message_id in message_ids:
        found[vault.marker(f"m:{user_id}:{message_id}")] = f"message marker {message_id}"
    return found


def _id_encodings(user_id: int) -> dict[str, bytes]:
    return {
        "decimal": str(user_id).encode(),
        "int64 big endian": struct.pack(">q", user_id),
        "int64 little endian": struct.pack("<q", user_id),
        "int48 big endian (SQLite's record)": user_id.to_bytes(6, "big"),
    }


def _rows(database: Path) -> list[tuple[str, object]]:
    """(table.column, value) of every cell of every table."""
    cells: list[tuple[str, object]] = []
    with _read_only(database) as conn:
        tables = [
            row[0]
            for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not row[0].startswith("sqlite_")
        ]
        for table in tables:
            cursor = conn.execute(f"SELECT * FROM {table}")  # names from the schema
            columns = [d[0] for d in cursor.description]
            for row in cursor:
                cells += [(f"{table}.{c}", v) for c, v in zip(columns, row, strict=True)]
    return cells


def _links(data_dir: Path, ring: KeyRing, moment: float, message_ids: range) -> list[str]:
    """Everything in the tables and files that the attacker can tie to the tipster's id."""
    database = data_dir / "tipline.sqlite3"
    vault, keys = _attacker_keys(database, ring)
    candidates = _candidates(vault, keys, TIPSTER_ID, moment, message_ids)
    encodings = _id_encodings(TIPSTER_ID)
    cells = _rows(database)
    assert cells, "the attacker reads the tables"
    links = []
    for column, value in cells:
        if isinstance(value, bytes):
            links += [f"{why} in {column}" for c, why in candidates.items() if c in value]
            links += [f"id ({how}) in {column}" for how, e in encodings.items() if e in value]
        elif value == TIPSTER_ID or (isinstance(value, str) and str(TIPSTER_ID) in value):
            links.append(f"the id itself in {column}")
    files = _files(data_dir)
    assert database in files and (data_dir / "tipline.sqlite3-wal") in files
    for path in files:
        content = path.read_bytes()
        links += [f"id ({how}) in {path.name}" for how, e in encodings.items() if e in content]
        links += [f"{why} in {path.name}" for c, why in candidates.items() if c in content]
    return links


async def test_a_day_after_a_no_contact_tip_nothing_links_it_to_the_account(
    fake, bot: RunningBot, clock
) -> None:
    tipster = fake.add_user(TIPSTER_ID, "T")
    await begin(fake, tipster)
    fake.user_sends_text(tipster, TEXT)
    await added(fake, tipster)
    receipt = await submit(fake, tipster, contact=False)
    await fake.wait_for_message(REVIEW_CHAT, lambda m: TEXT in m["_plain"], timeout=10)
    fake.user_sends_text(tipster, "/status 0000-0000-0000-0000-0000")  # counted as a failure
    await fake.wait_for_message(tipster.id, lambda m: "No tip matches" in m["_plain"])
    fake.user_sends_text(tipster, f"/status {receipt}")
    await fake.wait_for_message(tipster.id, lambda m: "No contact is stored" in m["_plain"])
    submitted = clock()
    newest_message = max(m["message_id"] for m in fake.messages_in(tipster.id))
    message_ids = range(1, newest_message + 50)
    data_dir = bot.settings.data_dir
    ring = KeyRing.from_file(bot.settings.key_file)

    # Seized the same day, the counters do link the account (the limits need them): the
    # attacker's computation finds what is there.
    today = await asyncio.to_thread(_links, data_dir, ring, submitted, message_ids)
    assert any(link.startswith("tips:") and "rate_counters" in link for link in today), today
    assert any(link.startswith("receipt:") and "rate_counters" in link for link in today), today

    digests = len(_digests(fake))
    clock.advance(25 * HOUR)
    # A positive signal first: the finance digest was due within the hour, the next one a day
    # later, and each sweep catches up one; the second digest means a whole sweep (window keys
    # included) ran on the moved clock.
    await fake.wait_until(lambda: len(_digests(fake)) >= digests + 2, timeout=15)
    assert await asyncio.to_thread(_links, data_dir, ring, submitted, message_ids) == []


@pytest.fixture
async def quiet_bot(settings):
    """The shared settings: sweeps every minute, so the checkpoint that removes what was
    deleted can only be the one that follows the erasure."""
    running = RunningBot(settings)
    await running.start()
    yield running
    await running.stop()


async def test_what_forget_and_a_submission_deleted_is_in_no_file(
    fake, quiet_bot: RunningBot, settings
) -> None:
    tipster = fake.add_user(TIPSTER_ID, "T")
    await begin(fake, tipster)
    fake.user_sends_text(tipster, TEXT)
    await added(fake, tipster)
    press(fake, tipster, "v1:t:review")
    await wait_button(fake, tipster.id, "v1:t:submit")
    database = settings.data_dir / "tipline.sqlite3"

    def draft_row() -> tuple[bytes, bytes]:
        with _read_only(database) as conn:
            owner, state = conn.execute("SELECT owner, sealed_state FROM drafts").fetchone()
        return bytes(owner), bytes(state)

    owner, state = await asyncio.to_thread(draft_row)
    deleted = {"draft owner": owner, "draft state": state}
    receipt = await submit_from_summary(fake, tipster)

    def anywhere(values: dict[str, bytes]) -> list[str]:
        found = []
        for path in (database, database.with_name(database.name + "-wal")):
            content = path.read_bytes() if path.exists() else b""
            found += [f"{name} in {path.name}" for name, v in values.items() if v in content]
        return found

    # The submission deleted the draft; a checkpoint follows within seconds.
    await fake.wait_until(lambda: anywhere(deleted) == [], timeout=10)

    def contact() -> bytes:
        with _read_only(database) as conn:
            return bytes(conn.execute("SELECT sealed_contact FROM reports").fetchone()[0])

    erased = {"sealed contact": await asyncio.to_thread(contact)}
    assert anywhere(erased) != [], "the contact is stored until /forget"
    fake.user_sends_text(tipster, f"/forget {receipt}")
    await fake.wait_for_message(tipster.id, lambda m: m["_plain"].startswith("Done."))
    await fake.wait_until(lambda: anywhere(erased) == [], timeout=10)
    assert anywhere(deleted) == []

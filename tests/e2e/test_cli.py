"""The real command line in a subprocess: one-line refusals, and a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import socket
import stat
import sys
from pathlib import Path

import pytest

from bot.app import StartupError
from bot.crypto.vault import new_master_key_text
from storage.db import shipped_migrations
from tests.e2e.conftest import FINANCE_CHAT, REVIEW_CHAT, RunningBot, run_cli, write_policy
from tests.fake_telegram import FakeTelegram


def _env(tmp_path: Path, fake: FakeTelegram | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIPLINE_")}
    if fake is not None:
        env.update(
            TIPLINE_BOT_TOKEN=fake.token,
            TIPLINE_API_URL=fake.url,
            TIPLINE_REVIEW_CHAT_ID=str(REVIEW_CHAT),
            TIPLINE_FINANCE_CHAT_ID=str(FINANCE_CHAT),
            TIPLINE_POLICY_FILE=str(write_policy(tmp_path / "policy.toml")),
        )
    env.update(extra)
    return env


async def test_keygen_prints_a_usable_key(tmp_path) -> None:
    code, out, _ = await run_cli(tmp_path, _env(tmp_path, None), "keygen")
    assert code == 0
    assert len(base64.b64decode(out.strip(), validate=True)) == 32


async def test_missing_setting_is_one_clear_line(tmp_path) -> None:
    code, _, err = await run_cli(tmp_path, _env(tmp_path, None))
    assert code == 2
    first = err.splitlines()[0]
    assert first.startswith("tipline: TIPLINE_BOT_TOKEN is missing: it should be")
    assert ".env.example" in err
    assert "Traceback" not in err


async def test_wrong_token_is_reported_without_a_traceback(tmp_path, fake) -> None:
    env = _env(tmp_path, fake, TIPLINE_BOT_TOKEN="999999:WRONG-TOKEN")
    code, _, err = await run_cli(tmp_path, env)
    assert code == 2
    assert "the Bot API refused the token" in err
    assert "Traceback" not in err and "WRONG-TOKEN" not in err


async def test_unreachable_review_chat_is_named(tmp_path, fake) -> None:
    env = _env(tmp_path, fake, TIPLINE_REVIEW_CHAT_ID="-1009999999999")
    code, _, err = await run_cli(tmp_path, env)
    assert code == 2
    assert "TIPLINE_REVIEW_CHAT_ID" in err and "Traceback" not in err
    assert "-1009999999999" not in err


async def test_bot_not_in_finance_chat_is_named(tmp_path, fake) -> None:
    fake.set_member(FINANCE_CHAT, fake.bot_id, "left")
    code, _, err = await run_cli(tmp_path, _env(tmp_path, fake))
    assert code == 2
    assert "TIPLINE_FINANCE_CHAT_ID" in err


async def test_migrate_reports_the_schema_version(tmp_path, fake) -> None:
    code, out, _ = await run_cli(tmp_path, _env(tmp_path, fake), "migrate")
    latest = shipped_migrations()[-1].version
    assert code == 0 and f"schema version {latest}" in out
    assert (tmp_path / "data" / "tipline.sqlite3").exists()
    written = list((tmp_path / "data").rglob("*"))
    loose = [str(p) for p in written if p.stat().st_mode & 0o077]
    assert not loose, f"readable by others (umask 077 expected): {loose}"


async def test_migrate_rotate_key_and_audit_verify_on_postgresql(
    tmp_path, fake, postgres_url
) -> None:
    """TIPLINE_DATABASE_URL points every command at PostgreSQL: nothing is written to a SQLite
    file, and backup says to use PostgreSQL's own tools."""
    env = _env(tmp_path, fake, TIPLINE_DATABASE_URL=postgres_url)
    code, out, err = await run_cli(tmp_path, env, "migrate")
    latest = shipped_migrations()[-1].version
    assert code == 0 and f"schema version {latest}" in out, err
    code, out, err = await run_cli(tmp_path, env, "migrate")
    assert code == 0 and f"schema version {latest}" in out, err
    assert (await run_cli(tmp_path, env, "audit-verify"))[0] == 0  # creates the index secret
    code, out, err = await run_cli(tmp_path, env, "rotate-key")
    assert code == 0 and "re-wrapped" in out, err
    code, out, _ = await run_cli(tmp_path, env, "audit-verify")
    assert code == 0 and "intact" in out
    code, _, err = await run_cli(tmp_path, env, "backup", str(tmp_path / "backup"))
    assert code == 2 and "pg_dump" in err
    assert not (tmp_path / "data" / "tipline.sqlite3").exists()


async def test_a_database_url_that_is_wrong_or_unreachable_is_one_clear_line(
    tmp_path, fake
) -> None:
    env = _env(tmp_path, fake, TIPLINE_DATABASE_URL="mysql://somewhere/db")
    code, _, err = await run_cli(tmp_path, env, "migrate")
    assert code == 2 and "TIPLINE_DATABASE_URL" in err and "Traceback" not in err
    with socket.socket() as sock:  # a port of 127.0.0.1 nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        url = f"postgresql://tipline:PASSWORD-CANARY@127.0.0.1:{port}/tipline"
        code, _, err = await run_cli(
            tmp_path, _env(tmp_path, fake, TIPLINE_DATABASE_URL=url), "migrate"
        )
    assert code == 2 and f"127.0.0.1:{port}/tipline" in err and "Traceback" not in err
    assert "PASSWORD-CANARY" not in err


async def test_a_key_file_others_can_read_is_refused(tmp_path, fake) -> None:
    key = tmp_path / "secrets" / "master.key"
    key.parent.mkdir()
    key.write_text(new_master_key_text() + "\n")
    key.chmod(0o644)
    code, _, err = await run_cli(tmp_path, _env(tmp_path, fake), "audit-verify")
    assert code == 2 and "chmod 600" in err and "Traceback" not in err


async def test_the_key_lives_apart_from_the_data_and_is_never_replaced(tmp_path, fake) -> None:
    """By default the key is made outside the working directory. A key file inside the data
    directory is warned about, and a database whose key is missing is never given a new one
    (it could not open the tips)."""
    home = tmp_path.parent / f"{tmp_path.name}-home"  # a configuration home elsewhere
    env = _env(tmp_path, fake, XDG_CONFIG_HOME=str(home / ".config"))
    code, _, err = await run_cli(tmp_path, env, "audit-verify")
    key_file = home / ".config" / "tipline" / "master.key"
    assert code == 0 and key_file.exists() and not key_file.is_relative_to(tmp_path / "data")
    assert "copy of that folder holds both" not in err
    key_file.rename(tmp_path / "elsewhere.key")
    code, _, err = await run_cli(tmp_path, env, "audit-verify")
    assert code == 2 and "holds a database" in err and not key_file.exists(), err

    inside = tmp_path / "data" / "master.key"
    (tmp_path / "elsewhere.key").rename(inside)
    code, _, err = await run_cli(tmp_path, {**env, "TIPLINE_KEY_FILE": str(inside)}, "audit-verify")
    assert code == 0 and "inside the data directory" in err, err


async def test_run_answers_a_tipster_and_stops_cleanly_on_sigterm(tmp_path, fake) -> None:
    env = _env(tmp_path, fake)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        user = fake.add_user(4242424242, "Phone")
        fake.user_sends_text(user, "/start")
        welcome = await fake.wait_for_message(user.id, timeout=30)
        assert "v1:t:report" in fake.button_data(welcome)
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    log = err.decode()
    key_file = Path(env["XDG_CONFIG_HOME"]) / "tipline" / "master.key"  # not beside ./data
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert log.count("Created a new master key") == 1 and str(key_file) in log
    assert fake.token not in log and "4242424242" not in log


async def test_rotate_key_and_backup(tmp_path, fake) -> None:
    env = _env(tmp_path, fake)
    assert (await run_cli(tmp_path, env, "audit-verify"))[0] == 0  # creates the key and the index
    key_file = Path(env["XDG_CONFIG_HOME"]) / "tipline" / "master.key"
    first = key_file.read_text().splitlines()
    code, out, err = await run_cli(tmp_path, env, "rotate-key")
    assert code == 0, err
    lines = key_file.read_text().splitlines()
    assert len(lines) == 2 and lines[1] == first[0]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "re-wrapped" in out and "remove those lines" in out
    key_file.write_text(lines[0] + "\n")  # the old key removed
    code, out, _ = await run_cli(tmp_path, env, "audit-verify")
    assert code == 0 and "intact" in out
    code, out, _ = await run_cli(tmp_path, env, "backup", str(tmp_path / "backup"))
    assert code == 0 and "does not contain the master key" in out
    assert (tmp_path / "backup" / "tipline.sqlite3").stat().st_size > 0
    code, _, err = await run_cli(tmp_path, env, "backup", str(tmp_path / "backup"))
    assert code == 2 and "already holds a backup" in err


async def test_commands_that_write_are_refused_beside_a_running_bot(tmp_path, fake, bot) -> None:
    """rotate-key (or a second bot) on the data directory of a running bot would lose data:
    the running bot keeps wrapping new keys under the old master key."""
    code, _, err = await run_cli(tmp_path, _env(tmp_path, fake), "rotate-key")
    assert code == 2 and "in use by another tipline process" in err, err
    second = RunningBot(bot.settings)
    with pytest.raises(StartupError, match="in use by another tipline process"):
        await second.start()

"""Settings: every variable read from the environment or .env; one clear line when wrong."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

GOOD = {
    "TIPLINE_BOT_TOKEN": "123456:ABC-def_ghi",
    "TIPLINE_REVIEW_CHAT_ID": "-1001",
    "TIPLINE_FINANCE_CHAT_ID": "-1002",
}


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in list(__import__("os").environ):
        if name.startswith("TIPLINE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_defaults_and_empty_optional_values(clean_env) -> None:
    for name, value in GOOD.items():
        clean_env.setenv(name, value)
    clean_env.setenv("TIPLINE_MASTER_KEY", "")
    clean_env.setenv("TIPLINE_POLICY_FILE", "")
    settings = load_settings()
    assert settings.api_url == "https://api.telegram.org"
    assert settings.bot_base_url == "https://api.telegram.org/bot"
    assert settings.file_base_url == "https://api.telegram.org/file/bot"
    assert settings.master_key is None and settings.policy_file is None
    assert settings.staff_language == "en"
    assert settings.key_file is None
    assert settings.key_path == Path(os.environ["XDG_CONFIG_HOME"]) / "tipline" / "master.key"


def test_dotenv_in_the_working_directory_is_read(clean_env, tmp_path) -> None:
    (tmp_path / ".env").write_text(
        "\n".join(f"{k}={v}" for k, v in GOOD.items()) + "\nTIPLINE_STAFF_LANGUAGE=ZH\n",
        encoding="utf-8",
    )
    settings = load_settings()
    assert settings.review_chat_id == -1001 and settings.staff_language == "zh"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("TIPLINE_BOT_TOKEN", None, "TIPLINE_BOT_TOKEN is missing"),
        ("TIPLINE_BOT_TOKEN", "not a token", "TIPLINE_BOT_TOKEN is not valid"),
        ("TIPLINE_REVIEW_CHAT_ID", "reviewers", "TIPLINE_REVIEW_CHAT_ID is not valid"),
        ("TIPLINE_FINANCE_CHAT_ID", None, "TIPLINE_FINANCE_CHAT_ID is missing"),
        ("TIPLINE_API_URL", "api.telegram.org", "TIPLINE_API_URL is not valid"),
        ("TIPLINE_MASTER_KEY", "c2hvcnQ=", "TIPLINE_MASTER_KEY is not valid"),
        ("TIPLINE_STAFF_LANGUAGE", "fr", "TIPLINE_STAFF_LANGUAGE is not valid"),
        ("TIPLINE_POLICY_FILE", "/nonexistent/policy.toml", "TIPLINE_POLICY_FILE is not valid"),
    ],
)
def test_a_bad_setting_is_named_in_one_line(clean_env, name, value, expected) -> None:
    for key, good in GOOD.items():
        clean_env.setenv(key, good)
    if value is None:
        clean_env.delenv(name)
    else:
        clean_env.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(expected)
    assert "\n" not in message
    assert "should be" in message

"""Settings from the environment (and .env in the working directory), checked at start."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.crypto import vault
from bot.domain.policy import bot_username

log = logging.getLogger(__name__)

ENV_PREFIX = "TIPLINE_"

# What each variable should look like, for the one-line message when it is missing or wrong.
EXPECTED = {
    "bot_token": "the token @BotFather gave you, like 123456789:AAE...",
    "api_url": "an http(s) URL of a Bot API server, like https://api.telegram.org",
    "review_chat_id": "the numeric id of the reviewers' group, like -1001234567890",
    "finance_chat_id": "the numeric id of the finance group, like -1001234567891",
    "data_dir": "a directory path, like ./data",
    "database_url": "empty (the SQLite file in the data directory) or a PostgreSQL URL, like"
    " postgresql://tipline@127.0.0.1:5432/tipline",
    "master_key": "base64 of 32 random bytes (make one with: tipline keygen)",
    "key_file": "a file path outside the data directory, like /etc/tipline/master.key",
    "staff_language": "en or zh",
    "policy_file": "the path of an existing policy.toml",
    "log_level": "DEBUG, INFO, WARNING or ERROR",
    "bot_username": "the bot's username from @BotFather, ending in bot, like tipline_bot",
}


# Where an earlier version created the key by default: beside ./data, so a copy of the working
# directory carried both. Still used when it is there, with a warning.
LEGACY_KEY_FILE = Path("./secrets/master.key")


def default_key_file() -> Path:
    """The key's default home: the user's configuration directory, outside the working
    directory and the data directory."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "tipline" / "master.key"


def _existing_file(value: Path | None) -> Path | None:
    if value is not None and not value.is_file():
        raise ValueError("no such file")
    return value


# The policy file, where given, must exist: the bot's and the poster's settings both read it.
PolicyFile = Annotated[Path | None, AfterValidator(_existing_file)]


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line naming the variable."""


class Settings(BaseSettings):
    """Everything the operator configures; nothing else is read from the environment."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    bot_token: SecretStr
    api_url: str = "https://api.telegram.org"
    review_chat_id: int
    finance_chat_id: int
    data_dir: Path = Path("./data")
    # None: the SQLite file in data_dir. A postgresql:// URL: that database (its password, if
    # the URL holds one, is kept out of logs and messages).
    database_url: SecretStr | None = None
    master_key: SecretStr | None = None
    key_file: Path | None = None  # None: LEGACY_KEY_FILE if it exists, else default_key_file()
    staff_language: Literal["en", "zh"] = "en"
    policy_file: PolicyFile = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("master_key", "policy_file", "key_file", "database_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value().strip()
        head, sep, tail = token.partition(":")
        if not sep or not head.isdigit() or not tail or any(ch.isspace() for ch in token):
            raise ValueError("malformed token")
        return SecretStr(token)

    @field_validator("api_url")
    @classmethod
    def _url_shape(cls, value: str) -> str:
        url = value.strip().rstrip("/")
        if not url.startswith(("http://", "https://")) or len(url) < 10:
            raise ValueError("not an http(s) URL")
        return url

    @field_validator("database_url")
    @classmethod
    def _database_url_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        url = value.get_secret_value().strip()
        if not url.startswith(("postgresql://", "postgres://")):
            raise ValueError("not a postgresql:// URL")
        return SecretStr(url)

    @property
    def database(self) -> str | None:
        """The PostgreSQL URL, or None for the SQLite file in the data directory."""
        return self.database_url.get_secret_value() if self.database_url else None

    @field_validator("master_key")
    @classmethod
    def _key_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        try:
            vault.parse_master_key_text(value.get_secret_value())
        except vault.KeyRingError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("staff_language", mode="before")
    @classmethod
    def _language_lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @property
    def key_path(self) -> Path:
        """The key file in use: the one configured, else the legacy one if it exists, else the
        default outside the working directory."""
        if self.key_file is not None:
            return self.key_file
        return LEGACY_KEY_FILE if LEGACY_KEY_FILE.exists() else default_key_file()

    @property
    def bot_base_url(self) -> str:
        return f"{self.api_url}/bot"

    @property
    def file_base_url(self) -> str:
        return f"{self.api_url}/file/bot"


class PosterSettings(BaseSettings):
    """What `tipline poster` reads (the environment and .env, as the bot does): the policy
    and the bot's username for the campaign's link. Never the token: a poster is made where
    the print is designed, and asks Telegram nothing."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    bot_username: str | None = None
    policy_file: PolicyFile = None

    @field_validator("bot_username", "policy_file", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("bot_username")
    @classmethod
    def _username_shape(cls, value: str | None) -> str | None:
        if value is None:
            return None
        name = bot_username(value)
        if name is None:
            raise ValueError("not a bot's username")
        return name


def _one_line(exc: ValidationError) -> ConfigError:
    """Pydantic's report as one line about the first bad variable."""
    error = exc.errors()[0]
    field = str(error["loc"][0]) if error["loc"] else "?"
    variable = ENV_PREFIX + field.upper()
    problem = "is missing" if error["type"] == "missing" else "is not valid"
    hint = EXPECTED.get(field, "see .env.example")
    return ConfigError(f"{variable} {problem}: it should be {hint}")


def load_settings() -> Settings:
    """Build Settings, turning pydantic's report into one line about the first bad variable."""
    try:
        return Settings()  # type: ignore[call-arg]  # fields come from the environment
    except ValidationError as exc:
        raise _one_line(exc) from None


def load_poster_settings() -> PosterSettings:
    try:
        return PosterSettings()
    except ValidationError as exc:
        raise _one_line(exc) from None


def dotenv_exposed(path: Path = Path(".env")) -> bool:
    """True when the .env file (bot token, maybe the master key) is readable by others."""
    return path.exists() and bool(path.stat().st_mode & 0o077)


def _warn_if_beside_data(key: Path, data_dir: Path) -> None:
    """A key in the data directory, or with it in the working directory, is copied with it."""
    key_at, data_at, here = key.resolve(), data_dir.resolve(), Path.cwd().resolve()
    if key_at.is_relative_to(data_at):
        where = "inside the data directory"
    elif key_at.is_relative_to(here) and data_at.is_relative_to(here):
        where = "in the working directory, with the data directory"
    else:
        return
    log.warning(
        "The master key file is %s, so a copy of that folder holds both the data and the key"
        " that opens it. Keep the key on other storage and point TIPLINE_KEY_FILE at it.",
        where,
    )


def load_key_ring(settings: Settings) -> vault.KeyRing:
    """The master key from TIPLINE_MASTER_KEY, else the key file, created on first start."""
    if settings.master_key is not None:
        return vault.KeyRing.from_texts([settings.master_key.get_secret_value()])
    path = settings.key_path
    _warn_if_beside_data(path, settings.data_dir)
    if not path.exists():
        if (settings.data_dir / "tipline.sqlite3").exists():
            raise ConfigError(
                f"TIPLINE_KEY_FILE: there is no key at {path}, but {settings.data_dir} holds a"
                " database: set TIPLINE_KEY_FILE (or TIPLINE_MASTER_KEY) to the key that opens"
                " it. A new key would not"
            )
        vault.KeyRing.create_file(path)
        log.warning(
            "Created a new master key at %s (mode 0600). Back it up apart from the data"
            " directory: without it the stored tips cannot be read.",
            path.resolve(),
        )
    if path.stat().st_mode & 0o077:
        raise ConfigError(
            f"TIPLINE_KEY_FILE {path} can be read by other users of this machine: make it"
            f" yours alone with 'chmod 600 {path}', and consider the key exposed"
        )
    try:
        return vault.KeyRing.from_file(path)
    except (OSError, UnicodeDecodeError, vault.KeyRingError) as exc:
        raise ConfigError(
            f"TIPLINE_KEY_FILE {path} cannot be used ({exc}): it should hold "
            + EXPECTED["master_key"]
        ) from None

"""The translation catalogue: every user-facing string, in English and Simplified Chinese.

Messages are HTML (the bot's default parse mode). Parameters are escaped unless wrapped in
`Html`, so text typed by a tipster can never inject markup into a message.
"""

from __future__ import annotations

import html
import string
import tomllib
from importlib import resources
from typing import Any

LANGUAGES = ("en", "zh")
DEFAULT_LANGUAGE = "en"
_FILES = {"en": "en.toml", "zh": "zh_Hans.toml"}


class Html(str):
    """A string that is already safe HTML and must not be escaped again."""

    __slots__ = ()


class CatalogueError(Exception):
    """The catalogue files are incomplete or inconsistent."""


def language_for(telegram_code: str | None) -> str:
    """Map a Telegram language_code (e.g. zh-hans, zh-CN, en-GB) to a catalogue language."""
    code = (telegram_code or "").lower()
    return "zh" if code.startswith("zh") else DEFAULT_LANGUAGE


def _flatten(prefix: str, table: dict[str, Any], out: dict[str, str]) -> None:
    for key, value in table.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            _flatten(name, value, out)
        elif isinstance(value, str):
            out[name] = value
        else:
            raise CatalogueError(f"{name} must be a string")


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


class Catalogue:
    """Look up `key` in a language; a missing key is a bug and raises KeyError."""

    def __init__(self, messages: dict[str, dict[str, str]]) -> None:
        self._messages = messages

    @classmethod
    def load(cls) -> Catalogue:
        messages: dict[str, dict[str, str]] = {}
        folder = resources.files("bot.telegram").joinpath("locales")
        for language, filename in _FILES.items():
            flat: dict[str, str] = {}
            _flatten("", tomllib.loads(folder.joinpath(filename).read_text("utf-8")), flat)
            messages[language] = flat
        return cls(messages)

    def keys(self, language: str) -> set[str]:
        return set(self._messages[language])

    def problems(self) -> list[str]:
        """Keys missing from a language, or whose placeholders differ from English."""
        found: list[str] = []
        reference = self._messages[DEFAULT_LANGUAGE]
        for language, messages in self._messages.items():
            for key in sorted(set(reference) ^ set(messages)):
                found.append(f"{language}: {key} is in only one catalogue")
            for key in sorted(set(reference) & set(messages)):
                if _fields(reference[key]) != _fields(messages[key]):
                    found.append(f"{language}: {key} has different placeholders")
        return found

    def text(self, language: str, key: str, **params: object) -> str:
        messages = self._messages.get(language) or self._messages[DEFAULT_LANGUAGE]
        template = messages[key]
        safe = {
            name: value if isinstance(value, Html) else html.escape(str(value), quote=False)
            for name, value in params.items()
        }
        return template.format(**safe)

"""The translation catalogue: every user-facing string, in English and Simplified Chinese.

Messages are HTML (the bot's default parse mode). Parameters are escaped unless wrapped in
`Html`, so text typed by a tipster can never inject markup into a message.

A message that counts something is a plural table: `plural` names the parameter whose number
chooses the form, and each CLDR category the language uses (English `one` and `other`,
Chinese `other` alone) holds that form, as Babel's plural rules for the language say:

    added.plural = "count"
    added.one = "Your tip has {count} part."
    added.other = "Your tip has {count} parts."

A form may itself be a plural table, chosen by another count (a message with two counts).
"""

from __future__ import annotations

import html
import string
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from babel import Locale

LANGUAGES = ("en", "zh")
DEFAULT_LANGUAGE = "en"
_FILES = {"en": "en.toml", "zh": "zh_Hans.toml"}
# The CLDR locale whose plural rules each catalogue language follows.
_LOCALES = {"en": "en", "zh": "zh_Hans"}
PLURAL = "plural"
CATEGORIES = ("zero", "one", "two", "few", "many", "other")


class Html(str):
    """A string that is already safe HTML and must not be escaped again."""

    __slots__ = ()


class CatalogueError(Exception):
    """The catalogue files are incomplete or inconsistent."""


def language_for(telegram_code: str | None) -> str:
    """Map a Telegram language_code (e.g. zh-hans, zh-CN, en-GB) to a catalogue language."""
    code = (telegram_code or "").lower()
    return "zh" if code.startswith("zh") else DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Plural:
    """The forms of a message that counts: `by` names the parameter whose number chooses."""

    by: str
    forms: Mapping[str, Message]


Message = str | Plural


def _plural(name: str, table: dict[str, Any]) -> Plural:
    by = table[PLURAL]
    if not isinstance(by, str) or not by:
        raise CatalogueError(f"{name}.{PLURAL} must name the parameter that counts")
    forms: dict[str, Message] = {}
    for category, value in table.items():
        if category == PLURAL:
            continue
        if category not in CATEGORIES:
            raise CatalogueError(
                f"{name}.{category} is not a plural category ({', '.join(CATEGORIES)})"
            )
        if isinstance(value, dict) and PLURAL in value:
            forms[category] = _plural(f"{name}.{category}", value)
        elif isinstance(value, str):
            forms[category] = value
        else:
            raise CatalogueError(f"{name}.{category} must be a string or a plural table")
    return Plural(by, forms)


def _flatten(prefix: str, table: dict[str, Any], out: dict[str, Message]) -> None:
    for key, value in table.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and PLURAL in value:
            out[name] = _plural(name, value)
        elif isinstance(value, dict):
            _flatten(name, value, out)
        elif isinstance(value, str):
            out[name] = value
        else:
            raise CatalogueError(f"{name} must be a string")


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _leaves(message: Message) -> list[str]:
    """Every form a message can take, as templates."""
    if isinstance(message, str):
        return [message]
    return [leaf for form in message.forms.values() for leaf in _leaves(form)]


def _counts(message: Message) -> frozenset[str]:
    """The parameters a message's plural tables choose by."""
    if isinstance(message, str):
        return frozenset()
    return frozenset({message.by}).union(*(_counts(form) for form in message.forms.values()))


def plural_rule(language: str) -> Callable[[object], str]:
    """The CLDR plural category of a count in a catalogue language (Babel's rules). A count
    that is not a number, such as "<5", takes `other`."""
    rule = Locale.parse(_LOCALES.get(language, language)).plural_form

    def category(count: object) -> str:
        if isinstance(count, bool):
            return "other"
        if isinstance(count, str):
            try:
                count = int(count)
            except ValueError:
                return "other"
        return rule(count) if isinstance(count, int | float) else "other"

    return category


def categories(language: str) -> frozenset[str]:
    """The plural categories a language needs: those its rules can choose, and `other`."""
    return Locale.parse(_LOCALES.get(language, language)).plural_form.tags | {"other"}


class Catalogue:
    """Look up `key` in a language; a missing key is a bug and raises KeyError."""

    def __init__(self, messages: dict[str, dict[str, Message]]) -> None:
        self._messages = messages
        self._rules = {language: plural_rule(language) for language in messages}

    @classmethod
    def load(cls) -> Catalogue:
        folder = resources.files("bot.telegram").joinpath("locales")
        return cls.parse(
            {
                language: folder.joinpath(filename).read_text("utf-8")
                for language, filename in _FILES.items()
            }
        )

    @classmethod
    def parse(cls, documents: Mapping[str, str]) -> Catalogue:
        """A catalogue from the TOML text of each language; CatalogueError when malformed."""
        messages: dict[str, dict[str, Message]] = {}
        for language, document in documents.items():
            flat: dict[str, Message] = {}
            _flatten("", tomllib.loads(document), flat)
            messages[language] = flat
        return cls(messages)

    def keys(self, language: str) -> set[str]:
        return set(self._messages[language])

    def problems(self) -> list[str]:
        """Keys missing from a language, placeholders that differ from English (in any form
        of a message), and plural tables that lack a form their language needs, have one it
        never uses, or count by another parameter than English."""
        found: list[str] = []
        reference = self._messages[DEFAULT_LANGUAGE]
        for language, messages in self._messages.items():
            needed = categories(language)
            for key in sorted(set(reference) ^ set(messages)):
                found.append(f"{language}: {key} is in only one catalogue")
            for key in sorted(set(reference) & set(messages)):
                message = messages[key]
                fields = _fields(_leaves(reference[key])[0])
                if any(_fields(leaf) != fields for leaf in _leaves(message)):
                    found.append(f"{language}: {key} has different placeholders")
                if _counts(message) != _counts(reference[key]):
                    found.append(f"{language}: {key} counts by different parameters than en")
                found += [f"{language}: {key} {p}" for p in _plural_problems(message, needed)]
        return found

    def text(self, language: str, key: str, **params: object) -> str:
        if language not in self._messages:
            language = DEFAULT_LANGUAGE
        message = self._messages[language][key]
        while isinstance(message, Plural):
            category = self._rules[language](params[message.by])
            message = message.forms.get(category) or message.forms["other"]
        safe = {
            name: value if isinstance(value, Html) else html.escape(str(value), quote=False)
            for name, value in params.items()
        }
        return message.format(**safe)


def _plural_problems(message: Message, needed: frozenset[str]) -> list[str]:
    if isinstance(message, str):
        return []
    found: list[str] = []
    missing = sorted(needed - set(message.forms), key=CATEGORIES.index)
    unused = sorted(set(message.forms) - needed, key=CATEGORIES.index)
    if missing:
        found.append(f"lacks the plural forms {', '.join(missing)}")
    if unused:
        found.append(f"has plural forms its language never uses: {', '.join(unused)}")
    if any(message.by not in _fields(leaf) for leaf in _leaves(message)):
        found.append(f"does not show {{{message.by}}}, the count it chooses by")
    for form in message.forms.values():
        found += _plural_problems(form, needed)
    return found

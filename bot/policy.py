"""Policy: categories, areas, limits and delays, from the shipped defaults and policy.toml."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any


class PolicyError(Exception):
    """The policy file cannot be used; the message names the key at fault."""


@dataclass(frozen=True)
class Choice:
    """A category or area: a stable key and its label in each language."""

    key: str
    labels: dict[str, str]

    def label(self, language: str) -> str:
        return self.labels.get(language) or self.labels["en"]


@dataclass(frozen=True)
class IntakePolicy:
    max_text_chars: int
    max_items: int
    max_attachments: int
    max_attachment_bytes: int
    max_tips_per_day: int
    max_receipt_failures_per_hour: int
    draft_ttl_hours: int
    conversation_timeout_minutes: int
    categories: tuple[Choice, ...]
    areas: tuple[Choice, ...]

    def category(self, key: str) -> Choice | None:
        return next((c for c in self.categories if c.key == key), None)

    def area(self, key: str) -> Choice | None:
        return next((a for a in self.areas if a.key == key), None)


@dataclass(frozen=True)
class ReviewPolicy:
    post_delay_max_seconds: int


@dataclass(frozen=True)
class Policy:
    intake: IntakePolicy
    review: ReviewPolicy


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _int(table: dict[str, Any], section: str, key: str, minimum: int = 0) -> int:
    value = table.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise PolicyError(f"[{section}] {key} must be a whole number >= {minimum}")
    return value


def _choices(raw: Any, section: str, key: str) -> tuple[Choice, ...]:
    if not isinstance(raw, list):
        raise PolicyError(f"[{section}] {key} must be a list of tables with key, en and zh")
    choices: list[Choice] = []
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise PolicyError(f"[{section}] {key} entry {index + 1} must be a table")
        ident, en, zh = entry.get("key"), entry.get("en"), entry.get("zh")
        valid_key = isinstance(ident, str) and ident.isidentifier() and len(ident) <= 32
        if not valid_key or not isinstance(en, str) or not en.strip():
            raise PolicyError(
                f"[{section}] {key} entry {index + 1} needs key (letters, digits, _; at most"
                " 32) and a non-empty en label"
            )
        labels = {"en": en.strip()}
        if isinstance(zh, str) and zh.strip():
            labels["zh"] = zh.strip()
        choices.append(Choice(str(ident), labels))
    if len({c.key for c in choices}) != len(choices):
        raise PolicyError(f"[{section}] {key} has the same key twice")
    return tuple(choices)


def parse(document: dict[str, Any]) -> Policy:
    intake = document.get("intake", {})
    review = document.get("review", {})
    categories = _choices(intake.get("categories"), "intake", "categories")
    if not categories:
        raise PolicyError("[intake] categories must list at least one category")
    max_bytes = _int(intake, "intake", "max_attachment_bytes", 1)
    if max_bytes > 20_000_000:
        raise PolicyError("[intake] max_attachment_bytes cannot exceed the Bot API's 20 MB")
    return Policy(
        intake=IntakePolicy(
            max_text_chars=_int(intake, "intake", "max_text_chars", 1),
            max_items=_int(intake, "intake", "max_items", 1),
            max_attachments=_int(intake, "intake", "max_attachments", 0),
            max_attachment_bytes=max_bytes,
            max_tips_per_day=_int(intake, "intake", "max_tips_per_day", 1),
            max_receipt_failures_per_hour=_int(
                intake, "intake", "max_receipt_failures_per_hour", 1
            ),
            draft_ttl_hours=_int(intake, "intake", "draft_ttl_hours", 1),
            conversation_timeout_minutes=_int(intake, "intake", "conversation_timeout_minutes", 1),
            categories=categories,
            areas=_choices(intake.get("areas", []), "intake", "areas"),
        ),
        review=ReviewPolicy(
            post_delay_max_seconds=_int(review, "review", "post_delay_max_seconds", 0),
        ),
    )


def shipped_document() -> dict[str, Any]:
    text = resources.files("bot").joinpath("policy_default.toml").read_text("utf-8")
    return tomllib.loads(text)


def load(path: Path | None, overrides: dict[str, Any] | None = None) -> Policy:
    """The shipped defaults, overridden by the policy file (if any), then by `overrides`."""
    document = shipped_document()
    if path is not None:
        try:
            custom = tomllib.loads(path.read_text("utf-8"))
        except OSError as exc:
            raise PolicyError(f"cannot read the policy file {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError(f"the policy file {path} is not valid TOML: {exc}") from None
        document = _merge(document, custom)
    if overrides:
        document = _merge(document, overrides)
    return parse(document)

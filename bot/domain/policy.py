"""Policy: categories, areas, limits and delays, from the shipped defaults and policy.toml."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from enum import StrEnum
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
class Route:
    """Tips of these categories and/or areas go to their own review chat."""

    chat_id: int
    categories: frozenset[str]
    areas: frozenset[str]

    def matches(self, category: str, area_key: str | None) -> bool:
        if self.categories and category not in self.categories:
            return False
        return not self.areas or area_key in self.areas


@dataclass(frozen=True)
class ReviewPolicy:
    post_delay_max_seconds: int
    answer_window_minutes: int
    search_limit: int
    routes: tuple[Route, ...]
    remind_unclaimed_hours: int
    escalate_unclaimed_hours: int
    awaiting_tipster_days: int

    def chat_for(self, default_chat: int, category: str, area_key: str | None) -> int:
        """The review chat a tip belongs to: the first matching route, else the default."""
        for route in self.routes:
            if route.matches(category, area_key):
                return route.chat_id
        return default_chat

    def chats(self, default_chat: int) -> list[int]:
        return list(dict.fromkeys([default_chat, *(route.chat_id for route in self.routes)]))


@dataclass(frozen=True)
class Tier:
    """A reward tier: a fixed amount, or a range (max None: no upper limit), in minor units."""

    key: str
    labels: dict[str, str]
    min_minor: int
    max_minor: int | None

    def label(self, language: str) -> str:
        return self.labels.get(language) or self.labels["en"]

    @property
    def fixed(self) -> bool:
        return self.max_minor == self.min_minor

    def allows(self, amount_minor: int) -> bool:
        return amount_minor >= self.min_minor and (
            self.max_minor is None or amount_minor <= self.max_minor
        )


class ClaimMode(StrEnum):
    CODE = "code"
    CODE_AND_ID = "code_and_id"


@dataclass(frozen=True)
class RewardPolicy:
    currency: str
    minor_per_major: int
    claim_mode: ClaimMode
    second_approval_above_minor: int
    monthly_budget_minor: int
    notify_within_working_days: int
    nudge_working_days_before: int
    claim_months: int
    reminder_days: tuple[int, ...]
    max_code_failures_per_hour: int
    claim_instructions: dict[str, str]
    tiers: tuple[Tier, ...]

    def tier(self, key: str) -> Tier | None:
        return next((t for t in self.tiers if t.key == key), None)


@dataclass(frozen=True)
class FloodPolicy:
    """Telegram's flood limits for messages; 0 turns one off."""

    messages_per_second: int
    group_messages_per_minute: int


@dataclass(frozen=True)
class Policy:
    intake: IntakePolicy
    review: ReviewPolicy
    rewards: RewardPolicy
    sweep_seconds: int
    retention_days: int
    outbox_days: int
    digests: DigestPolicy
    flood: FloodPolicy


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


def _routes(raw: Any, categories: tuple[Choice, ...], areas_raw: Any) -> tuple[Route, ...]:
    if not isinstance(raw, list):
        raise PolicyError("[review] routes must be a list of tables")
    known_categories = {c.key for c in categories}
    known_areas = {a.get("key") for a in areas_raw if isinstance(a, dict)}
    routes: list[Route] = []
    for index, entry in enumerate(raw, start=1):
        if not isinstance(entry, dict):
            raise PolicyError(f"[review] routes entry {index} must be a table")
        chat_id = entry.get("chat_id")
        if not isinstance(chat_id, int) or isinstance(chat_id, bool) or chat_id >= 0:
            raise PolicyError(
                f"[review] routes entry {index} needs chat_id, a group id like -100..."
            )
        cats = entry.get("categories", [])
        route_areas = entry.get("areas", [])
        if not isinstance(cats, list) or not set(cats) <= known_categories:
            raise PolicyError(f"[review] routes entry {index}: categories must be known keys")
        if not isinstance(route_areas, list) or not set(route_areas) <= known_areas:
            raise PolicyError(
                f"[review] routes entry {index}: areas must be keys of [[intake.areas]]"
            )
        if not cats and not route_areas:
            raise PolicyError(f"[review] routes entry {index} must name categories or areas")
        routes.append(Route(chat_id, frozenset(cats), frozenset(route_areas)))
    return tuple(routes)


def _rewards(raw: dict[str, Any]) -> RewardPolicy:
    section = "rewards"
    minor = _int(raw, section, "minor_per_major", 1)
    currency = raw.get("currency")
    if not isinstance(currency, str) or not currency.isalpha() or len(currency) != 3:
        raise PolicyError("[rewards] currency must be a three-letter code like CNY")
    try:
        mode = ClaimMode(str(raw.get("claim_mode")))
    except ValueError:
        raise PolicyError('[rewards] claim_mode must be "code" or "code_and_id"') from None
    reminders = raw.get("reminder_days", [])
    if not isinstance(reminders, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in reminders
    ):
        raise PolicyError("[rewards] reminder_days must be a list of whole days, like [14, 3]")
    instructions = {
        "en": str(raw.get("claim_instructions_en", "")).strip(),
        "zh": str(raw.get("claim_instructions_zh", "")).strip(),
    }
    if not instructions["en"]:
        raise PolicyError("[rewards] claim_instructions_en must say how and where to claim")
    tiers: list[Tier] = []
    raw_tiers = raw.get("tiers", [])
    if not isinstance(raw_tiers, list) or not raw_tiers:
        raise PolicyError("[rewards] tiers must list at least one tier")
    for index, entry in enumerate(raw_tiers, start=1):
        choice = _choices([entry], section, "tiers")[0] if isinstance(entry, dict) else None
        if choice is None:
            raise PolicyError(f"[rewards] tiers entry {index} must be a table")
        where = f"tiers entry {index} ({choice.key})"
        high: int | None
        if "amount" in entry:
            low = high = _int(entry, section, "amount", 1)
        else:
            low = _int(entry, section, "min", 1)
            high = _int(entry, section, "max", low) if "max" in entry else None
        tiers.append(
            Tier(choice.key, choice.labels, low * minor, high * minor if high is not None else None)
        )
        if "amount" in entry and ("min" in entry or "max" in entry):
            raise PolicyError(f"[rewards] {where}: give amount, or min and max, not both")
    if len({t.key for t in tiers}) != len(tiers):
        raise PolicyError("[rewards] tiers has the same key twice")
    return RewardPolicy(
        currency=currency.upper(),
        minor_per_major=minor,
        claim_mode=mode,
        second_approval_above_minor=_int(raw, section, "second_approval_above", 0) * minor,
        monthly_budget_minor=_int(raw, section, "monthly_budget", 0) * minor,
        notify_within_working_days=_int(raw, section, "notify_within_working_days", 1),
        nudge_working_days_before=_int(raw, section, "nudge_working_days_before", 0),
        claim_months=_int(raw, section, "claim_months", 1),
        reminder_days=tuple(sorted(set(reminders), reverse=True)),
        max_code_failures_per_hour=_int(raw, section, "max_code_failures_per_hour", 1),
        claim_instructions=instructions,
        tiers=tuple(tiers),
    )


@dataclass(frozen=True)
class DigestPolicy:
    finance_hour_utc: int
    review_weekday: int
    review_hour_utc: int


def _digests(raw: dict[str, Any]) -> DigestPolicy:
    digests = DigestPolicy(
        finance_hour_utc=_int(raw, "digests", "finance_hour_utc", 0),
        review_weekday=_int(raw, "digests", "review_weekday", 0),
        review_hour_utc=_int(raw, "digests", "review_hour_utc", 0),
    )
    if digests.finance_hour_utc > 23 or digests.review_hour_utc > 23:
        raise PolicyError("[digests] hours must be 0-23 (UTC)")
    if digests.review_weekday > 6:
        raise PolicyError("[digests] review_weekday must be 0 (Monday) to 6 (Sunday)")
    return digests


def parse(document: dict[str, Any]) -> Policy:
    intake = document.get("intake", {})
    review = document.get("review", {})
    telegram = document.get("telegram", {})
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
            answer_window_minutes=_int(review, "review", "answer_window_minutes", 1),
            search_limit=_int(review, "review", "search_limit", 1),
            routes=_routes(review.get("routes", []), categories, intake.get("areas", [])),
            remind_unclaimed_hours=_int(review, "review", "remind_unclaimed_hours", 1),
            escalate_unclaimed_hours=_int(review, "review", "escalate_unclaimed_hours", 1),
            awaiting_tipster_days=_int(review, "review", "awaiting_tipster_days", 1),
        ),
        rewards=_rewards(document.get("rewards", {})),
        sweep_seconds=_int(document.get("jobs", {}), "jobs", "sweep_seconds", 1),
        retention_days=_int(document.get("retention", {}), "retention", "days_after_close", 1),
        outbox_days=_int(document.get("retention", {}), "retention", "outbox_days", 1),
        digests=_digests(document.get("digests", {})),
        flood=FloodPolicy(
            messages_per_second=_int(telegram, "telegram", "messages_per_second", 0),
            group_messages_per_minute=_int(telegram, "telegram", "group_messages_per_minute", 0),
        ),
    )


def shipped_document() -> dict[str, Any]:
    text = resources.files("bot.domain").joinpath("policy_default.toml").read_text("utf-8")
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

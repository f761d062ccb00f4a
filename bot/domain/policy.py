"""Policy: categories, areas, limits and delays, from the shipped defaults and policy.toml."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)


class PolicyError(Exception):
    """The policy file cannot be used; the message names the key at fault."""


def _rule(holds: Callable[[Any], bool], message: str) -> AfterValidator:
    """A check run once the type is right; `message` is what the operator reads if it fails."""

    def check(value: Any) -> Any:
        if not holds(value):
            raise ValueError(message)
        return value

    return AfterValidator(check)


Count = Annotated[int, Field(strict=True, ge=0)]
Positive = Annotated[int, Field(strict=True, ge=1)]
Hour = Annotated[int, Field(strict=True, ge=0, le=23)]
Text = Annotated[str, StringConstraints(strict=True, strip_whitespace=True)]
Label = Annotated[str, StringConstraints(strict=True, strip_whitespace=True, min_length=1)]
Key = Annotated[
    str,
    StringConstraints(strict=True, max_length=32),
    # ASCII only: keys travel in callback data, which buttons already posted must keep matching.
    _rule(
        lambda key: key.isascii() and key.isidentifier(),
        "must be ASCII letters, digits and _, not starting with a digit",
    ),
]
_unique_keys = _rule(
    lambda entries: len({e.key for e in entries}) == len(entries), "has the same key twice"
)


class _Table(BaseModel):
    """A TOML table, read-only once loaded; an unknown key is refused, so no typo goes unseen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Choice(_Table):
    """A category or area: a stable key and its label in each language."""

    key: Key
    en: Label
    zh: Text = ""

    def label(self, language: str) -> str:
        return self.zh if language == "zh" and self.zh else self.en


class AreaLevel(StrEnum):
    """How much ground an area covers, the widest first."""

    CITY = "city"
    DISTRICT = "district"
    SUBDISTRICT = "subdistrict"
    COMMUNITY = "community"

    @property
    def district_or_wider(self) -> bool:
        return self in (AreaLevel.CITY, AreaLevel.DISTRICT)


class Area(Choice):
    """An `[[intake.areas]]` entry; `level` says how much ground it covers (unset: unsaid, so
    no campaign may name it)."""

    level: AreaLevel | None = None


class IntakePolicy(_Table):
    """`[intake]`: the limits on one tip and the choices a tipster is offered."""

    max_text_chars: Positive
    max_items: Positive
    max_attachments: Count
    max_attachment_bytes: Annotated[
        Positive, _rule(lambda size: size <= 20_000_000, "cannot exceed the Bot API's 20 MB")
    ]
    max_tips_per_day: Positive
    max_receipt_failures_per_hour: Positive
    draft_ttl_hours: Positive
    conversation_timeout_minutes: Positive
    categories: Annotated[tuple[Choice, ...], Field(min_length=1), _unique_keys]
    areas: Annotated[tuple[Area, ...], _unique_keys] = ()

    def category(self, key: str) -> Choice | None:
        return next((c for c in self.categories if c.key == key), None)

    def area(self, key: str) -> Area | None:
        return next((a for a in self.areas if a.key == key), None)


# What Telegram carries in a `t.me/<bot>?start=<parameter>` link.
_START_PARAMETER = re.compile(r"[A-Za-z0-9_-]{1,64}")


def is_start_parameter(text: str) -> bool:
    """True for what a start link may carry: 1 to 64 of A-Z, a-z, 0-9, _ and -."""
    return _START_PARAMETER.fullmatch(text) is not None


# A bot's Telegram username: 5 to 32 letters, digits and _, from a letter, ending in "bot".
_BOT_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{1,28}[Bb][Oo][Tt]")


def bot_username(text: str) -> str | None:
    """The bot's username from what an operator typed (`@name_bot` or `name_bot`), or None
    when it cannot be a bot's username."""
    name = text.strip().removeprefix("@")
    return name if _BOT_USERNAME.fullmatch(name) else None


class Campaign(Choice):
    """A `[[campaigns]]` entry: a poster's start link (`?start=<key>`), its labels, and the
    category and area it chooses for the tipster (each optional). Its key is all a tip keeps."""

    key: Annotated[  # a start parameter, not a choice key: it never travels in callback data
        str,
        StringConstraints(strict=True),
        _rule(is_start_parameter, "must be 1 to 64 of A-Z, a-z, 0-9, _ and - (a start link's)"),
    ]
    category: StrictStr | None = None
    area: StrictStr | None = None

    def link(self, bot: str) -> str:
        """The link a poster prints: it opens the bot's chat and sends `/start <key>`."""
        return f"https://t.me/{bot}?start={self.key}"


class Route(_Table):
    """Tips of these categories and/or areas go to their own review chat."""

    chat_id: Annotated[StrictInt, _rule(lambda chat: chat < 0, "must be a group id like -100...")]
    categories: frozenset[StrictStr] = frozenset()
    areas: frozenset[StrictStr] = frozenset()

    @model_validator(mode="after")
    def _names_something(self) -> Self:
        if not self.categories and not self.areas:
            raise ValueError("must name categories or areas")
        return self

    def matches(self, category: str, area_key: str | None) -> bool:
        if self.categories and category not in self.categories:
            return False
        return not self.areas or area_key in self.areas


class ReviewPolicy(_Table):
    """`[review]`: the delay before posting, reminders, and which chat a tip goes to."""

    post_delay_max_seconds: Count
    answer_window_minutes: Positive
    search_limit: Positive
    routes: tuple[Route, ...] = ()
    remind_unclaimed_hours: Positive
    escalate_unclaimed_hours: Positive
    awaiting_tipster_days: Positive

    def chat_for(self, default_chat: int, category: str, area_key: str | None) -> int:
        """The review chat a tip belongs to: the first matching route, else the default."""
        for route in self.routes:
            if route.matches(category, area_key):
                return route.chat_id
        return default_chat

    def chats(self, default_chat: int) -> list[int]:
        return list(dict.fromkeys([default_chat, *(route.chat_id for route in self.routes)]))


class Tier(Choice):
    """A reward tier: a fixed amount, or a range (max None: no upper limit), in minor units."""

    min_minor: int
    max_minor: int | None
    # The heroin-equivalent range of a seizure this tier rewards, in milligrams: from (inclusive)
    # and below (exclusive, None: no upper end). None for tiers that grade no seizure.
    seized_from_mg: int | None = None
    seized_below_mg: int | None = None

    @property
    def fixed(self) -> bool:
        return self.max_minor == self.min_minor

    def allows(self, amount_minor: int) -> bool:
        return amount_minor >= self.min_minor and (
            self.max_minor is None or amount_minor <= self.max_minor
        )


class _TierEntry(Choice):
    """A `[[rewards.tiers]]` entry: `amount`, or `min` and maybe `max`, in whole units."""

    amount: Positive | None = None
    min: Positive | None = None
    max: Positive | None = None
    # Grams of heroin equivalent: the seizures this tier rewards (from inclusive, below not).
    seized_from_g: Count | None = None
    seized_below_g: Positive | None = None

    @model_validator(mode="after")
    def _one_kind_of_amount(self) -> Self:
        if self.seized_below_g is not None and self.seized_from_g is None:
            raise ValueError("seized_below_g needs seized_from_g")
        if (
            self.seized_from_g is not None
            and self.seized_below_g is not None
            and self.seized_below_g <= self.seized_from_g
        ):
            raise ValueError(f"seized_below_g must be > seized_from_g ({self.seized_from_g})")
        if self.amount is not None and (self.min is not None or self.max is not None):
            raise ValueError("must give amount, or min and max, not both")
        if self.amount is None and self.min is None:
            raise ValueError("needs amount, or min and optionally max")
        if self.min is not None and self.max is not None and self.max < self.min:
            raise ValueError(f"max must be >= min ({self.min})")
        return self

    def in_minor(self, minor: int) -> Tier:
        low, high = (self.amount, self.amount) if self.amount else (self.min or 0, self.max)
        scaled = None if high is None else high * minor
        below = self.seized_below_g
        return Tier(
            key=self.key,
            en=self.en,
            zh=self.zh,
            min_minor=low * minor,
            max_minor=scaled,
            seized_from_mg=None if self.seized_from_g is None else self.seized_from_g * 1000,
            seized_below_mg=None if below is None else below * 1000,
        )


class ClaimMode(StrEnum):
    CODE = "code"
    CODE_AND_ID = "code_and_id"


class RewardPolicy(_Table):
    """`[rewards]`: amounts are written in whole units and read here in minor units."""

    currency: Annotated[
        StrictStr,
        _rule(lambda c: len(c) == 3 and c.isalpha(), "must be a three-letter code like CNY"),
        AfterValidator(str.upper),
    ]
    minor_per_major: Positive
    claim_mode: ClaimMode
    second_approval_above: Count
    monthly_budget: Count
    notify_within_working_days: Positive
    nudge_working_days_before: Count
    claim_months: Positive
    reminder_days: Annotated[
        tuple[Positive, ...], AfterValidator(lambda days: tuple(sorted(set(days), reverse=True)))
    ] = ()
    max_code_failures_per_hour: Positive
    claim_instructions_en: Label
    claim_instructions_zh: Text = ""
    tier_entries: Annotated[
        tuple[_TierEntry, ...], Field(alias="tiers", min_length=1), _unique_keys
    ]

    @property
    def second_approval_above_minor(self) -> int:
        return self.second_approval_above * self.minor_per_major

    @property
    def monthly_budget_minor(self) -> int:
        return self.monthly_budget * self.minor_per_major

    @property
    def claim_instructions(self) -> dict[str, str]:
        return {"en": self.claim_instructions_en, "zh": self.claim_instructions_zh}

    @cached_property
    def tiers(self) -> tuple[Tier, ...]:
        return tuple(entry.in_minor(self.minor_per_major) for entry in self.tier_entries)

    def tier(self, key: str) -> Tier | None:
        return next((t for t in self.tiers if t.key == key), None)

    @property
    def top_amount_minor(self) -> int:
        """The largest reward the scheme names (a tier's max, or its min when it has none)."""
        return max(t.min_minor if t.max_minor is None else t.max_minor for t in self.tiers)


class Drug(Choice):
    """A `[[outcomes.drugs]]` entry: what a reviewer may write for it, and how many grams of
    heroin one gram of it counts as (the heroin equivalent of the national measures)."""

    names: tuple[Label, ...] = ()
    heroin_factor: Annotated[Decimal, Field(gt=0, le=1000)]

    @field_validator("heroin_factor", mode="before")
    @classmethod
    def _exact(cls, value: object) -> object:
        # A TOML float like 0.05 is read from its text, so no binary rounding creeps in.
        return (
            str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
        )


class OutcomePolicy(_Table):
    """`[outcomes]`: the drugs a seizure may name and their heroin-equivalent factors."""

    drugs: Annotated[tuple[Drug, ...], Field(min_length=1), _unique_keys]

    @model_validator(mode="after")
    def _names_are_unambiguous(self) -> Self:
        seen: dict[str, str] = {}
        for drug in self.drugs:
            for name in {n.casefold() for n in (drug.key, drug.en, drug.zh, *drug.names) if n}:
                if seen.setdefault(name, drug.key) != drug.key:
                    raise ValueError(f"drugs {seen[name]} and {drug.key} share the name {name!r}")
        return self


class FloodPolicy(_Table):
    """Telegram's flood limits for messages; 0 turns one off."""

    messages_per_second: Count
    group_messages_per_minute: Count


class DigestPolicy(_Table):
    """When the finance digest (daily) and the review digests (weekly, 0 = Monday) go out, UTC."""

    finance_hour_utc: Hour
    review_weekday: Annotated[int, Field(strict=True, ge=0, le=6)]
    review_hour_utc: Hour


class MediaPolicy(_Table):
    """`[media]`: the limits of the worker processes that decode and clean files."""

    max_megapixels: Annotated[Positive, Field(le=200)]
    workers: Annotated[Positive, Field(le=4)]
    worker_memory_mb: Annotated[int, Field(strict=True, ge=64)]
    worker_seconds: Positive

    @property
    def max_pixels(self) -> int:
        return self.max_megapixels * 1_000_000

    @property
    def worker_memory_bytes(self) -> int:
        return self.worker_memory_mb * 1024 * 1024


def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


class CalendarName(StrEnum):
    CN = "CN"
    NONE = "none"


class LocalePolicy(_Table):
    """`[locale]`: the time zone every date and time is shown in (storage stays UTC), and the
    official calendar that says which days are working days ("none": Monday to Friday)."""

    timezone: Annotated[
        StrictStr,
        _rule(_known_zone, "must be an IANA time zone name like Asia/Shanghai"),
    ]
    calendar: CalendarName

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class _Jobs(_Table):
    sweep_seconds: Positive


class _Retention(_Table):
    days_after_close: Positive
    outbox_days: Positive
    contact_days: Positive


class Policy(_Table):
    """The whole policy document, one model per TOML table."""

    intake: IntakePolicy
    review: ReviewPolicy
    rewards: RewardPolicy
    outcomes: OutcomePolicy
    flood: FloodPolicy = Field(alias="telegram")
    media: MediaPolicy
    jobs: _Jobs
    retention: _Retention
    digests: DigestPolicy
    locale: LocalePolicy
    campaigns: Annotated[tuple[Campaign, ...], _unique_keys] = ()

    @field_validator("review")
    @classmethod
    def _routes_name_known_keys(cls, review: ReviewPolicy, info: ValidationInfo) -> ReviewPolicy:
        intake = info.data.get("intake")
        if not isinstance(intake, IntakePolicy):
            return review
        for index, route in enumerate(review.routes, start=1):
            if not route.categories <= {c.key for c in intake.categories}:
                raise ValueError(f"routes entry {index} categories must be known keys")
            if not route.areas <= {a.key for a in intake.areas}:
                raise ValueError(f"routes entry {index} areas must be keys of [[intake.areas]]")
        return review

    @field_validator("campaigns")
    @classmethod
    def _campaigns_are_district_or_wider(
        cls, campaigns: tuple[Campaign, ...], info: ValidationInfo
    ) -> tuple[Campaign, ...]:
        """Each campaign names known keys, and no area narrower than a district: a poster on
        one building's door would tell reviewers where its tipsters live."""
        intake = info.data.get("intake")
        if not isinstance(intake, IntakePolicy):
            return campaigns
        for index, campaign in enumerate(campaigns, start=1):
            where = f"entry {index} ({campaign.key})"
            if campaign.category is not None and intake.category(campaign.category) is None:
                raise ValueError(f"{where} category must be a key of [[intake.categories]]")
            if campaign.area is None:
                continue
            area = intake.area(campaign.area)
            if area is None:
                raise ValueError(f"{where} area must be a key of [[intake.areas]]")
            if area.level is None or not area.level.district_or_wider:
                said = f"level {area.level.value}" if area.level else "no level"
                raise ValueError(
                    f"{where} area {area.key} has {said}: a campaign may only name an area"
                    ' of level "district" or "city", never a narrower one'
                )
        return campaigns

    def campaign(self, start_parameter: str | None) -> Campaign | None:
        """The campaign a start link names; None for none, an unknown or a malformed one."""
        if not start_parameter or not is_start_parameter(start_parameter):
            return None
        return next((c for c in self.campaigns if c.key == start_parameter), None)

    @property
    def sweep_seconds(self) -> int:
        return self.jobs.sweep_seconds

    @property
    def retention_days(self) -> int:
        return self.retention.days_after_close

    @property
    def outbox_days(self) -> int:
        return self.retention.outbox_days

    @property
    def contact_days(self) -> int:
        return self.retention.contact_days


_REASONS = {
    "missing": "is missing",
    "extra_forbidden": "is not a known key",
    "int_type": "must be a whole number",
    "greater_than_equal": "must be a whole number >= {ge}",
    "less_than_equal": "must be at most {le}",
    "string_type": "must be text",
    "string_too_short": "must not be empty",
    "string_too_long": "must be at most {max_length} characters",
    "too_short": "must list at least one entry",
    "tuple_type": "must be a list",
    "frozen_set_type": "must be a list",
    "model_type": "must be a table",
    "enum": "must be {expected}",
    "value_error": "{error}",
}


def _one_line(exc: ValidationError) -> PolicyError:
    """Pydantic's first error as the one line an operator reads: `[section] key reason`."""
    error = exc.errors(include_url=False)[0]
    where = [f"entry {part + 1}" if isinstance(part, int) else part for part in error["loc"]]
    template = _REASONS.get(error["type"])
    reason = template.format(**error.get("ctx", {})) if template else error["msg"]
    head = f"[{where.pop(0)}] " if where else ""
    return PolicyError(head + " ".join([*where, reason]))


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def parse(document: dict[str, Any]) -> Policy:
    """The policy a whole document describes; PolicyError names the first key at fault."""
    try:
        return Policy.model_validate(document)
    except ValidationError as exc:
        raise _one_line(exc) from None


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

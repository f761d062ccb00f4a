"""A verified tip's outcome: the police case, people arrested, seizures, a short note.

The reviewer writes it in one forgiving line, parts separated by ";" (or a new line):

    case 2026-123; arrested 2; heroin 50g; meth 1.2kg; note: the van was seized too

Order does not matter, except that the note comes last and keeps everything after "note:".
Chinese works as well: ``案号 2026-123；抓获 2；海洛因 50克；冰毒 1.2千克；备注：...``.
Weights are kept as integer milligrams; the heroin equivalent is computed from the policy's
conversion table and grades the reward tier that is suggested first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from bot.domain.errors import (
    OutcomeFormat,
    OutcomeNoCase,
    OutcomeNoteTooLong,
    OutcomeUnknownDrug,
)
from bot.domain.policy import Drug, Tier

MAX_NOTE_CHARS = 500
MAX_CASE_CHARS = 40
MAX_SEIZURES = 12
MAX_ARRESTED = 10_000
MAX_SEIZURE_MG = 100_000 * 1_000_000  # 100 tonnes

_SEPARATORS = re.compile(r"[;；\n]")
_CASE = re.compile(
    r"^(?:case|case\s*no\.?|case\s*number|案号|案件编号|案件)\s*[:：#]?\s*(.+)$", re.I
)
_ARRESTED = re.compile(
    r"^(?:arrested|arrests|arrest|抓获|抓获人数|逮捕)\s*[:：]?\s*(\S+?)\s*人?$", re.I
)
_NOTE = re.compile(r"(?:^|[;；\n])\s*(?:note|备注)\s*[:：]\s*", re.I)
_CASE_NUMBER = re.compile(r"^[0-9A-Za-z\u4e00-\u9fff()（）/_.\-]+$")
_WEIGHT = re.compile(
    r"^(.+?)\s*[:：]?\s*(\d+(?:[.,]\d+)?)\s*(mg|g|kg|t|毫克|克|千克|公斤|吨)$", re.I
)
_UNIT_MG = {
    "mg": 1,
    "毫克": 1,
    "g": 1_000,
    "克": 1_000,
    "kg": 1_000_000,
    "千克": 1_000_000,
    "公斤": 1_000_000,
    "t": 1_000_000_000,
    "吨": 1_000_000_000,
}


@dataclass(frozen=True)
class Seizure:
    drug: str  # a key of [[outcomes.drugs]]
    milligrams: int


@dataclass(frozen=True)
class OutcomeEntry:
    case_number: str
    arrested: int
    seizures: tuple[Seizure, ...]
    note: str


def _drug_index(drugs: Iterable[Drug]) -> dict[str, str]:
    index: dict[str, str] = {}
    for drug in drugs:
        for name in (drug.key, drug.en, drug.zh, *drug.names):
            if name:
                index[name.casefold()] = drug.key
    return index


def _milligrams(number: str, unit: str, part: str) -> int:
    try:
        amount = Decimal(number.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the pattern admits only digits
        raise OutcomeFormat(part=part) from None
    milligrams = int(amount * _UNIT_MG[unit.casefold()])
    if not 0 < milligrams <= MAX_SEIZURE_MG:
        raise OutcomeFormat(part=part)
    return milligrams


def parse_outcome(text: str, drugs: Sequence[Drug]) -> OutcomeEntry:
    """The outcome a reviewer wrote; a ReviewError naming what is wrong otherwise."""
    body, note = text.strip(), ""
    found = _NOTE.search(body)
    if found:
        body, note = body[: found.start()], body[found.end() :].strip()
    if len(note) > MAX_NOTE_CHARS:
        raise OutcomeNoteTooLong(limit=MAX_NOTE_CHARS)
    index = _drug_index(drugs)
    case_number: str | None = None
    arrested = 0
    weights: dict[str, int] = {}
    for raw in _SEPARATORS.split(body):
        part = " ".join(raw.split())
        if not part:
            continue
        short = part[:40]
        if case := _CASE.match(part):
            number = case.group(1).strip()
            if len(number) > MAX_CASE_CHARS or not _CASE_NUMBER.match(number):
                raise OutcomeFormat(part=short)
            case_number = number.upper()
        elif people := _ARRESTED.match(part):
            if not people.group(1).isdigit() or int(people.group(1)) > MAX_ARRESTED:
                raise OutcomeFormat(part=short)
            arrested = int(people.group(1))
        elif weight := _WEIGHT.match(part):
            drug = index.get(weight.group(1).strip().casefold())
            if drug is None:
                known = ", ".join(d.key for d in drugs)
                raise OutcomeUnknownDrug(drug=weight.group(1).strip()[:30], known=known)
            weights[drug] = weights.get(drug, 0) + _milligrams(
                weight.group(2), weight.group(3), short
            )
        else:
            raise OutcomeFormat(part=short)
    if case_number is None:
        raise OutcomeNoCase()
    if len(weights) > MAX_SEIZURES:
        raise OutcomeFormat(part=f"{len(weights)} drugs")
    seizures = tuple(Seizure(drug, mg) for drug, mg in weights.items())
    return OutcomeEntry(case_number, arrested, seizures, note)


def heroin_equivalent_mg(seizures: Iterable[Seizure], drugs: Sequence[Drug]) -> int:
    """The seizures graded in milligrams of heroin (a drug missing from the table counts 0)."""
    factors = {drug.key: drug.heroin_factor for drug in drugs}
    total = sum(
        (Decimal(s.milligrams) * factors.get(s.drug, Decimal(0)) for s in seizures), Decimal(0)
    )
    return int(total)


def suggested_tier(tiers: Sequence[Tier], heroin_mg: int) -> Tier | None:
    """The seizure tier whose heroin-equivalent range holds this amount; None without a
    seizure or when no tier maps to it."""
    if heroin_mg <= 0:
        return None
    for tier in tiers:
        if tier.seized_from_mg is None:
            continue
        if heroin_mg >= tier.seized_from_mg and (
            tier.seized_below_mg is None or heroin_mg < tier.seized_below_mg
        ):
            return tier
    return None


def format_grams(milligrams: int) -> str:
    """A weight as people write it: 1.2 kg, 50 g, 0.5 g."""
    value, unit = (Decimal(milligrams) / 1_000_000, "kg")
    if milligrams < 1_000_000:
        value, unit = (Decimal(milligrams) / 1_000, "g")
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} {unit}"

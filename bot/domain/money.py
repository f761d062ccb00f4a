"""Money as integer minor units: parsing what staff type, formatting what people read."""

from __future__ import annotations

import re
from decimal import Decimal

SYMBOLS = {"CNY": "¥"}
MAX_MINOR = 10**12  # far above any reward; anything larger is a typing slip
_PLAIN_NUMBER = re.compile(r"^\d{1,13}(\.\d{1,6})?$")


class AmountError(ValueError):
    """The text is not an amount in this currency."""


def parse_amount(text: str, minor_per_major: int) -> int:
    """'5000', '5,000', '5000.50' or '¥5000' into minor units, exactly; never via float."""
    cleaned = text.strip().lstrip("¥").replace(",", "")
    if not _PLAIN_NUMBER.match(cleaned):
        raise AmountError(text)
    minor = Decimal(cleaned) * minor_per_major
    if minor <= 0 or minor != minor.to_integral_value() or minor > MAX_MINOR:
        raise AmountError(text)
    return int(minor)


def format_money(minor: int, currency: str, minor_per_major: int = 100) -> str:
    """'¥5,000.00' for CNY, '5,000.00 EUR' otherwise."""
    digits = len(str(minor_per_major)) - 1
    major, rest = divmod(abs(minor), minor_per_major)
    text = f"{major:,}" + (f".{rest:0{digits}d}" if digits else "")
    sign = "-" if minor < 0 else ""
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


def format_whole(minor: int, currency: str, minor_per_major: int = 100) -> str:
    """'¥300,000' for a whole amount (a poster's), else as format_money writes it."""
    if minor % minor_per_major:
        return format_money(minor, currency, minor_per_major)
    return format_money(minor // minor_per_major, currency, 1)

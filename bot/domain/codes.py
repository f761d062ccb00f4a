"""Human-friendly random codes: tip receipts and reward claim codes.

Crockford base32 (no I, L, O, U): 5 bits a character, read aloud without confusion. Input is
normalised the forgiving way: case, spaces and dashes do not matter; O reads as 0, I and L as 1.
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
_IGNORED = {" ", "-", "\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "_", "\n", "\t"}

RECEIPT_CHARS = 20  # 100 bits
RECEIPT_GROUP = 4
CLAIM_CHARS = 15  # 75 bits
CLAIM_GROUP = 5


def generate(chars: int, group: int) -> str:
    """A random code of `chars` characters (5 bits each), grouped with dashes."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(chars))
    return "-".join(raw[i : i + group] for i in range(0, chars, group))


def new_receipt() -> str:
    return generate(RECEIPT_CHARS, RECEIPT_GROUP)


def normalize(text: str, chars: int) -> str | None:
    """The canonical form of a typed code, or None when it cannot be one."""
    if len(text) > chars * 3:
        return None
    cleaned = "".join(ch for ch in text.upper() if ch not in _IGNORED).translate(_CONFUSABLE)
    if len(cleaned) != chars or any(ch not in ALPHABET for ch in cleaned):
        return None
    return cleaned


def normalize_receipt(text: str) -> str | None:
    return normalize(text, RECEIPT_CHARS)


def new_claim_code() -> str:
    return generate(CLAIM_CHARS, CLAIM_GROUP)


def normalize_claim_code(text: str) -> str | None:
    return normalize(text, CLAIM_CHARS)

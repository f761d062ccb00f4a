"""Envelope encryption, keyed hashes and the master key ring.

Every report has its own 256-bit data key. Fields and attachments are sealed with AES-GCM under
it, bound to the report's uid and the field name. The data key is stored wrapped by a master key
(key id beside it), so destroying the wrap destroys the report. Receipts, claim codes, update
markers and audit MACs are HMACs under subkeys of the index secret (a random key stored wrapped
by the master key), so the database alone reveals nothing. Pseudonyms of tipsters and the
update inbox use window keys instead (`WindowKey`, managed by bot.crypto.windows): random keys
that are deleted when their window is over, so not even the master key links them to anyone
afterwards.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

FORMAT_VERSION = 1
NONCE_BYTES = 12
KEY_BYTES = 32


class VaultError(Exception):
    """A sealed value cannot be opened: wrong key, wrong context or tampered bytes."""


class KeyRingError(Exception):
    """The master key material is missing or malformed."""


def _derive(master: bytes, purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=f"tipline:{purpose}".encode()
    ).derive(master)


@dataclass(frozen=True)
class MasterKey:
    """One master key and the wrapping key derived from it."""

    key_id: str
    wrapping_key: bytes

    @classmethod
    def from_bytes(cls, material: bytes) -> MasterKey:
        if len(material) != KEY_BYTES:
            raise KeyRingError(f"a master key must be {KEY_BYTES} bytes, got {len(material)}")
        key_id = hashlib.sha256(b"tipline:key-id:" + material).hexdigest()[:12]
        return cls(key_id=key_id, wrapping_key=_derive(material, "wrap:v1"))

    def __repr__(self) -> str:
        return f"MasterKey(key_id={self.key_id!r})"


def new_master_key_text() -> str:
    """A fresh master key as base64 text, as `keygen` prints and the key file holds."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def parse_master_key_text(text: str) -> bytes:
    """Decode one base64 master key, refusing anything that is not exactly 32 bytes."""
    try:
        material = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeyRingError("a master key must be base64 text") from exc
    if len(material) != KEY_BYTES:
        raise KeyRingError(f"a master key must decode to {KEY_BYTES} bytes, got {len(material)}")
    return material


class KeyRing:
    """Master keys by id; the first one wraps new data keys, all of them can unwrap."""

    def __init__(self, keys: Sequence[MasterKey]) -> None:
        if not keys:
            raise KeyRingError("the key ring is empty")
        self._keys = list(keys)
        self._by_id = {key.key_id: key for key in keys}

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> KeyRing:
        return cls([MasterKey.from_bytes(parse_master_key_text(text)) for text in texts])

    @classmethod
    def from_file(cls, path: Path) -> KeyRing:
        """Read a key file: one base64 key per line, the newest (primary) first."""
        lines = [
            line.strip()
            for line in path.read_text(encoding="ascii").splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]
        return cls.from_texts(lines)

    @staticmethod
    def create_file(path: Path) -> None:
        """Write a new key file readable only by its owner; never overwrites an existing one."""
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(new_master_key_text() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    @property
    def primary(self) -> MasterKey:
        return self._keys[0]

    @property
    def keys(self) -> tuple[MasterKey, ...]:
        return tuple(self._keys)

    def get(self, key_id: str) -> MasterKey:
        try:
            return self._by_id[key_id]
        except KeyError:
            raise VaultError(f"master key {key_id} is not in the key ring") from None


def _context(*parts: str) -> bytes:
    return ("tipline:v1:" + ":".join(parts)).encode()


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return bytes([FORMAT_VERSION]) + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _open(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[0] != FORMAT_VERSION:
        raise VaultError("sealed value is malformed")
    nonce = sealed[1 : 1 + NONCE_BYTES]
    try:
        return AESGCM(key).decrypt(nonce, sealed[1 + NONCE_BYTES :], aad)
    except InvalidTag:
        raise VaultError("sealed value does not open: wrong key, context or tampered") from None


@dataclass(frozen=True)
class WrappedKey:
    """A data key sealed by a master key, with that key's id."""

    key_id: str
    blob: bytes


class DataKey:
    """A report's own key; seals its fields and attachments bound to the report uid."""

    __slots__ = ("_key", "uid")

    @property
    def material(self) -> bytes:
        """The raw key (only for wrapping it again elsewhere, e.g. the index secret)."""
        return self._key

    def __init__(self, uid: str, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise VaultError("a data key must be 32 bytes")
        self.uid = uid
        self._key = key

    def seal(self, field: str, plaintext: bytes) -> bytes:
        return _seal(self._key, plaintext, _context("field", self.uid, field))

    def open(self, field: str, sealed: bytes) -> bytes:
        return _open(self._key, sealed, _context("field", self.uid, field))

    def seal_text(self, field: str, text: str) -> bytes:
        return self.seal(field, text.encode("utf-8"))

    def open_text(self, field: str, sealed: bytes) -> str:
        return self.open(field, sealed).decode("utf-8")

    def __repr__(self) -> str:
        return f"DataKey(uid={self.uid!r})"


def keyed_pseudonym(key: bytes, purpose: str, user_id: int, period: str = "") -> bytes:
    """HMAC-SHA256 of a Telegram user id for one purpose (and period), cut to 16 bytes."""
    return hmac.digest(key, f"{purpose}:{period}:{user_id}".encode(), "sha256")[:16]


class WindowKey(DataKey):
    """A random key for one purpose and one window of time (or one batch of updates), stored
    wrapped like a data key under its name, and deleted when the window is over. It keys the
    tipster's pseudonyms of that window and seals what the window holds (the inbox)."""

    __slots__ = ("expires_at", "opens_at", "purpose")

    def __init__(self, name: str, purpose: str, key: bytes, opens_at: int, expires_at: int):
        super().__init__(name, key)
        self.purpose = purpose
        self.opens_at = opens_at
        self.expires_at = expires_at

    @property
    def name(self) -> str:
        return self.uid

    def pseudonym(self, user_id: int, period: str = "") -> bytes:
        return keyed_pseudonym(self._key, self.purpose, user_id, period)

    def __repr__(self) -> str:
        return f"WindowKey(name={self.uid!r})"


@dataclass(frozen=True)
class IndexKeys:
    """Keys for keyed hashes (receipts, claim codes, update markers, audit MACs).

    They derive from one random index secret kept wrapped in the database, not from a master
    key, so rotating the master key changes no hash: old receipts keep working and the old
    master key can be removed.
    """

    receipt_key: bytes
    pseudonym_key: bytes
    audit_key: bytes

    @classmethod
    def from_secret(cls, secret: bytes) -> IndexKeys:
        return cls(
            receipt_key=_derive(secret, "receipt:v1"),
            pseudonym_key=_derive(secret, "pseudonym:v1"),
            audit_key=_derive(secret, "audit:v1"),
        )


INDEX_KEY_NAME = "index"
AUDIT_KEY_ID = "index-v1"


class Vault:
    """The one crypto facade: data keys, wrapping, receipts and pseudonyms."""

    def __init__(self, ring: KeyRing, index_secret: bytes | None = None) -> None:
        self._ring = ring
        # Without a stored index secret (unit tests, tools), derive one from the primary key.
        secret = index_secret or _derive(ring.primary.wrapping_key, "index:derived:v1")
        self._index = IndexKeys.from_secret(secret)

    @property
    def ring(self) -> KeyRing:
        return self._ring

    @staticmethod
    def new_uid() -> str:
        return secrets.token_hex(16)

    def new_data_key(self, uid: str) -> tuple[DataKey, WrappedKey]:
        material = secrets.token_bytes(KEY_BYTES)
        return DataKey(uid, material), self.wrap(uid, material)

    def wrap(self, uid: str, material: bytes) -> WrappedKey:
        master = self._ring.primary
        blob = _seal(master.wrapping_key, material, _context("dek", uid))
        return WrappedKey(master.key_id, blob)

    def unwrap(self, uid: str, wrapped: WrappedKey) -> DataKey:
        master = self._ring.get(wrapped.key_id)
        return DataKey(uid, _open(master.wrapping_key, wrapped.blob, _context("dek", uid)))

    def rewrap(self, uid: str, wrapped: WrappedKey) -> WrappedKey:
        """Re-seal a data key under the primary master key (key rotation)."""
        master = self._ring.get(wrapped.key_id)
        material = _open(master.wrapping_key, wrapped.blob, _context("dek", uid))
        return self.wrap(uid, material)

    def receipt_hashes(self, normalized_receipt: str) -> list[bytes]:
        """The receipt's keyed hash (a list, so look-ups could span a future index rotation)."""
        return [
            hmac.new(self._index.receipt_key, normalized_receipt.encode(), hashlib.sha256).digest()
        ]

    def receipt_hash(self, normalized_receipt: str) -> bytes:
        return self.receipt_hashes(normalized_receipt)[0]

    def claim_code_hashes(self, normalized_code: str) -> list[bytes]:
        """A claim code's keyed hash (a list, like receipt_hashes, so look-ups take several)."""
        message = f"claim:{normalized_code}".encode()
        return [hmac.new(self._index.receipt_key, message, hashlib.sha256).digest()]

    def marker(self, text: str) -> bytes:
        """Keyed hash naming an update, for the applied-updates markers (never a person)."""
        message = f"applied:{text}".encode()
        return hmac.new(self._index.pseudonym_key, message, hashlib.sha256).digest()[:16]

    def seal_transient(self, purpose: str, context: str, plaintext: bytes) -> bytes:
        """Seal short-lived data (the update inbox, staff notices) under a subkey of the primary
        master key."""
        master = self._ring.primary
        key = _derive(master.wrapping_key, f"transient:{purpose}")
        return master.key_id.encode() + b":" + _seal(key, plaintext, _context(purpose, context))

    def open_transient(self, purpose: str, context: str, sealed: bytes) -> bytes:
        key_id, sep, body = sealed.partition(b":")
        if not sep:
            raise VaultError("sealed value is malformed")
        master = self.ring.get(key_id.decode("ascii", "replace"))
        key = _derive(master.wrapping_key, f"transient:{purpose}")
        return _open(key, body, _context(purpose, context))

    def token_hash(self, token: str) -> bytes:
        """Keyed hash of a random token handed out in a button (question replies)."""
        message = f"token:{token}".encode()
        return hmac.new(self._index.receipt_key, message, hashlib.sha256).digest()

    def audit_mac(self, key_id: str, content: bytes) -> bytes:
        """MAC of one audit row under the audit key named by `key_id`."""
        if key_id != AUDIT_KEY_ID:
            raise VaultError(f"audit key {key_id} is not known")
        return hmac.new(self._index.audit_key, content, hashlib.sha256).digest()

    def legacy_pseudonym(self, purpose: str, user_id: int) -> bytes:
        """A pseudonym as versions before window keys made it (under the index secret). Only
        to find a draft written before the upgrade; nothing is keyed by it any more."""
        return keyed_pseudonym(self._index.pseudonym_key, purpose, user_id)

    def new_window_key(
        self, name: str, purpose: str, opens_at: int, expires_at: int
    ) -> tuple[WindowKey, WrappedKey]:
        """A fresh random window key and its wrap under the primary master key."""
        material = secrets.token_bytes(KEY_BYTES)
        return WindowKey(name, purpose, material, opens_at, expires_at), self.wrap(name, material)

    def unwrap_window_key(
        self, name: str, purpose: str, wrapped: WrappedKey, opens_at: int, expires_at: int
    ) -> WindowKey:
        material = self.unwrap(name, wrapped).material
        return WindowKey(name, purpose, material, opens_at, expires_at)


# ----- sealing to the receipt ------------------------------------------------------------------
# A report stores the X25519 public key derived from its receipt. Anything sealed to it (the
# reward claim code) opens only with the receipt, which the line never stores.


def _receipt_private(normalized_receipt: str, uid: str) -> X25519PrivateKey:
    seed = HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES,
        salt=uid.encode(),
        info=b"tipline:receipt-box:v1",
    ).derive(normalized_receipt.encode())
    return X25519PrivateKey.from_private_bytes(seed)


def _box_key(shared: bytes, uid: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=KEY_BYTES, salt=uid.encode(), info=b"tipline:box:v1"
    ).derive(shared)


def receipt_box_public(normalized_receipt: str, uid: str) -> bytes:
    """The public half of the receipt's key pair, stored with the report."""
    public = _receipt_private(normalized_receipt, uid).public_key()
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def seal_to_receipt(box_public: bytes, uid: str, plaintext: bytes) -> bytes:
    """Seal so that only the holder of the receipt can open (ephemeral X25519 + AES-GCM)."""
    ephemeral = X25519PrivateKey.generate()
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(box_public))
    ephemeral_public = ephemeral.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return ephemeral_public + _seal(_box_key(shared, uid), plaintext, _context("box", uid))


def open_with_receipt(normalized_receipt: str, uid: str, sealed: bytes) -> bytes:
    if len(sealed) < 32:
        raise VaultError("sealed value is malformed")
    private = _receipt_private(normalized_receipt, uid)
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(sealed[:32]))
    except ValueError:
        raise VaultError("sealed value is malformed") from None
    return _open(_box_key(shared, uid), sealed[32:], _context("box", uid))

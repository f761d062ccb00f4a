"""The vault: sealing round trips, tampering and wrong keys are detected, keys rotate."""

from __future__ import annotations

import base64
import stat

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.crypto.vault import (
    KeyRing,
    KeyRingError,
    Vault,
    VaultError,
    WrappedKey,
    keyed_pseudonym,
    new_master_key_text,
)


def _ring(*texts: str) -> KeyRing:
    return KeyRing.from_texts(texts or [new_master_key_text()])


@given(st.binary(max_size=4096), st.text(min_size=1, max_size=20))
def test_seal_open_round_trip(plaintext: bytes, field: str) -> None:
    vault = Vault(_ring())
    key, _ = vault.new_data_key(vault.new_uid())
    assert key.open(field, key.seal(field, plaintext)) == plaintext


def test_sealed_bytes_do_not_contain_plaintext_and_differ_each_time() -> None:
    vault = Vault(_ring())
    key, _ = vault.new_data_key("uid-1")
    one, two = key.seal("body", b"CANARY-TEXT"), key.seal("body", b"CANARY-TEXT")
    assert b"CANARY" not in one
    assert one != two


@pytest.mark.parametrize("position", [0, 5, 20, -1])
def test_any_flipped_byte_is_detected(position: int) -> None:
    vault = Vault(_ring())
    key, _ = vault.new_data_key("uid-1")
    sealed = bytearray(key.seal("body", b"secret tip"))
    sealed[position] ^= 0x01
    with pytest.raises(VaultError):
        key.open("body", bytes(sealed))


def test_value_cannot_be_moved_to_another_field_or_report() -> None:
    vault = Vault(_ring())
    key, wrapped = vault.new_data_key("uid-1")
    sealed = key.seal("body", b"secret tip")
    with pytest.raises(VaultError):
        key.open("area", sealed)
    same_material_other_report = vault.unwrap("uid-1", wrapped)
    same_material_other_report.uid = "uid-2"
    with pytest.raises(VaultError):
        same_material_other_report.open("body", sealed)


def test_wrapped_key_opens_only_with_its_master_key_and_uid() -> None:
    vault = Vault(_ring())
    key, wrapped = vault.new_data_key("uid-1")
    sealed = key.seal("body", b"tip")
    assert vault.unwrap("uid-1", wrapped).open("body", sealed) == b"tip"
    with pytest.raises(VaultError):
        vault.unwrap("uid-2", wrapped)
    stranger = Vault(_ring())
    with pytest.raises(VaultError):
        stranger.unwrap("uid-1", wrapped)
    forged = WrappedKey(stranger.ring.primary.key_id, wrapped.blob)
    with pytest.raises(VaultError):
        stranger.unwrap("uid-1", forged)


def test_rotation_rewraps_under_the_new_primary_and_old_wraps_still_open() -> None:
    old_text, new_text = new_master_key_text(), new_master_key_text()
    old = Vault(_ring(old_text))
    key, wrapped = old.new_data_key("uid-1")
    sealed = key.seal("body", b"tip")
    rotated = Vault(_ring(new_text, old_text))
    assert rotated.unwrap("uid-1", wrapped).open("body", sealed) == b"tip"
    rewrapped = rotated.rewrap("uid-1", wrapped)
    assert rewrapped.key_id == rotated.ring.primary.key_id != wrapped.key_id
    assert Vault(_ring(new_text)).unwrap("uid-1", rewrapped).open("body", sealed) == b"tip"


def test_receipt_hash_is_keyed_by_the_index_secret_not_the_master_key() -> None:
    index = b"i" * 32
    old = Vault(_ring(), index)
    digest = old.receipt_hash("ABCD")
    assert digest != Vault(_ring()).receipt_hash("ABCD")
    assert Vault(_ring(), index).receipt_hash("ABCD") == digest, "rotation keeps the index"


def test_pseudonyms_depend_on_the_window_key_purpose_and_period_and_hide_the_id() -> None:
    vault = Vault(_ring())
    tips, _ = vault.new_window_key("tips:0", "tips", 0, 86_400)
    a = tips.pseudonym(987654321, "2026-11-28")
    assert a == tips.pseudonym(987654321, "2026-11-28")
    assert a != tips.pseudonym(987654321, "2026-11-29")
    assert a == keyed_pseudonym(tips.material, "tips", 987654321, "2026-11-28")
    assert a != keyed_pseudonym(tips.material, "draft", 987654321, "2026-11-28")
    next_day, _ = vault.new_window_key("tips:86400", "tips", 86_400, 2 * 86_400)
    assert a != next_day.pseudonym(987654321, "2026-11-28"), "each window has its own key"
    assert b"987654321" not in a


def test_a_window_key_is_stored_wrapped_and_opens_only_under_its_name() -> None:
    vault = Vault(_ring())
    key, wrapped = vault.new_window_key("inbox:ab", "inbox", 5, 5)
    sealed = key.seal("update:1", b"an update")
    again = vault.unwrap_window_key("inbox:ab", "inbox", wrapped, 5, 5)
    assert again.open("update:1", sealed) == b"an update"
    with pytest.raises(VaultError):
        vault.unwrap_window_key("inbox:cd", "inbox", wrapped, 5, 5)
    with pytest.raises(VaultError):
        again.open("update:2", sealed)


@pytest.mark.parametrize(
    "text",
    ["", "not base64!!", base64.b64encode(b"short").decode(), base64.b64encode(b"x" * 33).decode()],
)
def test_malformed_master_keys_are_refused(text: str) -> None:
    with pytest.raises(KeyRingError):
        KeyRing.from_texts([text])


def test_key_file_is_created_owner_only_and_never_overwritten(tmp_path) -> None:
    path = tmp_path / "secrets" / "master.key"
    KeyRing.create_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = KeyRing.from_file(path).primary.key_id
    with pytest.raises(FileExistsError):
        KeyRing.create_file(path)
    assert KeyRing.from_file(path).primary.key_id == first


def test_sealed_to_receipt_opens_only_with_that_receipt() -> None:
    from bot.crypto.vault import open_with_receipt, receipt_box_public, seal_to_receipt

    public = receipt_box_public("RECEIPT00000000000001", "uid-1")
    sealed = seal_to_receipt(public, "uid-1", b"CLAIM-CODE")
    assert b"CLAIM-CODE" not in sealed
    assert open_with_receipt("RECEIPT00000000000001", "uid-1", sealed) == b"CLAIM-CODE"
    with pytest.raises(VaultError):
        open_with_receipt("RECEIPT00000000000002", "uid-1", sealed)
    with pytest.raises(VaultError):
        open_with_receipt("RECEIPT00000000000001", "uid-2", sealed)

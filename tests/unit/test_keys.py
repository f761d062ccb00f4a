"""Key rotation: after re-wrapping, the old master key can go and everything still opens."""

from __future__ import annotations

import pytest

from bot.crypto.keys import add_key_to_file, open_vault, rewrap_all
from bot.crypto.vault import KeyRing, WrappedKey
from bot.crypto.windows import window_record
from bot.domain.outbox import NOTICE_PURPOSE, StaffNotice, notice_context
from bot.domain.policy import load as load_policy
from bot.services.audit import AuditLog
from bot.services.notifier import Notifier
from storage import inbox, outbox, reports
from storage import windows as window_keys
from storage.blobs import BlobStore
from storage.db import Database
from storage.lock import DataDirInUse, DataDirLock
from tests.services import TipsterSide, service_env


async def test_rotation_rewraps_everything_and_the_old_key_can_be_removed(
    tmp_path, database_url
) -> None:
    key_file = tmp_path / "master.key"
    KeyRing.create_file(key_file)
    old_ring = KeyRing.from_file(key_file)
    db = await Database.open(tmp_path / "data", database_url)
    await db.migrate()
    vault = await open_vault(old_ring, db)
    blobs = BlobStore(tmp_path / "data" / "blobs")
    blobs.ensure()
    policy = load_policy(None)
    intake = TipsterSide(service_env(db, vault, blobs, policy))
    await intake.start(5, "en")
    await intake.choose_category(5, "other")
    await intake.choose_area(5, area_key=None, typed="Dock 4")
    await intake.add_text(5, "text before rotation")
    await intake.review(5)
    submission = await intake.submit(5, 5)
    await intake.start(6, "en")  # a draft in progress is re-wrapped too
    async with db.transaction() as conn:
        await AuditLog(vault).append(conn, at=1, actor_id=1, action="rotate", report_ref=None)
        # An update still in the inbox and a digest still queued: sealed under the old key.
        await inbox.store(conn, [(77, vault.seal_transient("inbox", "77", b"an update"))], 1)
        # And one sealed under a batch key of its own, as this version seals them.
        batch, wrapped = vault.new_window_key("inbox:batch", "inbox", 1, 1)
        await window_keys.insert(conn, window_record(batch, wrapped))
        await inbox.store(conn, [(78, batch.seal("update:78", b"a newer update"))], 1, batch.name)
        notice = StaffNotice(key="jobs.digest_review", params={"new": 1})
        await Notifier(vault).notice(conn, -1_001, notice, 1)

    new_ring = add_key_to_file(key_file)
    assert new_ring.primary.key_id != old_ring.primary.key_id
    assert len(new_ring.keys) == 2
    rotation = await rewrap_all(new_ring, db)
    # One report, one draft, the index secret, and the window keys: the drafts' hour, the
    # tips' day, the inbox batch.
    assert rotation.rewrapped == 6
    assert rotation.resealed == 2  # the inbox row and the queued notice
    assert rotation.retired_key_ids == (old_ring.primary.key_id,)
    assert rotation.left_under_retired == 0

    only_new = KeyRing.from_texts([key_file.read_text().splitlines()[0]])
    fresh = await open_vault(only_new, db)
    async with db.read() as conn:
        report = await reports.by_receipt(
            conn, fresh.receipt_hashes(submission.receipt.replace("-", ""))
        )
    assert report is not None, "the old receipt still finds the tip"
    key = fresh.unwrap(report.uid, WrappedKey(report.key_id, report.wrapped_key))
    assert key.open_text("area", report.sealed_area) == "text:Dock 4"
    intake_after = TipsterSide(service_env(db, fresh, blobs, policy))
    assert (await intake_after.current(6)) is not None, "the draft opens with the new key"
    assert (await AuditLog(fresh).verify(db)).intact
    async with db.read() as conn:
        [(update_id, sealed)] = await inbox.all_sealed(conn)
        [(_, chat_id, sealed_notice)] = await outbox.pending_notices(conn)
        [newer] = await window_keys.by_names(conn, ["inbox:batch"])
        [newer_row] = await conn.fetch_all("SELECT sealed FROM inbox WHERE update_id = 78")
    assert fresh.open_transient("inbox", str(update_id), sealed) == b"an update"
    batch_again = fresh.unwrap_window_key(
        "inbox:batch", "inbox", WrappedKey(newer.key_id, newer.wrapped_key), 1, 1
    )
    assert batch_again.open("update:78", bytes(newer_row[0])) == b"a newer update"
    opened = fresh.open_transient(NOTICE_PURPOSE, notice_context(chat_id), sealed_notice)
    assert StaffNotice.model_validate_json(opened) == notice
    await db.close()


def test_one_process_at_a_time_on_a_data_directory(tmp_path) -> None:
    first = DataDirLock(tmp_path)
    first.acquire()
    with pytest.raises(DataDirInUse):
        DataDirLock(tmp_path).acquire()
    first.release()
    with DataDirLock(tmp_path):  # free again once released
        pass

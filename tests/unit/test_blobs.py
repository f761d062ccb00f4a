"""Attachment files: written so that a power cut keeps them whole and findable."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from storage.blobs import BlobStore


async def test_a_blob_survives_a_power_cut_file_and_directory_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file's bytes are synced before the rename, and the directory after it (the rename
    itself lives in the directory). os.fsync is watched, not replaced: every call goes through."""
    synced: list[tuple[str, int]] = []
    real_fsync = os.fsync

    def watched(fd: int) -> None:
        info = os.fstat(fd)
        synced.append(("dir" if stat.S_ISDIR(info.st_mode) else "file", info.st_ino))
        real_fsync(fd)

    store = BlobStore(tmp_path / "blobs")
    store.ensure()
    monkeypatch.setattr(os, "fsync", watched)
    name = store.new_name()
    await store.put(name, b"sealed bytes")
    path = tmp_path / "blobs" / name[:2] / name
    assert path.read_bytes() == b"sealed bytes"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    kinds = [kind for kind, _ in synced]
    assert kinds.index("file") < len(kinds) - 1 - kinds[::-1].index("dir"), synced
    assert ("dir", path.parent.stat().st_ino) in synced, "the file's directory is synced"
    assert ("dir", (tmp_path / "blobs").stat().st_ino) in synced, "a new subdirectory too"

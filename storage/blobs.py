"""Sealed attachment files under the data dir, written atomically, named at random."""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path


def _sync_directory(directory: Path) -> None:
    """Make a rename or a new entry in `directory` survive a power cut, not only the data."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlobStore:
    """Files hold only ciphertext; the name is random and says nothing about the content."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def ensure(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)

    @staticmethod
    def new_name() -> str:
        return secrets.token_hex(16)

    def _path(self, name: str) -> Path:
        if len(name) != 32 or any(ch not in "0123456789abcdef" for ch in name):
            raise ValueError("not a blob name")
        return self.root / name[:2] / name

    def _write(self, name: str, sealed: bytes) -> None:
        path = self._path(name)
        if not path.parent.exists():
            path.parent.mkdir(exist_ok=True, mode=0o700)
            _sync_directory(self.root)
        temp = path.with_suffix(".tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, sealed)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
        _sync_directory(path.parent)

    async def put(self, name: str, sealed: bytes) -> None:
        await asyncio.to_thread(self._write, name, sealed)

    async def get(self, name: str) -> bytes:
        return await asyncio.to_thread(self._path(name).read_bytes)

    async def delete(self, name: str) -> None:
        path = self._path(name)
        await asyncio.to_thread(path.unlink, True)

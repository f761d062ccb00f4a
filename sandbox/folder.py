"""The sandbox folder: everything a sandbox keeps, in one place, apart from any real data.

    sandbox-data/
      .tipline-sandbox   marks the folder as a sandbox's (--reset deletes only such a folder)
      data/              the bot's data directory: SQLite database, encrypted attachments
      master.key         the sandbox's own master key, made on first start (mode 0600)
      policy.toml        the sandbox's policy (the shipped one with a demo's changes)
      emulator.json      the emulator's chats, messages and files
      sandbox.json       how many times demo tips were seeded
      sandbox.log        the bot's log and the sandbox's

The key sits beside the data on purpose: this is demo data, and the folder is thrown away
whole. A real deployment keeps its key apart (docs/DECISIONS.md).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from bot.crypto import vault

DEFAULT_FOLDER = Path("./sandbox-data")
MARKER = ".tipline-sandbox"

POLICY = """\
# The sandbox's policy: the shipped one (bot/domain/policy_default.toml) with what a demo
# needs changed. Edit it and restart the sandbox to try another policy.

[review]
# A real tip line waits a random time before posting a tip (anonymity); a demo shows it at once.
post_delay_max_seconds = 0

[telegram]
# The emulator is not Telegram: no flood limits to respect.
messages_per_second = 0
group_messages_per_minute = 0

[jobs]
sweep_seconds = 10
"""


class FolderError(Exception):
    """The folder cannot be used as a sandbox folder; the message says why in one line."""


@dataclass(frozen=True)
class Folder:
    root: Path

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def key_file(self) -> Path:
        return self.root / "master.key"

    @property
    def policy_file(self) -> Path:
        return self.root / "policy.toml"

    @property
    def emulator_file(self) -> Path:
        return self.root / "emulator.json"

    @property
    def state_file(self) -> Path:
        return self.root / "sandbox.json"

    @property
    def log_file(self) -> Path:
        return self.root / "sandbox.log"

    def _check(self) -> None:
        if self.root.exists() and not self.root.is_dir():
            raise FolderError(f"{self.root} is not a folder")
        if self.root.is_dir() and any(self.root.iterdir()) and not (self.root / MARKER).exists():
            raise FolderError(
                f"{self.root} is not empty and is not a sandbox folder: choose another"
                " with --folder (the sandbox never mixes its demo data with anything else)"
            )

    def reset(self) -> None:
        """Delete the whole sandbox folder (only a folder the sandbox made)."""
        self._check()
        if self.root.exists():
            shutil.rmtree(self.root)

    def prepare(self) -> None:
        """Make the folder, its key and its policy if they are missing."""
        self._check()
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        (self.root / MARKER).write_text(
            "This folder belongs to a tipline sandbox: demo data only. Delete it at will.\n",
            encoding="utf-8",
        )
        if not self.key_file.exists():
            self.key_file.write_text(vault.new_master_key_text() + "\n", encoding="utf-8")
            os.chmod(self.key_file, 0o600)
        if not self.policy_file.exists():
            self.policy_file.write_text(POLICY, encoding="utf-8")

    def master_key(self) -> str:
        return self.key_file.read_text(encoding="utf-8").strip()

    def seed_rounds(self) -> int:
        """How many times demo tips were seeded into this folder."""
        if not self.state_file.exists():
            return 0
        data = json.loads(self.state_file.read_text(encoding="utf-8"))
        return int(data.get("seed_rounds", 0))

    def record_seed(self) -> int:
        rounds = self.seed_rounds() + 1
        self.state_file.write_text(json.dumps({"seed_rounds": rounds}) + "\n", encoding="utf-8")
        return rounds

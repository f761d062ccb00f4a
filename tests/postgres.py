"""A throwaway PostgreSQL cluster for the tests: initdb in a temporary directory, listening on
127.0.0.1 on a free port, started once per test run; each test gets a database of its own.

PostgreSQL refuses to run as root, so as root the cluster belongs to an unprivileged user
(TIPLINE_TEST_PG_USER, by default `nobody`) and its commands run through `runuser`. The server
binaries are found in TIPLINE_TEST_PG_BIN, else the newest /usr/lib/postgresql/*/bin, else on
PATH. When any of that fails, the tests that need PostgreSQL fail and say why.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "tipline"


class PostgresUnavailable(Exception):
    """The test cluster could not be set up; the message says what to install or set."""


def find_bin_dir() -> Path:
    given = os.environ.get("TIPLINE_TEST_PG_BIN")
    if given:
        if not (Path(given) / "initdb").exists():
            raise PostgresUnavailable(f"TIPLINE_TEST_PG_BIN={given} holds no initdb")
        return Path(given)
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if versions:
        return versions[-1].parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise PostgresUnavailable(
        "no PostgreSQL server binaries (initdb, pg_ctl): install Debian's postgresql package"
        " (.ci/run does), or point TIPLINE_TEST_PG_BIN at their directory"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    bin_dir: Path
    root: Path
    port: int
    user: str | None  # the unprivileged owner when the tests run as root

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)

    def _must(self, *args: str) -> None:
        done = self._run(*args)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise PostgresUnavailable(
                f"{args[0]} failed ({done.returncode}): {done.stderr.strip()[-2000:]}\n{log}"
            )

    @classmethod
    def start(cls) -> PostgresServer:
        bin_dir = find_bin_dir()
        user: str | None = None
        root = Path(tempfile.mkdtemp(prefix="tipline-pg-"))
        if os.geteuid() == 0:
            user = os.environ.get("TIPLINE_TEST_PG_USER", "nobody")
            try:
                owner = pwd.getpwnam(user)
            except KeyError:
                shutil.rmtree(root, ignore_errors=True)
                raise PostgresUnavailable(
                    f"the tests run as root and PostgreSQL will not: there is no user {user!r}"
                    " to run it as (set TIPLINE_TEST_PG_USER, or create the user)"
                ) from None
            if shutil.which("runuser") is None:
                shutil.rmtree(root, ignore_errors=True)
                raise PostgresUnavailable("runuser (util-linux) is needed to run PostgreSQL")
            os.chown(root, owner.pw_uid, owner.pw_gid)
        server = cls(bin_dir=bin_dir, root=root, port=_free_port(), user=user)
        try:
            server._must(
                "initdb",
                "-D",
                str(server.data),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            )
            options = " ".join(
                [
                    "-c listen_addresses=127.0.0.1",
                    f"-c port={server.port}",
                    f"-c unix_socket_directories={root}",
                    "-c fsync=off",
                    "-c synchronous_commit=off",
                    "-c full_page_writes=off",
                    "-c max_connections=200",
                ]
            )
            server._must(
                "pg_ctl", "-D", str(server.data), "-l", str(server.log), "-o", options, "-w",
                "start",
            )  # fmt: skip
        except BaseException:
            server.stop()
            raise
        return server

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

"""A throw-away PostgreSQL server for tests and benchmarks: `initdb` and `pg_ctl` on a temporary
folder, listening only on a Unix socket inside it, removed afterwards.

PostgreSQL refuses to run as root, so when the tests run as root the server runs as the
`postgres` user (which Debian's `postgresql` package creates), else as `nobody`.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs
import psycopg

__all__ = ["MISSING", "Conn", "Server", "find_bindir", "running"]

#: why no server can be started here, for a visible skip (or a failure in CI)
MISSING = (
    "no PostgreSQL server programs (initdb, pg_ctl) found on PATH or in "
    "/usr/lib/postgresql/*/bin; install Debian's `postgresql` package"
)


def find_bindir() -> Path | None:
    """The folder holding `initdb` and `pg_ctl`: from PATH, else the newest Debian install."""
    found = shutil.which("initdb")
    if found is not None:
        return Path(found).resolve().parent
    installed = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return installed[-1].parent if installed else None


def _run_as() -> str | None:
    """The unprivileged user to run the server as when we are root (None: run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for user in ("postgres", "nobody"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            continue
        return user
    raise RuntimeError("running as root and no `postgres` or `nobody` user to run PostgreSQL as")


#: a connection returning rows as tuples
Conn = psycopg.Connection[tuple[object, ...]]


@attrs.frozen
class Server:
    """A running server: connect with `psycopg.connect(server.conninfo)`."""

    socket_dir: Path
    user: str = "postgres"
    dbname: str = "postgres"

    @property
    def conninfo(self) -> str:
        return f"host={self.socket_dir} user={self.user} dbname={self.dbname}"


@contextmanager
def running(*settings: str) -> Iterator[Server]:
    """Start a fresh server (extra `name=value` settings), yield it, stop and remove it."""
    bindir = find_bindir()
    if bindir is None:
        raise FileNotFoundError(MISSING)
    user = _run_as()
    prefix = ["runuser", "-u", user, "--"] if user is not None else []
    # not under pytest's tmp_path: its parents are private to root, and the server user must
    # reach the folder; a Unix socket path must also stay short (about 100 bytes)
    folder = Path(tempfile.mkdtemp(prefix="sm-pg-"))
    if user is not None:
        shutil.chown(folder, user)
    data = folder / "data"

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, text=True, timeout=120)

    options = " ".join(
        f"-c {setting}"
        for setting in ("listen_addresses=''", "fsync=off", "full_page_writes=off", *settings)
    )
    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
            "-E", "UTF8", "--locale=C", "--no-sync")  # fmt: skip
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"),
            "-o", f"{options} -k {folder}", "-w", "start")  # fmt: skip
    except subprocess.CalledProcessError as err:
        log = folder / "server.log"
        tail = log.read_text()[-2000:] if log.exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"{err.cmd[len(prefix) :]} failed:\n{err.stderr}{tail}") from err
    try:
        yield Server(folder)
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)

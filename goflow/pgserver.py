"""A throwaway PostgreSQL server for the test suite and the benchmarks (not for production).

:class:`ThrowawayServer` runs Debian's (or any) PostgreSQL binaries -- ``initdb`` into a fresh
temporary directory, ``pg_ctl start`` listening on 127.0.0.1 on a free port (and a Unix socket in
that directory), ``pg_ctl stop -m fast`` and the directory removed at the end. ``initdb`` refuses to
run as root: when this process is root the server runs as the ``postgres`` user (``runuser``).

The superuser is ``goflow`` with a generated password (password authentication over TCP), so a
wrong password is refused as it would be by a real deployment. :meth:`ThrowawayServer.create_database`
gives each test its own database.
"""
from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

from .errors import GoflowError
from .ports import unused_port

__all__ = ["ThrowawayServer", "find_bindir", "ServerUnavailable"]

USER = "goflow"


class ServerUnavailable(GoflowError):
    """The PostgreSQL binaries are missing or the server did not start."""


def find_bindir() -> str:
    """The directory of ``initdb`` and ``pg_ctl``: ``$PG_BINDIR``, then ``pg_config --bindir``, then
    ``PATH``, then ``/usr/lib/postgresql/<newest>/bin`` (Debian). Raises :class:`ServerUnavailable`."""
    candidates = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(os.environ["PG_BINDIR"])
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10)
            candidates.append(out.stdout.strip())
        except (OSError, subprocess.SubprocessError):
            pass
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(os.path.dirname(os.path.realpath(initdb)))
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                    key=lambda p: [int(x) if x.isdigit() else 0 for x in Path(p).parent.name.split(".")])
    candidates += reversed(debian)
    for d in candidates:
        if d and all(os.access(os.path.join(d, b), os.X_OK) for b in ("initdb", "pg_ctl", "postgres")):
            return d
    raise ServerUnavailable("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: install the "
                            "'postgresql' package (apt-get install postgresql) or set PG_BINDIR")


def _free_port() -> int:
    return unused_port("127.0.0.1")      # kept across stop/start: outside the ephemeral range


class ThrowawayServer:
    """``with ThrowawayServer() as pg: url = pg.create_database("t1")``.

    ``fsync=False`` (tests) turns fsync off for speed; benchmarks keep it on (the default)."""

    def __init__(self, *, fsync: bool = True, bindir: str | None = None):
        self.fsync = fsync
        self.bindir = bindir or find_bindir()
        self.password = secrets.token_hex(12)
        self.port = 0
        self.dir: str | None = None
        self._as: list[str] = []
        self._uid: int | None = None

    # ------------------------------------------------------------------------------ lifecycle
    def start(self) -> "ThrowawayServer":
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise ServerUnavailable("running as root, and there is no 'postgres' user to run the "
                                        "server as (initdb refuses root)") from None
            runuser = shutil.which("runuser")
            if runuser is None:
                raise ServerUnavailable("running as root without 'runuser' to run the server as postgres")
            self._as, self._uid = [runuser, "-u", "postgres", "--"], pw.pw_uid
        self.dir = tempfile.mkdtemp(prefix="goflow-pg-")
        try:
            if self._uid is not None:
                os.chown(self.dir, self._uid, -1)
            pwfile = os.path.join(self.dir, "pw")
            with open(pwfile, "w") as f:
                f.write(self.password + "\n")
            if self._uid is not None:
                os.chown(pwfile, self._uid, -1)
            os.chmod(pwfile, 0o600)
            self._run("initdb", "-D", self.data, "-U", USER, f"--pwfile={pwfile}", "-E", "UTF8",
                      "--no-locale", "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync")
            os.unlink(pwfile)
            self.port = _free_port()
            self.start_server()
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def data(self) -> str:
        assert self.dir is not None
        return os.path.join(self.dir, "data")

    @property
    def log_path(self) -> str:
        assert self.dir is not None
        return os.path.join(self.dir, "server.log")

    def start_server(self) -> None:
        """(Re)start the server process on the same directory and port."""
        opts = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.dir}"
                " -c max_connections=200 -c shared_buffers=64MB")
        if not self.fsync:
            opts += " -c fsync=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", self.data, "-l", self.log_path, "-o", opts, "-w", "-t", "60", "start")

    def stop_server(self, mode: str = "fast") -> None:
        """Stop the server process (``fast``: abort transactions, close connections; ``immediate``:
        as if it crashed), keeping its directory."""
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop")

    def stop(self) -> None:
        """Stop the server (if it runs) and remove its directory."""
        if self.dir is None:
            return
        try:
            if os.path.exists(os.path.join(self.data, "postmaster.pid")):
                self.stop_server()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self) -> "ThrowawayServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------------------------ urls
    def url(self, database: str = "postgres", *, password: str | None = None) -> str:
        pw = self.password if password is None else password
        return f"postgresql://{USER}:{pw}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create database ``name`` (dropping one of that name first); returns its URL."""
        import psycopg
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def log_tail(self, n: int = 40) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def _run(self, binary: str, *args: str) -> None:
        cmd = [*self._as, os.path.join(self.bindir, binary), *args]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=self.dir,
                                  stdin=subprocess.DEVNULL)
        except (OSError, subprocess.SubprocessError) as exc:
            raise ServerUnavailable(f"{binary} failed to run: {exc}") from exc
        if proc.returncode != 0:
            raise ServerUnavailable(f"{binary} {args[-1]} exited with {proc.returncode}: "
                                    f"{(proc.stderr or proc.stdout).strip()[-800:]}\n{self.log_tail(10)}")

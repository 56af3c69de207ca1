"""WAL checkpoints off the commit path: a thread of the store with a connection of its own.

With SQLite's automatic checkpoints the committing connection copies the WAL into the database and
fsyncs both inside the ``COMMIT`` that crosses ``wal_autocheckpoint`` pages: on this machine's
ext4 disk one such commit in ~2,000 took 100-200 ms, which was the p99 of event acks. Here the
writer runs with ``wal_autocheckpoint=0`` and this thread checkpoints instead (see docs/store.md,
"Checkpoints").
"""
from __future__ import annotations

import logging
import sqlite3
import struct
import threading

log = logging.getLogger("goflow.store")

__all__ = ["Checkpointer"]


class Checkpointer:
    """Checkpoints the WAL of ``path`` in a background thread.

    After a write (:meth:`wrote`) the thread looks every ``delay`` seconds at how many WAL frames no
    checkpoint has copied yet (the wal-index header in ``<file>-shm``, see :func:`_uncopied`). It
    runs a ``PASSIVE`` checkpoint -- it copies what no reader still needs and never blocks the
    writer -- once ``pages`` frames are waiting (the writer's ``wal_autocheckpoint`` of old), or when
    no write came during the last ``delay`` (the store is idle). A writer that never pauses keeps a
    passive checkpoint from copying the frames written while it ran, so SQLite never starts the WAL
    over: past ``limit_pages`` frames the thread catches up with passive checkpoints, then runs a
    ``RESTART`` checkpoint, which holds the writer back while it copies the little left and fsyncs
    (the WAL stays bounded, at the cost of one slower commit). The restart waits at most
    ``restart_wait`` seconds for the writer and for readers of older snapshots, then gives up until
    the next round. Until the first write the thread only waits.
    """

    def __init__(self, path: str, *, synchronous: str, pages: int, delay: float = 0.5,
                 limit_pages: int | None = None, restart_wait: float = 0.1):
        self.path = path
        self.pages = pages
        self.delay = delay
        self.limit_pages = 2 * pages if limit_pages is None else limit_pages
        self.restart_wait = restart_wait
        self.catch_up = 3         # passive checkpoints at most before a restart
        self.small_pages = 256    # ... until one found at most this many new frames
        self.checkpoints = 0      # how many ran (passive and restart), for tests and figures
        self.restarts = 0
        self._conn = sqlite3.connect(path, timeout=restart_wait, isolation_level=None, check_same_thread=False)
        try:
            self._conn.execute(f"PRAGMA synchronous={synchronous}")
            self._conn.execute("PRAGMA wal_autocheckpoint=0")
        except BaseException:
            self._conn.close()
            raise
        self._wrote = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._busy = False
        self._thread = threading.Thread(target=self._run, name=f"goflow-checkpoint {path}", daemon=True)
        self._thread.start()

    def wrote(self) -> None:
        """A transaction was committed."""
        self._wrote.set()

    def settle(self, timeout: float | None = None) -> bool:
        """Wait until no write is waiting for a look and no checkpoint runs (for tests); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: not (self._wrote.is_set() or self._busy) or self._stop.is_set(),
                                       timeout)

    def close(self) -> None:
        """Stop the thread (a checkpoint under way finishes first) and close its connection."""
        self._stop.set()
        self._wrote.set()
        self._thread.join()
        self._conn.close()

    def _run(self) -> None:
        while True:
            self._wrote.wait()
            with self._idle:
                self._wrote.clear()
                self._busy = True
            try:
                if self._stop.wait(self.delay):
                    return
                if not self._wrote.is_set() or _uncopied(self.path) >= self.pages:
                    self._checkpoint()
            except sqlite3.Error as exc:  # the next write tries again; the WAL is still valid
                log.warning("checkpoint of %s failed: %s (%s)", self.path, exc, type(exc).__name__)
            finally:
                with self._idle:
                    self._busy = False
                    self._idle.notify_all()

    def _checkpoint(self) -> None:
        frames = self._passive()
        if frames <= self.limit_pages or self._stop.is_set():
            return
        # Catch up with passive checkpoints first (each copies what was written during the one
        # before), so that the restart, which holds the writer back, has little left to copy.
        for _ in range(self.catch_up):
            before, frames = frames, self._passive()
            if frames - before <= self.small_pages:
                break
        self._conn.execute(f"PRAGMA busy_timeout={int(self.restart_wait * 1000)}")
        busy, frames, copied = self._conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
        self.checkpoints += 1
        self.restarts += 1
        log.info("WAL of %s past %s pages: restart checkpoint (%s of %s frames copied%s)", self.path,
                 self.limit_pages, copied, frames, ", busy" if busy else "")

    def _passive(self) -> int:
        """A passive checkpoint; the number of frames in the WAL."""
        self.checkpoints += 1
        return self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]


def _uncopied(path: str) -> int:
    """WAL frames no checkpoint has copied yet, from the wal-index header in ``<path>-shm``
    (https://sqlite.org/walformat.html: ``mxFrame`` at byte 16, ``nBackfill`` at byte 96, both
    32-bit in the machine's byte order). Read without SQLite's locks: a torn read errs one round
    at most. A missing or short file counts as a full WAL (a checkpoint then finds out)."""
    try:
        with open(f"{path}-shm", "rb", buffering=0) as f:
            head = f.read(100)
    except OSError:
        return 1 << 31
    if len(head) < 100:
        return 1 << 31
    frames, = struct.unpack_from("=I", head, 16)
    copied, = struct.unpack_from("=I", head, 96)
    return max(0, frames - copied)

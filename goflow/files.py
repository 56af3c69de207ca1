"""Private files and directories (SPEC §12): the data directory is 0700 and owned by the user that
runs GoFlow, every file in it is 0600 -- whatever the umask.

* :func:`private_dir` creates a directory 0700, or checks an existing one: it must be a directory
  owned by the effective user (anything else is refused with :class:`DataDirRefused`: another user
  who controls the directory could read the token and the data, or plant files there); group and
  other permissions an existing one has are removed.
* :func:`private_file` makes a file 0600 (creating it empty when asked): SQLite gives a database's
  ``-wal`` and ``-shm`` files the database file's own mode, so a store file created here keeps its
  companions private too.
* :func:`write_atomic` replaces a file's content at once: a temporary file with an unpredictable name
  (``tempfile.mkstemp``, created 0600 with ``O_EXCL``) in the same directory, then ``os.replace``.
* :func:`open_append` opens a log file for appending, 0600.
"""
from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from .errors import StoreError

__all__ = ["DIR_MODE", "FILE_MODE", "DataDirRefused", "private_dir", "private_file", "write_atomic",
           "open_append"]

DIR_MODE = 0o700
FILE_MODE = 0o600


class DataDirRefused(StoreError):
    """A data directory GoFlow will not use: not a directory, or owned by another user."""


def private_dir(path: str | os.PathLike) -> Path:
    """Create ``path`` (with its missing parents) mode 0700, or check that the existing one is a
    directory owned by this user and take group/other permissions away from it."""
    p = Path(path)
    try:
        try:
            p.mkdir(mode=DIR_MODE, parents=True)
        except FileExistsError:
            pass
        st = os.stat(p)
    except OSError as exc:
        raise StoreError(f"cannot create the directory: {exc.strerror or exc}", str(p)) from exc
    if not stat.S_ISDIR(st.st_mode):
        raise DataDirRefused("is not a directory", str(p))
    euid = os.geteuid()
    if st.st_uid != euid:
        raise DataDirRefused(
            f"is owned by uid {st.st_uid}, not by the user running GoFlow (uid {euid}); refusing a "
            f"directory another user controls (it could read the data and the token, or plant files). "
            f"Use a directory of your own, or run GoFlow as its owner", str(p))
    if stat.S_IMODE(st.st_mode) != DIR_MODE:
        try:
            os.chmod(p, DIR_MODE)
        except OSError as exc:
            raise StoreError(f"cannot make the directory private (0700): {exc.strerror or exc}", str(p)) from exc
    return p


def private_file(path: str | os.PathLike, *, create: bool = False) -> None:
    """Make ``path`` mode 0600; create it empty first when ``create`` (else a missing file is left
    alone)."""
    path = os.fspath(path)
    flags = os.O_RDONLY | (os.O_CREAT if create else 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, FILE_MODE)
    except FileNotFoundError:
        if create:
            raise
        return
    try:
        _restrict(fd)
    finally:
        os.close(fd)


def _restrict(fd: int) -> None:
    st = os.fstat(fd)
    if stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) != FILE_MODE:   # never /dev/null & co
        os.fchmod(fd, FILE_MODE)


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Replace ``path`` with ``text`` (mode 0600): readers see the old content or the new, never a
    part; the temporary file's name cannot be guessed (and is created exclusively)."""
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def open_append(path: str | os.PathLike):
    """A log file opened for appending in binary mode, created (or made) 0600."""
    fd = os.open(os.fspath(path), os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
    try:
        _restrict(fd)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "ab")

"""The daemon's API token (SPEC §10): a random 256-bit value in ``<data_dir>/api.token`` (mode 0600).

Every management interface but ``/health`` asks for it (``Authorization: Bearer <token>`` over HTTP,
``authorization`` metadata over gRPC). The server side calls :func:`ensure_token` at start (it writes the
file the first time); clients call :func:`client_token` (``GOFLOW_TOKEN``, else the file) so that nobody
types it. :func:`matches` compares in constant time.

The file is written atomically with no window of wider permissions: the value goes to a temporary file
that :func:`tempfile.mkstemp` creates 0600 under an unpredictable name beside it, and is then hard-linked
to ``api.token`` (a link never replaces an existing file: when two servers start at once, the first
link wins and both use its value).
"""
from __future__ import annotations

import hmac
import os
import secrets
import tempfile
from typing import Mapping

from .errors import GoflowError
from .files import private_dir, private_file

__all__ = ["TOKEN_FILE", "TOKEN_ENV", "TokenError", "token_path", "ensure_token", "read_token", "client_token",
           "matches"]

TOKEN_FILE = "api.token"
TOKEN_ENV = "GOFLOW_TOKEN"
TOKEN_BYTES = 32               # 256 bits, written as 64 hex digits


class TokenError(GoflowError):
    """The API token file cannot be read or written (``.path``)."""

    def __init__(self, path: str, message: str):
        self.path = path
        super().__init__(f"API token {path}: {message}")


def token_path(data_dir: str) -> str:
    return os.path.join(data_dir, TOKEN_FILE)


def read_token(data_dir: str) -> str | None:
    """The token in ``<data_dir>/api.token``, or None when there is no such file."""
    path = token_path(data_dir)
    try:
        with open(path, encoding="ascii") as f:
            token = f.read().strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise TokenError(path, f"cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    if not token:
        raise TokenError(path, "is empty; delete it and start the server again to make a new one")
    return token


def ensure_token(data_dir: str) -> str:
    """The token of ``data_dir``, written there (0600) the first time. The directory is made (or
    checked) private first (:func:`goflow.files.private_dir`: 0700, owned by this user); a token file
    that others may read is narrowed to 0600 (it was not written by this code)."""
    private_dir(data_dir)
    path = token_path(data_dir)
    token = read_token(data_dir)
    if token is not None:
        _narrow(path)
        return token
    fd, tmp = tempfile.mkstemp(prefix=".api.token.", dir=data_dir)     # 0600, unpredictable name
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secrets.token_hex(TOKEN_BYTES) + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:          # another server wrote it first: use that one
            pass
    except OSError as exc:
        raise TokenError(path, f"cannot be written ({exc.strerror or exc})") from None
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass
    token = read_token(data_dir)
    if token is None:
        raise TokenError(path, "vanished right after it was written")
    return token


def _narrow(path: str) -> None:
    try:
        private_file(path)
    except OSError as exc:
        raise TokenError(path, f"cannot be made private (mode 0600): {exc.strerror or exc}") from None


def client_token(data_dir: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """The token a client sends: ``GOFLOW_TOKEN`` when set, else the data directory's file (None
    when neither exists)."""
    env = os.environ if environ is None else environ
    if env.get(TOKEN_ENV):
        return env[TOKEN_ENV].strip()
    return read_token(data_dir) if data_dir else None


def matches(expected: str, given: str | None) -> bool:
    """Whether ``given`` is the token, compared in constant time."""
    if not given:
        return False
    return hmac.compare_digest(expected.encode("utf-8", "surrogatepass"), given.encode("utf-8", "surrogatepass"))

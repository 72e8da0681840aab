"""The server's secret key when the environment gives none: random, made once, kept in the var folder.

Every process of one deployment (daphne, the workers, beat, manage.py) must sign with the same
key, and tokens must survive a restart, so the key is written once to a file that only its
owner can read and reused from then on. Nothing in the source is a key.
"""

from __future__ import annotations

import os
import secrets
import stat
import time
from pathlib import Path

KEY_FILE_NAME = "secret_key"
_MIN_LENGTH = 50


class SecretKeyError(RuntimeError):
    """No usable secret key: the file is unreadable, empty or too short."""


def local_secret_key(var_dir: Path) -> str:
    """Return the key stored in `var_dir`, creating it (mode 0600) on first use.

    Two processes starting at once both try to create it; the link below is atomic, so exactly
    one key wins and both use it.
    """
    path = var_dir / KEY_FILE_NAME
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        _create(path)
    return _read(path)


def _create(path: Path) -> None:
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(64) + "\n")
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
    finally:
        draft.unlink(missing_ok=True)


def _read(path: Path) -> str:
    for _ in range(20):
        try:
            key = path.read_text().strip()
        except OSError as exc:
            raise SecretKeyError(f"cannot read the secret key file {path}: {exc}") from exc
        if len(key) >= _MIN_LENGTH:
            return key
        time.sleep(0.05)  # a file still being written by another process
    raise SecretKeyError(f"the secret key file {path} holds no usable key (at least {_MIN_LENGTH} "
                         "characters); delete it to make a new one, or set DJANGO_SECRET_KEY")


def readable_by_others(path: Path) -> bool:
    """Whether a key file's mode lets its group or other users read it."""
    return bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))

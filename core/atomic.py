"""Files that several writers share: whole-or-nothing replacement and a cross-process lock.

The window and ``fireside serve`` both write ``settings.json`` and ``library.json``. A fixed
temp name (``settings.tmp``) lets two writers clobber each other's half-written temp file, and
an unlocked read-modify-write lets one writer's change vanish under the other's. So every such
file is written through :func:`write_atomic` (a unique temp file in the same folder, fsynced,
then ``os.replace``) and changed under :func:`locked`, an ``flock`` on a sibling ``.lock`` file
that holds across threads (each call opens its own descriptor) and across processes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger("fireside.atomic")


def write_atomic(path: Path, data: str | bytes, *, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` so readers see the old file or the new one, never half.

    ``mode`` is set on the temp file before any byte is written (the default: the user's
    only, as the files hold keys, paths and chat state), so a secret is never readable by
    others, not even for a moment.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def write_json_atomic(path: Path, data: Any, *, mode: int = 0o600) -> None:
    write_atomic(path, json.dumps(data, indent=2), mode=mode)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_local = threading.local()


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold ``path``'s lock (``<path>.lock``) for a read-modify-write.

    Re-entrant within one thread (a nested call for the same file is a no-op), so a locked
    mutation may call helpers that lock too.
    """
    lock_path = path.with_name(path.name + ".lock")
    held: dict[str, int] = getattr(_local, "held", None) or {}
    _local.held = held
    key = str(lock_path)
    if held.get(key):
        held[key] += 1
        try:
            yield
        finally:
            held[key] -= 1
        return
    fd = _open_lock(lock_path)
    if fd is None:  # a read-only disk: nobody can write, so nothing to guard; the write fails
        yield
        return
    try:
        _lock_fd(fd)
        held[key] = 1
        try:
            yield
        finally:
            held.pop(key, None)
            _unlock_fd(fd)
    finally:
        os.close(fd)


def _open_lock(lock_path: Path) -> int | None:
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        pass
    try:
        return os.open(lock_path, os.O_RDONLY)  # flock works on a read-only descriptor
    except OSError as exc:
        log.debug("no lock for %s (%s); going on without one", lock_path, exc)
        return None


if sys.platform == "win32":  # msvcrt locks the lock file's first byte instead of flock
    import msvcrt

    def _lock_fd(fd: int) -> None:
        while True:  # LK_LOCK gives up after ten seconds; a writer never holds it that long
            try:
                msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                return
            except OSError:
                log.debug("waiting for the lock on fd %d", fd)

    def _unlock_fd(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _lock_fd(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)

    def _unlock_fd(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

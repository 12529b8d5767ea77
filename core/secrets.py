"""API keys and tokens, kept out of ``settings.json``.

Where the OS has a working keyring (macOS Keychain, Windows Credential Locker, the Secret
Service on a Linux desktop) secrets go there through ``keyring``; otherwise into
``secrets.json`` in the config dir, readable by the user only (0600). :meth:`SecretStore.where`
says which, so the window can tell people where their key is.

``FIRESIDE_SECRETS=keyring|file`` forces a backend. With ``FIRESIDE_HOME`` set (a portable
install, or a test) the default is the file under that folder, so such a home never writes
into, or reads from, the desktop's keyring.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
import time
from pathlib import Path
from typing import Any, Literal

from fireside.core.atomic import locked, write_json_atomic

log = logging.getLogger("fireside.secrets")
SERVICE = "fireside"
FILE_NAME = "secrets.json"
Backend = Literal["keyring", "file"]


def _usable_keyring() -> Any | None:
    """The keyring backend if one really works here (not the fail or null backend)."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
        if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 0) <= 0:
            return None
        if type(backend).__name__ == "ChainerBackend" and not getattr(backend, "backends", []):
            return None
        backend.get_password(SERVICE, "__probe__")  # a locked or absent D-Bus fails here
    except Exception as exc:  # noqa: BLE001 - any failure means "no keyring": use the file
        log.info("no usable keyring (%s: %s); secrets go to a 0600 file", type(exc).__name__, exc)
        return None
    return backend


class SecretStore:
    """Named secrets (``server.api_key``, ``hub.token``) in the keyring or a 0600 file."""

    def __init__(self, config_dir: Path, env: dict[str, str] | None = None) -> None:
        env = dict(os.environ) if env is None else env
        self.file = config_dir / FILE_NAME
        forced = env.get("FIRESIDE_SECRETS", "").strip().lower()
        self._keyring: Any | None = None
        if forced == "keyring" or (forced != "file" and not env.get("FIRESIDE_HOME")):
            self._keyring = _usable_keyring()
            if self._keyring is None and forced == "keyring":
                log.warning("FIRESIDE_SECRETS=keyring but no keyring works here; using %s",
                            self.file)
        self._cache: dict[str, str] = {}
        self._lock = threading.Lock()

    @property
    def backend(self) -> Backend:
        return "keyring" if self._keyring is not None else "file"

    def where(self) -> str:
        """Where secrets are kept, in words for the Settings screen and the CLI."""
        if self._keyring is not None:
            return f"stored in the system keyring ({type(self._keyring).__name__})"
        return f"stored in a file only you can read ({self.file})"

    # -- access ---------------------------------------------------------------------------
    def get(self, name: str) -> str:
        if self._keyring is not None:
            with self._lock:
                if name not in self._cache:
                    try:
                        self._cache[name] = self._keyring.get_password(SERVICE, name) or ""
                    except Exception as exc:  # noqa: BLE001 - a keyring failure is not fatal
                        log.warning("keyring read of %s failed: %s", name, type(exc).__name__)
                        return ""
                return self._cache[name]
        return self._read_file().get(name, "")

    def set(self, name: str, value: str) -> None:
        """Store ``value`` under ``name``; an empty value deletes it."""
        if self._keyring is not None:
            from keyring.errors import PasswordDeleteError

            with self._lock:
                if value:
                    self._keyring.set_password(SERVICE, name, value)
                else:
                    try:
                        self._keyring.delete_password(SERVICE, name)
                    except PasswordDeleteError:
                        pass
                self._cache[name] = value
            return
        with locked(self.file):
            data = self._read_file(set_aside=True)
            if data.get(name, "") == value:
                return
            if value:
                data[name] = value
            else:
                data.pop(name, None)
            write_json_atomic(self.file, data, mode=0o600)

    def _read_file(self, *, set_aside: bool = False) -> dict[str, str]:
        """The file's secrets; with ``set_aside``, an unreadable file is kept beside it (not
        overwritten) before a write replaces it."""
        try:
            st = self.file.stat()
            if stat.S_IMODE(st.st_mode) & 0o077:
                log.warning("%s was readable by others; restricting it to you", self.file)
                os.chmod(self.file, 0o600)
            raw = json.loads(self.file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("secrets file unreadable (%s); treating it as empty", type(exc).__name__)
            if set_aside:
                backup = self.file.with_name(f"{self.file.stem}.corrupt-{int(time.time())}.json")
                try:
                    self.file.replace(backup)
                except OSError:
                    pass
            return {}
        if not isinstance(raw, dict):
            return {}
        return {k: v for k, v in raw.items() if isinstance(k, str) and isinstance(v, str)}

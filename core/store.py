"""Saved conversations in SQLite (stdlib ``sqlite3``, WAL) in the data dir.

Every write is its own transaction, so a process killed mid-reply loses at most the reply being
written; the user's message is committed the moment it is sent. Ids are text UUIDs made by the
caller, so the window can queue writes without waiting for the database to hand ids back. The
schema carries ``PRAGMA user_version`` and is brought forward by :mod:`store_migrations`.
Deleting a conversation is soft (``deleted_at``) so it can be undone; old deletions are purged
when the store opens.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fireside.core import attachments
from fireside.core.errors import FiresideError, StorageError
from fireside.core.store_migrations import SCHEMA_VERSION, migrate

PURGE_AFTER_S = 7 * 24 * 3600


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass
class Conversation:
    id: str
    title: str = "New conversation"
    model: str = ""
    system_prompt: str = ""
    sampling: dict[str, Any] = field(default_factory=dict)
    preset: str = ""
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)


@dataclass
class Message:
    id: str
    conversation_id: str
    position: int
    role: str  # "user", "assistant" or "system"
    content: str
    created: float = field(default_factory=time.time)
    model: str = ""
    sampling: dict[str, Any] = field(default_factory=dict)  # settings used for this reply
    stats: dict[str, Any] = field(default_factory=dict)  # per-reply figures (Stats.to_json)
    finish_reason: str = ""
    images: list[str] = field(default_factory=list)  # attachment names (core.attachments)


@dataclass
class Preset:
    name: str
    system_prompt: str = ""
    sampling: dict[str, Any] = field(default_factory=dict)


def _storage_message(path: Path, exc: sqlite3.Error) -> str:
    text = str(exc)
    if "full" in text:
        return (f"the disk is full: could not save to {path.name}; free some space and try "
                "again (nothing saved before was lost)")
    if "readonly" in text or "read-only" in text:
        return f"{path} is read-only: could not save (nothing saved before was lost)"
    return f"could not save to {path.name}: {text}"


def _loads(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _names(text: str | None) -> list[str]:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


class Store:
    """One connection, guarded by a lock; safe to call from any thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(str(path), check_same_thread=False,
                                       isolation_level=None, timeout=10.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            migrate(self._db)
        except sqlite3.DatabaseError as exc:
            raise FiresideError(f"the conversation database {path} is unreadable: {exc}") \
                from exc
        self.purge_deleted()

    @property
    def schema_version(self) -> int:
        with self._lock:
            return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    @property
    def journal_mode(self) -> str:
        with self._lock:
            return str(self._db.execute("PRAGMA journal_mode").fetchone()[0])

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One transaction; a full or read-only disk becomes one clear :class:`StorageError`
        and leaves every earlier commit as it was (SQLite rolls the failed one back)."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                if self._db.in_transaction:
                    try:
                        self._db.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
                raise StorageError(_storage_message(self.path, exc)) from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- conversations -------------------------------------------------------------------
    def save_conversation(self, conv: Conversation) -> None:
        """Insert or update the conversation's own fields (not its messages)."""
        conv.updated = time.time()
        with self._tx() as db:
            db.execute(
                "INSERT INTO conversations (id, title, model, system_prompt, sampling, preset,"
                " created, updated) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET"
                " title=excluded.title, model=excluded.model,"
                " system_prompt=excluded.system_prompt, sampling=excluded.sampling,"
                " preset=excluded.preset, updated=excluded.updated",
                (conv.id, conv.title, conv.model, conv.system_prompt, json.dumps(conv.sampling),
                 conv.preset, conv.created, conv.updated))

    def _conv(self, row: sqlite3.Row | tuple[Any, ...]) -> Conversation:
        return Conversation(id=row[0], title=row[1], model=row[2], system_prompt=row[3],
                            sampling=_loads(row[4]), preset=row[5], created=row[6],
                            updated=row[7])

    _CONV_COLS = "id, title, model, system_prompt, sampling, preset, created, updated"

    def conversations(self, search: str = "") -> list[Conversation]:
        """Newest first; ``search`` matches titles and message text (case-insensitive)."""
        with self._lock:
            if not search.strip():
                rows = self._db.execute(
                    f"SELECT {self._CONV_COLS} FROM conversations WHERE deleted_at IS NULL"
                    " ORDER BY updated DESC").fetchall()
            else:
                pattern = "%" + search.strip().replace("\\", "\\\\").replace(
                    "%", "\\%").replace("_", "\\_") + "%"
                rows = self._db.execute(
                    f"SELECT {self._CONV_COLS} FROM conversations c WHERE deleted_at IS NULL"
                    " AND (title LIKE ?1 ESCAPE '\\' OR EXISTS (SELECT 1 FROM messages m"
                    " WHERE m.conversation_id = c.id AND m.content LIKE ?1 ESCAPE '\\'))"
                    " ORDER BY updated DESC", (pattern,)).fetchall()
        return [self._conv(r) for r in rows]

    def conversation(self, conv_id: str) -> Conversation | None:
        with self._lock:
            row = self._db.execute(f"SELECT {self._CONV_COLS} FROM conversations WHERE id=?",
                                   (conv_id,)).fetchone()
        return self._conv(row) if row else None

    def rename(self, conv_id: str, title: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE conversations SET title=?, updated=? WHERE id=?",
                       (title.strip() or "Untitled", time.time(), conv_id))

    def delete(self, conv_id: str) -> None:
        """Soft delete: hidden at once, restorable with :meth:`undelete`."""
        with self._tx() as db:
            db.execute("UPDATE conversations SET deleted_at=? WHERE id=?", (time.time(), conv_id))

    def undelete(self, conv_id: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE conversations SET deleted_at=NULL WHERE id=?", (conv_id,))

    def purge_deleted(self, older_than_s: float = PURGE_AFTER_S) -> int:
        """Delete conversations deleted long enough ago, and images no message names now."""
        with self._tx() as db:
            cur = db.execute("DELETE FROM conversations WHERE deleted_at IS NOT NULL AND"
                             " deleted_at < ?", (time.time() - older_than_s,))
            gone = cur.rowcount
            named = db.execute("SELECT images FROM messages WHERE images != '[]'").fetchall()
        if gone:
            attachments.prune(self.attachments, {n for (raw,) in named for n in _names(raw)})
        return gone

    @property
    def attachments(self) -> Path:
        """Where attached images are kept (:mod:`fireside.core.attachments`)."""
        return attachments.folder_for(self.path)

    # -- messages ------------------------------------------------------------------------
    def messages(self, conv_id: str) -> list[Message]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, conversation_id, position, role, content, created, model, sampling,"
                " stats, finish_reason, images FROM messages WHERE conversation_id=?"
                " ORDER BY position", (conv_id,)).fetchall()
        return [Message(id=r[0], conversation_id=r[1], position=r[2], role=r[3], content=r[4],
                        created=r[5], model=r[6], sampling=_loads(r[7]), stats=_loads(r[8]),
                        finish_reason=r[9], images=_names(r[10])) for r in rows]

    def add_message(self, msg: Message) -> None:
        """Append (or replace at its position) one message, and touch the conversation."""
        with self._tx() as db:
            db.execute("DELETE FROM messages WHERE conversation_id=? AND position=?",
                       (msg.conversation_id, msg.position))
            db.execute(
                "INSERT INTO messages (id, conversation_id, position, role, content, created,"
                " model, sampling, stats, finish_reason, images) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (msg.id, msg.conversation_id, msg.position, msg.role, msg.content, msg.created,
                 msg.model, json.dumps(msg.sampling), json.dumps(msg.stats), msg.finish_reason,
                 json.dumps(msg.images)))
            db.execute("UPDATE conversations SET updated=? WHERE id=?",
                       (time.time(), msg.conversation_id))

    def truncate(self, conv_id: str, from_position: int) -> None:
        """Drop messages at ``from_position`` and after (regenerate, edit-and-resend)."""
        with self._tx() as db:
            db.execute("DELETE FROM messages WHERE conversation_id=? AND position>=?",
                       (conv_id, from_position))

    # -- presets -------------------------------------------------------------------------
    def presets(self) -> list[Preset]:
        with self._lock:
            rows = self._db.execute(
                "SELECT name, system_prompt, sampling FROM presets ORDER BY name").fetchall()
        return [Preset(r[0], r[1], _loads(r[2])) for r in rows]

    def save_preset(self, preset: Preset) -> None:
        if not preset.name.strip():
            raise FiresideError("a preset needs a name")
        with self._tx() as db:
            db.execute("INSERT INTO presets (name, system_prompt, sampling, updated)"
                       " VALUES (?,?,?,?) ON CONFLICT(name) DO UPDATE SET"
                       " system_prompt=excluded.system_prompt, sampling=excluded.sampling,"
                       " updated=excluded.updated",
                       (preset.name.strip(), preset.system_prompt, json.dumps(preset.sampling),
                        time.time()))

    def delete_preset(self, name: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM presets WHERE name=?", (name,))


__all__ = ["SCHEMA_VERSION", "Conversation", "Message", "Preset", "Store", "new_id"]

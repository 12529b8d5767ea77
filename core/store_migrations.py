"""Schema steps for the conversation store, applied in order inside one transaction each.

A step is never edited once released; a change is a new step. ``PRAGMA user_version`` records
the last step applied, so an old database is brought forward on open and a newer one (written by
a later Fireside) is refused instead of being damaged.
"""

from __future__ import annotations

import logging
import sqlite3

from fireside.core.errors import FiresideError

log = logging.getLogger("fireside.store")

STEPS: list[tuple[int, str]] = [
    (1, """
    CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL DEFAULT 'New conversation',
        model TEXT NOT NULL DEFAULT '',
        system_prompt TEXT NOT NULL DEFAULT '',
        sampling TEXT NOT NULL DEFAULT '{}',
        created REAL NOT NULL,
        updated REAL NOT NULL
    );
    CREATE TABLE messages (
        id TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        role TEXT NOT NULL,
        content TEXT NOT NULL,
        created REAL NOT NULL,
        model TEXT NOT NULL DEFAULT '',
        sampling TEXT NOT NULL DEFAULT '{}',
        stats TEXT NOT NULL DEFAULT '{}',
        finish_reason TEXT NOT NULL DEFAULT ''
    );
    CREATE UNIQUE INDEX messages_by_position ON messages(conversation_id, position);
    """),
    (2, """
    ALTER TABLE conversations ADD COLUMN deleted_at REAL;
    ALTER TABLE conversations ADD COLUMN preset TEXT NOT NULL DEFAULT '';
    CREATE INDEX conversations_by_updated ON conversations(updated);
    CREATE TABLE presets (
        name TEXT PRIMARY KEY,
        system_prompt TEXT NOT NULL DEFAULT '',
        sampling TEXT NOT NULL DEFAULT '{}',
        updated REAL NOT NULL
    );
    """),
    (3, """
    ALTER TABLE messages ADD COLUMN images TEXT NOT NULL DEFAULT '[]'
    """),
]
SCHEMA_VERSION = STEPS[-1][0]


def migrate(db: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Apply the steps after the database's version up to ``target``; returns the version."""
    current = int(db.execute("PRAGMA user_version").fetchone()[0])
    if current > SCHEMA_VERSION:
        raise FiresideError(
            f"the conversation database is schema {current}, newer than this Fireside "
            f"understands ({SCHEMA_VERSION}); update Fireside")
    for version, script in STEPS:
        if current < version <= target:
            log.info("store: migrating schema %d -> %d", current, version)
            db.execute("BEGIN IMMEDIATE")
            try:
                for statement in (s.strip() for s in script.split(";")):
                    if statement:
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {version}")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            current = version
    return current

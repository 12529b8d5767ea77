"""The conversation store: schema migrations, WAL, crash safety, search, undoable delete."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from fireside.core.errors import FiresideError
from fireside.core.store import Conversation, Message, Preset, Store, new_id
from fireside.core.store_migrations import SCHEMA_VERSION, migrate


def _conv(store: Store, title: str = "Chat") -> Conversation:
    conv = Conversation(new_id(), title=title, model="m", sampling={"temperature": 0.3})
    store.save_conversation(conv)
    return conv


def test_fresh_store_is_wal_at_latest_schema(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    assert store.journal_mode == "wal"
    assert store.schema_version == SCHEMA_VERSION >= 2


def test_old_schema_is_migrated_and_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    assert migrate(db, target=1) == 1
    db.execute("INSERT INTO conversations (id, title, created, updated) VALUES"
               " ('c1', 'From v1', 1, 1)")
    db.execute("INSERT INTO messages (id, conversation_id, position, role, content, created)"
               " VALUES ('m1', 'c1', 0, 'user', 'hello from the past', 1)")
    db.close()
    store = Store(path)
    assert store.schema_version == SCHEMA_VERSION
    [conv] = store.conversations()
    assert conv.title == "From v1" and conv.preset == ""
    assert [m.content for m in store.messages("c1")] == ["hello from the past"]


def test_newer_schema_is_refused_not_damaged(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(FiresideError, match="newer"):
        Store(path)


def test_garbage_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite3"
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(FiresideError, match="unreadable"):
        Store(path)


def test_messages_truncate_and_replace(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    conv = _conv(store)
    for i, role in enumerate(["user", "assistant", "user", "assistant"]):
        store.add_message(Message(new_id(), conv.id, i, role, f"text {i}",
                                  stats={"decode_tokens_per_s": 10.0 + i}))
    store.truncate(conv.id, 2)
    assert [m.content for m in store.messages(conv.id)] == ["text 0", "text 1"]
    store.add_message(Message(new_id(), conv.id, 1, "assistant", "again"))
    msgs = store.messages(conv.id)
    assert [m.content for m in msgs] == ["text 0", "again"]
    assert store.messages(conv.id)[0].stats == {"decode_tokens_per_s": 10.0}


def test_search_matches_titles_and_message_text(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    a, b = _conv(store, "Rust lifetimes"), _conv(store, "Dinner")
    store.add_message(Message(new_id(), b.id, 0, "user", "a recipe with 100% saffron"))
    assert [c.id for c in store.conversations("rust")] == [a.id]
    assert [c.id for c in store.conversations("SAFFRON")] == [b.id]
    assert [c.id for c in store.conversations("100%")] == [b.id]
    assert store.conversations("nothing like this") == []


def test_delete_is_undoable_and_purged_later(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    conv = _conv(store)
    store.add_message(Message(new_id(), conv.id, 0, "user", "keep me"))
    store.delete(conv.id)
    assert store.conversations() == []
    store.undelete(conv.id)
    assert [c.id for c in store.conversations()] == [conv.id]
    store.delete(conv.id)
    assert store.purge_deleted(older_than_s=-1) == 1
    assert store.messages(conv.id) == []  # cascaded


def test_presets_round_trip(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    store.save_preset(Preset("Terse", "Answer in one line.", {"temperature": 0.1}))
    store.save_preset(Preset("Terse", "Answer briefly.", {"temperature": 0.2}))
    assert store.presets() == [Preset("Terse", "Answer briefly.", {"temperature": 0.2})]
    store.delete_preset("Terse")
    assert store.presets() == []
    with pytest.raises(FiresideError):
        store.save_preset(Preset("  "))


def test_killed_process_keeps_everything_committed(tmp_path: Path) -> None:
    """SIGKILL right after the user's message was written: the message survives."""
    path = tmp_path / "crash.sqlite3"
    script = textwrap.dedent(f"""
        import os, signal
        from fireside.core.store import Conversation, Message, Store
        s = Store(__import__('pathlib').Path({str(path)!r}))
        s.save_conversation(Conversation('c1', title='Crash'))
        s.add_message(Message('m1', 'c1', 0, 'user', 'sent before the crash'))
        print('written', flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == -9 and "written" in result.stdout
    store = Store(path)
    assert [m.content for m in store.messages("c1")] == ["sent before the crash"]


def test_concurrent_threads_do_not_corrupt(tmp_path: Path) -> None:
    import threading

    store = Store(tmp_path / "db.sqlite3")
    conv = _conv(store)

    def writer(base: int) -> None:
        for i in range(25):
            store.add_message(Message(new_id(), conv.id, base + i, "user", f"{base + i}"))

    threads = [threading.Thread(target=writer, args=(n * 100,)) for n in range(4)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.messages(conv.id)) == 100
    assert time.perf_counter() - start < 30

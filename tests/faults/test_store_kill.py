"""kill -9 in the middle of SQLite writes: every acknowledged message survives, none is torn,
and the database passes its integrity check."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from fireside.core.store import Store

WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from fireside.core.store import Conversation, Message, Store
    store = Store(Path(sys.argv[1]))
    store.save_conversation(Conversation("c1", title="Killed mid-write"))
    i = 0
    while True:
        store.add_message(Message(f"m{i}", "c1", i, "assistant", f"{i}:" + "x" * 20000))
        print(i, flush=True)  # acknowledged: committed
        i += 1
""")


def test_kill_9_mid_write_loses_no_acknowledged_message(tmp_path: Path) -> None:
    db = tmp_path / "fireside.sqlite3"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    acknowledged = -1
    deadline = time.monotonic() + 60
    while acknowledged < 60 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        acknowledged = int(line)
    proc.send_signal(signal.SIGKILL)  # while it is inside the next transaction, most likely
    proc.wait(timeout=30)
    assert acknowledged >= 60, "the writer did not get going"
    store = Store(db)
    messages = store.messages("c1")
    assert len(messages) >= acknowledged + 1
    assert [m.position for m in messages] == list(range(len(messages)))
    for m in messages:
        index, _, body = m.content.partition(":")
        assert int(index) == m.position and body == "x" * 20000
    assert store._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store.close()

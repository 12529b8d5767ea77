"""Concurrent writers lose nothing: the window and `fireside serve` share settings.json and
library.json, as threads in one process and as two processes at once.

Before the atomic, locked writes, two writers here lost keys to each other's read-modify-write
and crashed renaming the same fixed ``settings.tmp`` (``FileNotFoundError``).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

from hub_server import write_tiny_gguf

from fireside.core.models.library import Library, model_name_for
from fireside.core.settings import SettingsStore

WRITERS = Path(__file__).with_name("writers.py")
COUNT = 40
sys.path.insert(0, str(WRITERS.parent))

import writers  # noqa: E402


def _ggufs(folder: Path, tag: str, n: int) -> list[Path]:
    return [write_tiny_gguf(folder / f"{tag}-{i}.gguf", name=f"{tag}-{i}", blocks=1,
                            pad_mib=0.01) for i in range(n)]


def _check(home: Path, tags: list[str], files: list[Path]) -> None:
    ui = SettingsStore(home / "config" / "settings.json").read().ui
    missing = [f"{t}-{i}" for t in tags for i in range(COUNT) if ui.get(f"{t}-{i}") != i]
    assert missing == [], f"{len(missing)} settings changes lost"
    library = Library(home / "data" / "models", home / "data" / "library.json")
    names = {m.name for m in library.list()}
    assert {model_name_for(f.name) for f in files} <= names
    index = json.loads((home / "data" / "library.json").read_text())
    assert len(index["models"]) == len(files)
    assert all(m["last_used"] > 0 for m in index["models"])
    leftovers = [p.name for p in home.rglob("*.tmp")]
    assert leftovers == []
    mode = stat.S_IMODE((home / "config" / "settings.json").stat().st_mode)
    assert mode == 0o600


def test_window_and_server_threads_lose_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    files = {t: _ggufs(tmp_path / "models", t, 6) for t in ("win", "srv")}
    files["win2"], files["srv2"] = [], []  # settings-only writers
    store = SettingsStore(home / "config" / "settings.json")
    library = Library(home / "data" / "models", home / "data" / "library.json")
    errors: list[BaseException] = []

    def run(kind: str, tag: str) -> None:
        try:
            writers.library_writes(library, files[tag])
            writers.settings_writes(store, kind, tag, COUNT)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=("window", "win")),
               threading.Thread(target=run, args=("server", "srv")),
               threading.Thread(target=run, args=("window", "win2")),
               threading.Thread(target=run, args=("server", "srv2"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    _check(home, ["win", "srv", "win2", "srv2"], files["win"] + files["srv"])


def test_window_and_server_processes_lose_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    files = {t: _ggufs(tmp_path / "models", t, 6) for t in ("win", "srv")}
    env = dict(os.environ, FIRESIDE_HOME=str(home))
    procs = [subprocess.Popen([sys.executable, str(WRITERS), kind, str(home), tag, str(COUNT),
                               *map(str, files[tag])], env=env, stderr=subprocess.PIPE,
                              text=True)
             for kind, tag in (("window", "win"), ("server", "srv"))]
    for proc in procs:
        _out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
    _check(home, ["win", "srv"], files["win"] + files["srv"])


def test_a_stale_read_does_not_undo_another_writers_change(tmp_path: Path) -> None:
    """The window read settings long ago; the server changed the port since. The window's
    write of its own change must not put the old port back."""
    store = SettingsStore(tmp_path / "settings.json")
    window = store.read()
    store.update(lambda s: setattr(s.server, "port", 9123))
    window.ui["view"] = "chat"
    store.write(window)
    again = store.read()
    assert again.server.port == 9123 and again.ui["view"] == "chat"
    window.ui.pop("view")  # a later write of the same object applies only the new change
    store.write(window)
    assert "view" not in store.read().ui and store.read().server.port == 9123

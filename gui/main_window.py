"""The main window: a navigation rail and one page per view.

Views from other areas are mounted if their module imports; otherwise a placeholder says the view
is missing, so the window always opens. Geometry and the last view live in the settings' ``ui``
dict (under FIRESIDE_HOME, unlike QSettings).
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from PySide6.QtCore import QByteArray, Qt, Slot
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QStackedWidget,
    QWidget,
)

from fireside.core.hub.manager import DownloadManager
from fireside.core.models.library import LocalModel
from fireside.gui import theme
from fireside.gui.bridge import Bridge
from fireside.gui.views.chat import ChatView
from fireside.gui.views.placeholder import PlaceholderView
from fireside.gui.views.welcome import WelcomeView

log = logging.getLogger("fireside.gui.window")

# (key, title, module, class) — the other views are built by other areas.
VIEWS: list[tuple[str, str, str, str]] = [
    ("discover", "Discover", "fireside.gui.views.discover", "DiscoverView"),
    ("my_models", "My Models", "fireside.gui.views.my_models", "MyModelsView"),
    ("downloads", "Downloads", "fireside.gui.views.downloads", "DownloadsView"),
    ("server", "Server", "fireside.gui.views.server", "ServerView"),
    ("hardware", "Hardware", "fireside.gui.views.hardware", "HardwareView"),
]
DEFAULT_SIZE = (1200, 800)


def mount(title: str, module: str, cls: str, *collaborators: object) -> QWidget:
    """The view, built with the collaborators it uses, if it imports and starts; a
    placeholder saying why not otherwise (the window always opens)."""
    try:
        view_cls: Any = getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError) as exc:
        log.info("view %s not mounted: %s", title, exc)
        return PlaceholderView(title, f"{module}.{cls} is missing ({exc}).")
    try:
        widget = view_cls(*collaborators)
    except Exception as exc:
        log.exception("view %s failed to start", title)
        return PlaceholderView(title, f"It failed to start: {exc}")
    if not isinstance(widget, QWidget):
        return PlaceholderView(title, f"{cls} is not a QWidget")
    if not widget.accessibleName():  # the page itself is named for automation
        widget.setAccessibleName(title)
    if not widget.objectName():
        widget.setObjectName(cls)
    return widget


class MainWindow(QMainWindow):
    def __init__(self, bridge: Bridge, downloads: DownloadManager,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.setObjectName("mainWindow")
        self.setAccessibleName("Fireside")
        self.setWindowTitle("Fireside")
        self.resize(*DEFAULT_SIZE)
        self.setMinimumSize(800, 560)

        self.nav = QListWidget()
        self.nav.setObjectName("navigation")
        self.nav.setAccessibleName("Navigation")
        self.nav.setFixedWidth(168)
        self.nav.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.pages = QStackedWidget()
        self.pages.setObjectName("pages")

        self.chat = ChatView(bridge)
        self.welcome = WelcomeView(bridge)
        self.welcome.installed.connect(self._on_starter_installed)
        self.welcome.browse_requested.connect(lambda: self.show_view("discover"))
        self.chat_stack = QStackedWidget()
        self.chat_stack.setObjectName("chatStack")
        self.chat_stack.addWidget(self.chat)
        self.chat_stack.addWidget(self.welcome)

        self._keys: list[str] = []
        self._add_page("chat", "Chat", self.chat_stack)
        self.views: dict[str, QWidget] = {"chat": self.chat}
        uses: dict[str, tuple[object, ...]] = {"discover": (bridge, downloads),
                                               "downloads": (bridge, downloads)}
        for key, title, module, cls in VIEWS:
            widget = mount(title, module, cls, *uses.get(key, (bridge,)))
            self.views[key] = widget
            self._add_page(key, title, widget)
        self.nav.currentRowChanged.connect(self.pages.setCurrentIndex)
        # Style sheets per subtree, never on the transcript (see theme.style_tree).
        for widget in (self.nav, self.welcome, *[w for k, w in self.views.items()
                                                  if k != "chat"]):
            theme.style_tree(widget)

        central = QWidget()
        central.setObjectName("central")
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.nav)
        row.addWidget(self.pages, 1)
        self.setCentralWidget(central)
        for i, key in enumerate(self._keys[:9]):
            shortcut = QShortcut(QKeySequence(f"Ctrl+{i + 1}"), self)
            shortcut.activated.connect(lambda k=key: self.show_view(k))

        discover = self.views.get("discover")
        opened = getattr(discover, "open_model_requested", None)
        if opened is not None:  # Discover's "Open" on a file already installed
            opened.connect(self.open_model)
        self._restore_ui()
        self.chat.models_changed.connect(self._on_models)
        self.chat.refresh_models()

    def _add_page(self, key: str, title: str, widget: QWidget) -> None:
        self._keys.append(key)
        item = QListWidgetItem(title)
        item.setData(Qt.ItemDataRole.AccessibleTextRole, title)
        self.nav.addItem(item)
        self.pages.addWidget(widget)

    # -- navigation ----------------------------------------------------------------------
    def show_view(self, key: str) -> None:
        if key in self._keys:
            self.nav.setCurrentRow(self._keys.index(key))

    @property
    def current_view(self) -> str:
        row = self.nav.currentRow()
        return self._keys[row] if 0 <= row < len(self._keys) else "chat"

    @Slot(str)
    def open_model(self, name: str) -> None:
        """Chat with ``name``: the chat page, that model picked (and loaded)."""
        self.chat_stack.setCurrentWidget(self.chat)
        self.show_view("chat")
        self.chat.refresh_models(select=name)

    @Slot(object)
    def _on_models(self, models: object) -> None:
        """First run: no usable model → the welcome takes the chat page."""
        usable = [m for m in models if isinstance(m, LocalModel) and not m.error]  # type: ignore[attr-defined]
        self.chat_stack.setCurrentWidget(self.chat if usable else self.welcome)

    @Slot(object)
    def _on_starter_installed(self, model: object) -> None:
        self.chat_stack.setCurrentWidget(self.chat)
        if isinstance(model, LocalModel):
            self.chat.refresh_models(select=model.name)
        self.show_view("chat")

    @Slot()
    def follow_color_scheme(self) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            theme.apply(app)
            self.chat.restyle()

    # -- remembered state ----------------------------------------------------------------
    def _restore_ui(self) -> None:
        ui = self.bridge.ctx.settings.read().ui
        geometry = ui.get("geometry")
        if isinstance(geometry, str) and geometry:
            self.restoreGeometry(QByteArray.fromBase64(geometry.encode("ascii")))
        size = ui.get("size")
        if isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) for v in size):
            # restoreGeometry clamps to the current screen; the size asked for wins when it can.
            self.resize(max(size[0], 800), max(size[1], 560))
        view = ui.get("view")
        self.show_view(view if isinstance(view, str) and view in self._keys else "chat")

    def _save_ui(self) -> None:
        store = self.bridge.ctx.settings
        settings = store.read()
        settings.ui["geometry"] = bytes(self.saveGeometry().toBase64().data()).decode("ascii")
        settings.ui["size"] = [self.width(), self.height()]
        settings.ui["view"] = self.current_view
        try:
            store.write(settings)
        except OSError as exc:
            log.warning("could not save window state: %s", exc)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        self._save_ui()
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop the reply, flush conversations to disk, end the worker threads."""
        self.chat.shutdown()
        for widget in self.views.values():
            stop = getattr(widget, "shutdown", None)
            if widget is not self.chat and callable(stop):
                try:
                    stop()
                except Exception:
                    log.exception("view shutdown failed")
        self.bridge.shutdown()

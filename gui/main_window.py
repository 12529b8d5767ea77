"""The main window: a menu bar, a navigation rail and one page per view, Settings last.

Views from other areas are mounted if their module imports; otherwise a placeholder says the view
is missing, so the window always opens. Geometry and the last view live in the settings' ``ui``
dict (under FIRESIDE_HOME, unlike QSettings). The window also routes what crosses views: "Chat
with this" and "Load with settings…" from My Models, "Load settings" beside the chat's model
picker and on its load-failure banner, the theme chosen in Settings.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from PySide6.QtCore import QByteArray, QSize, Qt, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QMessageBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from fireside.core.hub.manager import DownloadManager
from fireside.core.inference.types import LoadSettings
from fireside.core.llama_log import LlamaLog
from fireside.core.models.library import LocalModel
from fireside.gui import icons, menus, theme
from fireside.gui.bridge import Bridge
from fireside.gui.library_watch import LibraryWatcher
from fireside.gui.views import load_dialog
from fireside.gui.views.chat import ChatView
from fireside.gui.views.placeholder import PlaceholderView
from fireside.gui.views.providers import ProvidersPanel
from fireside.gui.views.settings_page import SettingsPage
from fireside.gui.views.shortcut_sheet import ShortcutSheet
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
ABOUT = ("<h3>Fireside</h3><p>Run open-weight language models on your own machine: find "
         "them with their license and fit, chat, and serve them to your apps over an "
         "OpenAI-compatible API.</p><p>Built on llama.cpp, Qt and the Hugging Face Hub. "
         "MIT licensed.</p>")


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
    def __init__(self, bridge: Bridge, downloads: DownloadManager, watcher: LibraryWatcher,
                 llama_log: LlamaLog | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.watcher = watcher
        self.setObjectName("mainWindow")
        self.setAccessibleName("Fireside")
        self.setWindowTitle("Fireside")
        self.resize(*DEFAULT_SIZE)
        self.setMinimumSize(800, 560)

        self.nav = QListWidget()
        self.nav.setObjectName("navigation")
        self.nav.setAccessibleName("Navigation")
        self.nav.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.nav.setIconSize(QSize(18, 18))
        self.setWindowIcon(icons.logo())
        self.pages = QStackedWidget()
        self.pages.setObjectName("pages")

        self.chat = ChatView(bridge, llama_log=llama_log)
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
                                               "downloads": (bridge, downloads),
                                               "my_models": (bridge, watcher, downloads)}
        for key, title, module, cls in VIEWS:
            widget = mount(title, module, cls, *uses.get(key, (bridge,)))
            self.views[key] = widget
            self._add_page(key, title, widget)
        self.settings_page = SettingsPage(bridge, bridge.ctx.settings, bridge.ctx.paths)
        self.providers = ProvidersPanel(bridge, bridge.ctx.remote)
        self.settings_page.add_section(self.providers, replace_providers=True)
        self.views["settings"] = self.settings_page
        self._add_page("settings", "Settings", self.settings_page)
        self.nav.currentRowChanged.connect(self.pages.setCurrentIndex)
        # Style sheets per subtree, never on the transcript (see theme.style_tree).
        rail = self._rail()
        for widget in (rail, self.welcome, *[w for k, w in self.views.items()
                                             if k != "chat"]):
            theme.style_tree(widget)

        central = QWidget()
        central.setObjectName("central")
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(rail)
        row.addWidget(self.pages, 1)
        self.setCentralWidget(central)
        titles = [self.nav.item(i).text() for i in range(self.nav.count())]
        handlers = menus.MenuHandlers(
            new_conversation=self.new_conversation, import_model=self.import_model,
            settings=lambda: self.show_view("settings"), quit=self.close,
            show_view=self.show_view, load_settings=self.open_load_settings,
            unload=self.bridge.unload_model, shortcuts=self.show_shortcuts, about=self.about)
        self.menu_actions, self._menus = menus.build(
            self, list(zip(self._keys, titles, strict=True)), handlers)
        self.dialog: QWidget | None = None  # the Load settings dialog or shortcut sheet open
        self._wire_views()
        self._restore_ui()
        self.chat.models_changed.connect(self._on_models)
        self.chat.refresh_models()

    def _wire_views(self) -> None:
        for key in ("discover", "downloads"):  # "Open" on an installed file or finished job
            opened = getattr(self.views.get(key), "open_model_requested", None)
            if opened is not None:
                opened.connect(self.open_model)
        my_models = self.views.get("my_models")
        for signal, slot in (("chat_requested", self.open_model),
                             ("load_settings_requested", self.open_load_settings)):
            sig = getattr(my_models, signal, None)
            if sig is not None:
                sig.connect(slot)
        self.chat.settings.load_settings_requested.connect(self.open_load_settings)
        self.chat.banners.load_settings_requested.connect(self.open_load_settings)
        self.watcher.changed.connect(self.chat.refresh_models)
        self.providers.changed.connect(self.chat.refresh_models)
        self.settings_page.theme_chosen.connect(self.set_theme)
        server = self.views.get("server")
        use_port = getattr(server, "use_port", None)
        if use_port is not None:
            self.settings_page.server_port_changed.connect(use_port)

    def _rail(self) -> QWidget:
        """The navigation rail: Fireside's flame and name above the views' list."""
        rail = QWidget()
        rail.setObjectName("navRail")
        rail.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        rail.setFixedWidth(184)
        col = QVBoxLayout(rail)
        col.setContentsMargins(0, 14, 0, 8)
        col.setSpacing(8)
        brand = QHBoxLayout()
        brand.setContentsMargins(16, 0, 12, 4)
        brand.setSpacing(8)
        mark = QLabel()
        mark.setObjectName("navLogo")
        mark.setPixmap(icons.logo().pixmap(QSize(28, 28), self.devicePixelRatioF()))
        name = QLabel("Fireside")
        name.setObjectName("navBrand")
        brand.addWidget(mark)
        brand.addWidget(name, 1)
        col.addLayout(brand)
        col.addWidget(self.nav, 1)
        return rail

    def _retint(self) -> None:
        """The navigation's and buttons' icons in the current theme's colours."""
        for row, key in enumerate(self._keys):
            self.nav.item(row).setIcon(icons.icon(key))
        icons.refresh()
        for key, widget in self.views.items():  # colours painted into item models
            restyle = getattr(widget, "restyle", None)
            if key != "chat" and callable(restyle):
                restyle()

    def _add_page(self, key: str, title: str, widget: QWidget) -> None:
        self._keys.append(key)
        item = QListWidgetItem(icons.icon(key), title)
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
        self.chat.settings.load_settings.setEnabled(bool(usable))
        self.menu_actions["load_settings"].setEnabled(bool(usable))

    # -- app-wide actions (the menu bar's) -----------------------------------------------
    @Slot()
    def new_conversation(self) -> None:
        self.show_view("chat")
        self.chat.new_conversation()

    @Slot()
    def import_model(self) -> None:
        self.show_view("my_models")
        choose = getattr(self.views.get("my_models"), "choose_file", None)
        if callable(choose):
            choose()

    @Slot()
    @Slot(str)
    def open_load_settings(self, name: str = "") -> None:
        """The Load settings dialog for ``name`` (the chat's model when empty); Load in it
        loads the model with those settings."""
        name = name or self.chat.settings.current_model()
        if not name:
            self.show_view("my_models")
            return
        library = self.bridge.ctx.library
        self.bridge.submit(lambda: library.get(name), self._show_load_dialog,
                           self.chat.show_error)

    def _show_load_dialog(self, model: LocalModel) -> None:
        dialog = load_dialog.open_dialog(self.bridge, model, self, self._load_with)
        if dialog is None:
            self.chat.show_error(f"{model.name} cannot be loaded: {model.error or 'unreadable'}")
        self.dialog = dialog

    def _load_with(self, name: str, settings: LoadSettings) -> None:
        self.chat.models.choose(name, settings)

    @Slot()
    def show_shortcuts(self) -> None:
        sheet = ShortcutSheet([(m.title(), m.actions()) for m in self.menus()], self)
        sheet.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        sheet.open()
        self.dialog = sheet

    def menus(self) -> list[QMenu]:
        """The menu bar's menus, in order."""
        return list(self._menus)

    @Slot()
    def about(self) -> None:
        QMessageBox.about(self, "About Fireside", ABOUT)

    @Slot(str)
    def set_theme(self, chosen: str) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            theme.set_preference(app, chosen)
            self.chat.restyle()
            self._retint()

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
            self._retint()

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

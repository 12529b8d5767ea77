"""The server panel: switch the OpenAI-compatible API on and off, and watch its requests.

Starting and stopping uvicorn take a moment (binding, lifespan, draining streams), so both run
through ``bridge.submit``; the request log arrives from server threads through
``bridge.relay``, so the table is only ever touched on the GUI thread. The server shares the
window's engine: the chat keeps working while apps call the API.

The state is a switch and a coloured line (Running in green, Stopped muted, errors in the error
colour). A port another program holds is found before Start: the untouched default (8080)
moves to the next free port by itself, a port the person chose gets a "Use port N" offer. The
snippets name a real model: the loaded one, else the chat's, else the library's first.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QColor, QFontDatabase, QGuiApplication, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from superqt import QToggleSwitch

from fireside.core.server import snippets
from fireside.core.server.reqlog import RequestLogEntry
from fireside.core.server.runner import ServerRunner, free_port_near, port_available, state_path
from fireside.core.server.security import check_bind, is_loopback, new_api_key
from fireside.core.settings import ServerSettings
from fireside.gui.bridge import Bridge
from fireside.gui.views.naming import named
from fireside.gui.views.server_state import StateLine

log = logging.getLogger("fireside.gui.server")
LOG_COLUMNS = ("Time", "Method", "Path", "Model", "Tokens", "Queued", "Latency", "Status")
MAX_LOG_ROWS = 500
LAN_HOST = "0.0.0.0"
DEFAULT_PORT = ServerSettings().port
PLACEHOLDER_MODEL = "MODEL-NAME"



class ServerView(QWidget):
    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.setObjectName("serverView")
        self.runner: ServerRunner | None = None
        self._busy = False
        settings = bridge.ctx.settings.read().server

        self.toggle = named(QToggleSwitch("Off"), "serverToggle", "Local server")
        self.toggle.setToolTip("Serve an OpenAI-compatible API on the loaded model")
        self.toggle.switchWidth, self.toggle.switchHeight, self.toggle.handleSize = 44, 22, 26
        self.toggle.onColor, self.toggle.offColor = QColor("#2f9e44"), QColor("#9a9aa6")
        self.toggle.handleColor = QColor("#ffffff")
        self.toggle.setStyleSheet("font-size: 15px; font-weight: 600;")
        self.toggle.setCursor(Qt.CursorShape.PointingHandCursor)
        self.toggle.toggled.connect(self._on_toggled)
        self.state_line = StateLine()
        self.state_line.offer_taken.connect(self._take_offer)
        self.status = self.state_line.status
        self._checked_port = False
        self._model_hint = ""

        self.port = named(QSpinBox(), "serverPort", "Port")
        self.port.setRange(1, 65535)
        self.port.setValue(settings.port or DEFAULT_PORT)
        self.bind = named(QComboBox(), "serverBind", "Bind address")
        self.bind.addItem("This computer only (127.0.0.1)", "127.0.0.1")
        self.bind.addItem("Local network (0.0.0.0) — needs an API key", LAN_HOST)
        self.bind.setCurrentIndex(0 if is_loopback(settings.host) else 1)
        self.api_key = named(QLineEdit(settings.api_key), "serverApiKey", "API key")
        self.api_key.setPlaceholderText("none (required for the local network)")
        self.api_key.setEchoMode(QLineEdit.EchoMode.PasswordEchoOnEdit)
        # Say where the key is kept: the OS keyring, or a file only this user can read.
        self.key_where = named(QLabel(f"The key is {bridge.ctx.settings.secrets.where()}."),
                                "apiKeyStorage", "Where the API key is stored")
        self.key_where.setWordWrap(True)
        self.key_where.setProperty("role", "muted")
        generate = named(QPushButton("Generate"), "generateKey", "Generate API key")
        generate.clicked.connect(lambda: self.api_key.setText(new_api_key()))
        copy_key = named(QPushButton("Copy"), "copyKey", "Copy API key")
        copy_key.clicked.connect(lambda: self._copy(self.api_key.text()))
        self.cors = named(QLineEdit(", ".join(settings.cors_origins)), "serverCors",
                           "CORS origins")
        self.cors.setPlaceholderText("off — e.g. http://localhost:3000, https://my.app")
        self._settings_widgets = [self.port, self.bind, self.api_key, generate, self.cors]

        self.url = named(QLineEdit(), "serverUrl", "Base URL")
        self.url.setReadOnly(True)
        copy_url = named(QPushButton("Copy"), "copyUrl", "Copy base URL")
        copy_url.clicked.connect(lambda: self._copy(self.url.text()))
        self.curl = self._snippet("curlSnippet", "curl snippet")
        self.python = self._snippet("pythonSnippet", "Python snippet")
        self.claude = self._snippet("claudeCodeSnippet", "Claude Code snippet")
        self.snippet_tabs = named(QTabWidget(), "snippetTabs", "Client snippets")
        self.snippet_tabs.addTab(self.curl, "curl")
        self.snippet_tabs.addTab(self.python, "Python")
        self.snippet_tabs.addTab(self.claude, "Claude Code")
        self.snippet_tabs.setMaximumHeight(190)
        copy_snippet = named(QPushButton("Copy snippet"), "copySnippet", "Copy snippet")
        copy_snippet.clicked.connect(lambda: self._copy(
            self.snippet_tabs.currentWidget().toPlainText()))

        self.table = named(QTableWidget(0, len(LOG_COLUMNS)), "requestLog", "Request log")
        self.table.setHorizontalHeaderLabels(LOG_COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        header = self.table.horizontalHeader()
        for col in range(len(LOG_COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        clear = named(QPushButton("Clear"), "clearLog", "Clear request log")
        clear.clicked.connect(lambda: self.table.setRowCount(0))

        self._layout(generate, copy_key, copy_url, copy_snippet, clear)
        for widget in (self.port, self.bind, self.api_key):
            signal = getattr(widget, "valueChanged", None) or getattr(
                widget, "currentIndexChanged", None) or widget.textChanged
            signal.connect(self._refresh_texts)
        self.port.valueChanged.connect(self._port_edited)
        self._refresh_texts()
        # the snippets name the loaded model: follow loads made anywhere (window, API, CLI)
        engine, listener = bridge.ctx.engine, bridge.relay(lambda *_a: self._on_engine())
        engine.add_listener(listener)
        bridge.on_shutdown(lambda: engine.remove_listener(listener))
        self._find_model_hint()

    # -- layout ---------------------------------------------------------------------------
    def _snippet(self, name: str, accessible: str) -> QPlainTextEdit:
        box = named(QPlainTextEdit(), name, accessible)
        box.setReadOnly(True)
        box.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        box.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        box.setMinimumHeight(110)
        return box

    def _layout(self, generate: QWidget, copy_key: QWidget, copy_url: QWidget,
                copy_snippet: QWidget, clear: QWidget) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(24, 20, 24, 20)
        root.setSpacing(12)
        title = QLabel("Local server")
        title.setProperty("role", "heading")
        intro = QLabel("An OpenAI-compatible API on the model loaded in Fireside. Apps and "
                       "scripts that speak OpenAI's API work unchanged; the chat keeps "
                       "working while they do.")
        intro.setWordWrap(True)
        intro.setProperty("role", "muted")
        head = QHBoxLayout()
        head_text = QVBoxLayout()
        head_text.addWidget(title)
        head_text.addWidget(intro)
        head.addLayout(head_text, 1)
        head.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignTop)
        root.addLayout(head)
        root.addWidget(self.state_line)

        columns = QHBoxLayout()
        columns.setSpacing(24)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.addRow("Port", self.port)
        form.addRow("Listen on", self.bind)
        key_row = QHBoxLayout()
        key_row.addWidget(self.api_key, 1)
        key_row.addWidget(generate)
        key_row.addWidget(copy_key)
        form.addRow("API key", key_row)
        form.addRow("", self.key_where)
        form.addRow("CORS origins", self.cors)
        url_row = QHBoxLayout()
        url_row.addWidget(self.url, 1)
        url_row.addWidget(copy_url)
        form.addRow("Base URL", url_row)
        left = QWidget()
        left.setLayout(form)
        columns.addWidget(left, 1)
        right = QVBoxLayout()
        right.setSpacing(4)
        right.addWidget(self.snippet_tabs)
        right.addWidget(copy_snippet, 0, Qt.AlignmentFlag.AlignRight)
        columns.addLayout(right, 1)
        root.addLayout(columns)

        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        root.addWidget(line)
        log_head = QHBoxLayout()
        log_title = QLabel("Requests")
        log_title.setStyleSheet("font-weight: 600;")
        log_head.addWidget(log_title)
        log_head.addStretch(1)
        log_head.addWidget(clear)
        root.addLayout(log_head)
        root.addWidget(self.table, 1)

    # -- settings -------------------------------------------------------------------------
    def current_settings(self) -> ServerSettings:
        stored = self.bridge.ctx.settings.read().server
        origins = [o.strip() for o in self.cors.text().replace("\n", ",").split(",")
                   if o.strip()]
        return replace(stored, port=self.port.value(), host=self.bind.currentData(),
                       api_key=self.api_key.text().strip(), cors_origins=origins)

    def _save(self, server: ServerSettings) -> None:
        store = self.bridge.ctx.settings
        settings = store.read()
        settings.server = server
        try:
            store.write(settings)
        except OSError as exc:
            log.warning("could not save server settings: %s", exc)

    @Slot()
    def _refresh_texts(self, *_args: object) -> None:
        host = "127.0.0.1"
        port = self.runner.port if self.runner and self.runner.running else self.port.value()
        base = f"http://{host}:{port}/v1"
        loaded = self.bridge.ctx.engine.loaded
        model = loaded.name if loaded else self._model_hint or PLACEHOLDER_MODEL
        key = self.api_key.text().strip()
        self.url.setText(base)
        self.curl.setPlainText(snippets.curl(base, model, key))
        self.python.setPlainText(snippets.python(base, model, key))
        self.claude.setPlainText(snippets.claude_code(base, model, key))

    def _copy(self, text: str) -> None:
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            clipboard.setText(text)

    # -- start / stop ---------------------------------------------------------------------
    @Slot(bool)
    def _on_toggled(self, on: bool) -> None:
        if self._busy:
            return
        if on:
            self._start()
        else:
            self._stop()

    @property
    def state(self) -> str:
        return self.state_line.state

    def _show_state(self, state: str, text: str) -> None:
        self.state_line.show_state(state, text)

    def _set_busy(self, busy: bool, status: str) -> None:
        self._busy = busy
        self.toggle.setEnabled(not busy)
        if busy:
            self._show_state("busy", status)

    def _set_toggle(self, on: bool) -> None:
        self.toggle.blockSignals(True)
        self.toggle.setChecked(on)
        self.toggle.blockSignals(False)
        self.toggle.setText("On" if on else "Off")
        for widget in self._settings_widgets:
            widget.setEnabled(not on)

    def _start(self) -> None:
        server = self.current_settings()
        try:
            check_bind(server.host, server.api_key)
        except Exception as exc:
            self._set_toggle(False)
            self._show_state("error", str(exc))
            return
        self._save(server)
        ctx = self.bridge.ctx
        runner = ServerRunner(ctx, server, state_file=state_path(ctx.paths.data))
        runner.add_log_listener(self.bridge.relay(self._append_log))
        self.runner = runner
        self._set_toggle(True)
        self._set_busy(True, "Starting…")
        self.bridge.submit(runner.start, self._on_started, self._on_start_failed)

    @Slot(object)
    def _on_started(self, url: object) -> None:
        self._set_busy(False, "")
        self._show_state("running", f"Running at {url}" + (
            " · API key required" if self.api_key.text().strip() else ""))
        self._refresh_texts()

    @Slot(str)
    def _on_start_failed(self, message: str) -> None:
        self.runner = None
        self._set_toggle(False)
        self._set_busy(False, "")
        self._show_state("error", f"Could not start: {message}")
        self._check_port(offer_only=True)  # a port taken meanwhile: offer the next free one

    def _stop(self) -> None:
        runner = self.runner
        if runner is None:
            self._set_toggle(False)
            return
        self._set_busy(True, "Stopping…")
        self.bridge.submit(runner.stop, self._on_stopped,
                           lambda message: self._on_stopped(None, message))

    @Slot(object)
    def _on_stopped(self, _result: object = None, message: str = "") -> None:
        self.runner = None
        self._set_toggle(False)
        self._set_busy(False, "")
        if message:
            self._show_state("error", f"Stopped ({message})")
        else:
            self._show_state("stopped", "Stopped")
        self._refresh_texts()

    # -- a free port -----------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if not self._checked_port:
            self._checked_port = True
            self._check_port()

    def _check_port(self, offer_only: bool = False) -> None:
        """Is the port free? If not: the untouched default moves to the next free port by
        itself; a chosen port gets an offer. Binding a socket is quick, but it is I/O."""
        if self.running or self._busy:
            return
        host, port = str(self.bind.currentData()), self.port.value()

        def probe() -> tuple[int, int | None]:
            if port_available(host, port):
                return port, port
            return port, free_port_near(host, port + 1)

        self.bridge.submit(probe, lambda r: self._on_port_probe(*r, offer_only=offer_only))

    def _on_port_probe(self, port: int, free: int | None, *, offer_only: bool) -> None:
        if self.running or self._busy or port != self.port.value() or free == port:
            return
        if free is None:
            self._show_state("error", f"Port {port} is in use, and so are the 50 after it.")
            return
        if port == DEFAULT_PORT and not offer_only:
            self.port.setValue(free)
            self._show_state("warning", f"Port {port} is in use by another program, so the "
                             f"server will use {free}.")
            return
        if not offer_only:
            self._show_state("error", f"Port {port} is in use by another program.")
        self.state_line.offer_port(free)

    @Slot(int)
    def _take_offer(self, port: int) -> None:
        if not self.running:
            self.port.setValue(port)
            self._show_state("stopped", "Stopped")

    @Slot(int)
    def _port_edited(self, _port: int) -> None:
        self.state_line.withdraw_offer()
        if self.state in ("error", "warning") and not self.running:
            self._show_state("stopped", "Stopped")

    @Slot(int)
    def use_port(self, port: int) -> None:
        """The default port changed in Settings: use it from now on (unless running)."""
        if not self.running and not self._busy:
            self.port.setValue(port)
            self._check_port(offer_only=False)

    # -- which model the snippets name -----------------------------------------------------
    def _on_engine(self) -> None:
        self._refresh_texts()
        if self.bridge.ctx.engine.loaded is None:
            self._find_model_hint()

    def _find_model_hint(self) -> None:
        """No model loaded: name the chat's model, or the library's first (the server loads
        a model by that name on the first request)."""
        ctx = self.bridge.ctx

        def find() -> str:
            chosen = str(ctx.settings.read().ui.get("chat_model", ""))
            names = [m.name for m in ctx.library.list() if not m.error]
            return chosen if chosen in names else (names[0] if names else "")

        self.bridge.submit(find, self._got_model_hint)

    def _got_model_hint(self, name: str) -> None:
        self._model_hint = name
        self._refresh_texts()

    @property
    def running(self) -> bool:
        return self.runner is not None and self.runner.running

    def shutdown(self) -> None:
        """Window closing: stop the server here and now (streams are cancelled first)."""
        if self.runner is not None:
            self.runner.stop(timeout=10)
            self.runner = None

    # -- request log ----------------------------------------------------------------------
    def _append_log(self, entry: RequestLogEntry) -> None:
        self.table.insertRow(0)
        cells = (time.strftime("%H:%M:%S", time.localtime(entry.time)), entry.method,
                 entry.path, entry.model or "—",
                 "—" if entry.tokens is None else str(entry.tokens),
                 "—" if entry.queue_s is None else f"{entry.queue_s * 1000:.0f} ms",
                 f"{entry.latency_s * 1000:.0f} ms", str(entry.status))
        for col, text in enumerate(cells):
            item = QTableWidgetItem(text)
            if col in (4, 5, 6, 7):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if col == 7 and entry.status >= 400:
                item.setForeground(Qt.GlobalColor.red)
            self.table.setItem(0, col, item)
        while self.table.rowCount() > MAX_LOG_ROWS:
            self.table.removeRow(self.table.rowCount() - 1)

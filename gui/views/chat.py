"""The chat pane: conversations on the left, transcript and composer in the middle, settings on
the right. It owns the in-memory state of the open conversation; the store is written through one
serial queue (off the GUI thread, in order) and the engine is reached only through the Bridge.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from fireside.core.models.library import LocalModel
from fireside.core.store import Conversation, Message, Preset, Store, new_id
from fireside.gui.bridge import Bridge
from fireside.gui.models.conversations import ConversationListModel
from fireside.gui.views.chat_actions import ReplyActions
from fireside.gui.views.chat_composer import Composer
from fireside.gui.views.chat_session import ReplyState, stats_text
from fireside.gui.views.chat_settings import SettingsPanel, params_from
from fireside.gui.views.chat_sidebar import ConversationSidebar
from fireside.gui.views.chat_transcript import MessageBubble, Transcript
from fireside.gui.workers import SerialQueue

log = logging.getLogger("fireside.gui.chat")
NEW_TITLE = "New conversation"
FIT_KEY = "context_overflow"


def _banner(name: str, accessible: str) -> tuple[QFrame, QLabel, QHBoxLayout]:
    frame = QFrame()
    frame.setObjectName(name)
    frame.setAccessibleName(accessible)
    row = QHBoxLayout(frame)
    row.setContentsMargins(12, 6, 6, 6)
    label = QLabel()
    label.setObjectName(name + "Text")
    label.setAccessibleName(accessible + " text")
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    row.addWidget(label, 1)
    frame.setVisible(False)
    return frame, label, row


def _button(text: str, name: str, accessible: str) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)
    button.setAccessibleName(accessible)
    return button


class ChatView(ReplyActions, QWidget):
    models_changed = Signal(object)  # list[LocalModel]
    conv: Conversation | None
    messages: list[Message]
    reply: ReplyState | None
    _closed: bool

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatView")
        self.setAccessibleName("Chat")
        self.bridge = bridge
        self._store: Store | None = None  # touched only on the store thread
        self._queue = SerialQueue()
        self._queue.put(self._open_store)
        self.conv = None
        self.messages = []
        self.reply = None
        self._models: list[LocalModel] = []
        self._default_model = ""
        self._load_req = 0
        self._deleted: list[Conversation] = []
        self._closed = False

        self.list_model = ConversationListModel(self)
        self.sidebar = ConversationSidebar(self.list_model)
        self.transcript = Transcript()
        self.composer = Composer()
        self.settings = SettingsPanel()

        self.error_bar, self.error_label, row = _banner("errorBanner", "Error")
        dismiss = _button("Dismiss", "dismissError", "Dismiss error")
        dismiss.clicked.connect(lambda: self.error_bar.setVisible(False))
        row.addWidget(dismiss)
        self.context_bar, self.context_label, row = _banner("banner", "Context full")
        self.drop_oldest = _button("Drop oldest turns", "dropOldest", "Drop oldest turns")
        self.drop_oldest.clicked.connect(self._on_drop_oldest)
        self.fresh_chat = _button("Start a new chat", "startNewChat", "Start a new chat")
        self.fresh_chat.clicked.connect(self._on_fresh_chat)
        row.addWidget(self.drop_oldest)
        row.addWidget(self.fresh_chat)

        self.stats = QLabel("")
        self.stats.setObjectName("replyStatsBar")
        self.stats.setAccessibleName("Reply statistics")
        self.stats.setProperty("role", "muted")
        self.context_meter = QProgressBar()
        self.context_meter.setObjectName("contextMeter")
        self.context_meter.setAccessibleName("Context used")
        self.context_meter.setFixedWidth(220)
        self.context_meter.setFixedHeight(16)
        self.context_meter.setRange(0, 1)
        self.context_meter.setValue(0)
        self.context_meter.setFormat("Context: no model loaded")

        center = QWidget()
        col = QVBoxLayout(center)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(0)
        for bar in (self.error_bar, self.context_bar):
            holder = QVBoxLayout()
            holder.setContentsMargins(16, 8, 16, 0)
            holder.addWidget(bar)
            col.addLayout(holder)
        col.addWidget(self.transcript, 1)
        status = QHBoxLayout()
        status.setContentsMargins(18, 4, 18, 0)
        status.addWidget(self.stats, 1)
        status.addWidget(self.context_meter)
        col.addLayout(status)
        col.addWidget(self.composer)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.setObjectName("chatSplitter")
        split.addWidget(self.sidebar)
        split.addWidget(center)
        split.addWidget(self.settings)
        split.setStretchFactor(1, 1)
        split.setSizes([240, 660, 300])
        split.setChildrenCollapsible(False)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(split)

        self._wire()
        self._read(lambda s: (s.conversations(), s.presets()), self._on_initial)

    def _wire(self) -> None:
        b = self.bridge
        b.token_ready.connect(self._on_tokens)
        b.finished.connect(self._on_finished)
        b.failed.connect(self._on_failed)
        b.cancelled.connect(self._on_cancelled)
        b.context_overflow.connect(self._on_overflow)
        b.trimmed.connect(self._on_trimmed)
        b.load_started.connect(self._on_load_started)
        b.load_progress.connect(self._on_load_progress)
        b.model_loaded.connect(self._on_model_loaded)
        b.load_failed.connect(self._on_load_failed)
        self.sidebar.new_requested.connect(self.new_conversation)
        self.sidebar.selected.connect(self.open_conversation)
        self.sidebar.delete_requested.connect(self.delete_conversation)
        self.sidebar.undo_requested.connect(self.undo_delete)
        self.sidebar.search_changed.connect(self.search)
        self.list_model.renamed.connect(self._on_renamed)
        self.composer.send_requested.connect(self.send)
        self.composer.stop_requested.connect(self.stop)
        self.composer.regenerate_requested.connect(self.regenerate)
        self.transcript.edit_requested.connect(self._on_edit)
        self.settings.changed.connect(self._on_settings_changed)
        self.settings.model_chosen.connect(self.choose_model)
        self.settings.preset_save_requested.connect(self._on_save_preset)
        self.settings.preset_delete_requested.connect(self._on_delete_preset)
        esc = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        esc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        esc.activated.connect(self._on_escape)
        new = QShortcut(QKeySequence(QKeySequence.StandardKey.New), self)
        new.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        new.activated.connect(self.new_conversation)

    # -- store access (serial thread) ----------------------------------------------------
    def _open_store(self) -> None:
        try:
            self._store = Store(self.bridge.ctx.paths.database)
        except Exception as exc:
            log.exception("conversation store unavailable")
            self.bridge.relay(self.show_error)(
                f"Conversations cannot be saved: {exc}")

    def _close_store(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            store.close()

    def _write(self, fn: Callable[[Store], Any]) -> None:
        def task() -> None:
            if self._store is not None:
                fn(self._store)
        self._queue.put(task)

    def _read(self, fn: Callable[[Store], Any], on_done: Callable[[Any], None]) -> None:
        relay = self.bridge.relay(on_done)

        def task() -> None:
            if self._store is not None:
                relay(fn(self._store))
        self._queue.put(task)

    def flush_store(self, timeout: float = 10.0) -> bool:
        return self._queue.flush(timeout)

    # -- models --------------------------------------------------------------------------
    def refresh_models(self, select: str = "") -> None:
        ctx = self.bridge.ctx

        def fetch() -> tuple[list[LocalModel], str]:
            return ctx.library.list(), str(ctx.settings.read().ui.get("chat_model", ""))

        def done(result: tuple[list[LocalModel], str]) -> None:
            models, default = result
            self._models = models
            self._default_model = select or self._default_model or default
            usable = [m.name for m in models if not m.error]
            if not self._default_model and usable:
                self._default_model = usable[0]
            current = (self.conv.model if self.conv and self.conv.model
                       else self._default_model)
            self.settings.set_models(models, current)
            if select:
                self.choose_model(select)
            self.models_changed.emit(models)

        self.bridge.submit(fetch, done, self.show_error)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        if self._models:  # another view may have added or removed models meanwhile
            self.refresh_models()

    @Slot(str)
    def choose_model(self, name: str) -> None:
        """The picker: remember the choice and load it now, with visible progress."""
        self._default_model = name
        self.settings.select_model(name)
        if self.conv is not None and self.conv.model != name:
            self.conv.model = name
            self._save_conv()
        settings_store = self.bridge.ctx.settings

        def remember() -> None:
            s = settings_store.read()
            s.ui["chat_model"] = name
            settings_store.write(s)

        self.bridge.submit(remember)
        loaded = self.bridge.ctx.engine.loaded
        if (loaded is None or loaded.name != name) and self.reply is None:
            self._load(name)

    def _load(self, name: str) -> None:
        model = next((m for m in self._models if m.name == name), None)
        if model is None:
            self.show_error(f"The model {name!r} is not in the library any more.")
            return
        ctx = self.bridge.ctx
        self.settings.set_loading(f"Loading {name}…")

        def start(load_settings: Any) -> None:
            self._load_req = self.bridge.load_model(model.path, load_settings, name)

        self.bridge.submit(lambda: ctx.settings.read().load_settings_for(name), start,
                           self.show_error)

    @Slot(int, str)
    def _on_load_started(self, req_id: int, name: str) -> None:
        self._load_req = req_id
        self.settings.set_loading(f"Loading {name}…")

    @Slot(int, float)
    def _on_load_progress(self, req_id: int, elapsed: float) -> None:
        if req_id == self._load_req:
            self.settings.set_loading(f"Loading {self.settings.current_model()}… {elapsed:.1f} s")

    @Slot(int, object)
    def _on_model_loaded(self, req_id: int, loaded: Any) -> None:
        if req_id != self._load_req:
            return
        self.settings.set_loading(None)
        if loaded is None:
            self.settings.model_status.setText("No model loaded")
            return
        self.settings.model_status.setText(
            f"Loaded · context {loaded.n_ctx:,} tokens · {loaded.load_s:.1f} s")
        self.error_bar.setVisible(False)
        self._show_context(self._last_stats())
        if self.reply is not None and self.reply.waiting_for_load:
            self._start_reply()

    @Slot(int, str)
    def _on_load_failed(self, req_id: int, message: str) -> None:
        if req_id != self._load_req:
            return
        self.settings.set_loading(None)
        self.settings.model_status.setText("Not loaded: see the message above")
        self.show_error(f"Could not load the model: {message}")
        if self.reply is not None and self.reply.waiting_for_load:
            self._drop_reply_bubble()
            self._end_reply()

    # -- conversations -------------------------------------------------------------------
    @Slot(object)
    def _on_initial(self, result: tuple[list[Conversation], list[Preset]]) -> None:
        conversations, presets = result
        self.list_model.set_items(conversations)
        self._set_presets(presets)
        if conversations and self.conv is None and not self.messages:
            self.open_conversation(conversations[0].id)

    def _set_presets(self, presets: list[Preset]) -> None:
        current = self.conv.preset if self.conv else self.settings.current_preset()
        self.settings.set_presets({p.name: (p.system_prompt, p.sampling) for p in presets},
                                  current)

    @Slot()
    def new_conversation(self) -> None:
        """An empty chat; it is saved when its first message is sent."""
        self.conv = None
        self.messages = []
        self.transcript.clear()
        self.composer.clear()
        self.context_bar.setVisible(False)
        self.sidebar.list.clearSelection()
        self.sidebar.list.setCurrentIndex(self.list_model.index(-1))
        self._show_context({})
        self.stats.setText("")
        self.composer.input.setFocus()
        self._update_buttons()

    @Slot(str)
    def open_conversation(self, conv_id: str) -> None:
        if self.conv is not None and self.conv.id == conv_id:
            return
        self._read(lambda s: (s.conversation(conv_id), s.messages(conv_id)), self._show)

    @Slot(object)
    def _show(self, result: tuple[Conversation | None, list[Message]]) -> None:
        conv, messages = result
        if conv is None:
            return
        self.conv, self.messages = conv, messages
        self.sidebar.select(conv.id)
        self.transcript.clear()
        self.composer.end_edit()
        self.context_bar.setVisible(False)
        for m in messages:
            bubble = self._add_bubble(m)
            if m.role == "assistant":
                bubble.set_footer(stats_text(m.stats, m.finish_reason))
        if self.reply is not None and self.reply.conv_id == conv.id:
            self.reply.bubble = self._add_bubble_for_reply()
            self.reply.bubble.set_text(self.reply.text)
        self.settings.set_sampling(params_from(conv.sampling), conv.system_prompt)
        self.settings.select_model(conv.model or self._default_model)
        self._set_preset_label(conv.preset)
        last = self._last_stats()
        self.stats.setText(stats_text(last, "") if last else "")
        self._show_context(last)
        self._update_buttons()

    def _set_preset_label(self, name: str) -> None:
        self.settings.preset.setCurrentIndex(max(0, self.settings.preset.findText(name)))

    def _add_bubble(self, m: Message) -> MessageBubble:
        speaker = "You" if m.role == "user" else (m.model or "Assistant")
        return self.transcript.add_message(m.role, m.content, m.position, speaker)

    def _add_bubble_for_reply(self) -> MessageBubble:
        assert self.reply is not None
        return self.transcript.add_message("assistant", "", self.reply.position,
                                           self.reply.model)

    def _ensure_conversation(self, first_text: str) -> Conversation:
        if self.conv is None:
            title = " ".join(first_text.split())[:48] or NEW_TITLE
            self.conv = Conversation(
                id=new_id(), title=title, model=self.settings.current_model(),
                system_prompt=self.settings.system_prompt(),
                sampling=self.settings.sampling().to_json(),
                preset=self.settings.current_preset())
            conv = self.conv
            self._write(lambda s: s.save_conversation(conv))
        self.list_model.upsert_top(self.conv)
        self.sidebar.select(self.conv.id)
        return self.conv

    def _save_conv(self) -> None:
        if self.conv is not None:
            conv = Conversation(**vars(self.conv))
            self._write(lambda s: s.save_conversation(conv))

    @Slot(str, str)
    def _on_renamed(self, conv_id: str, title: str) -> None:
        if self.conv is not None and self.conv.id == conv_id:
            self.conv.title = title
        self._write(lambda s: s.rename(conv_id, title))

    @Slot(str)
    def delete_conversation(self, conv_id: str) -> None:
        conv = self.list_model.remove(conv_id)
        if conv is None:
            return
        if self.reply is not None and self.reply.conv_id == conv_id:
            self.stop()
        self._deleted.append(conv)
        self._write(lambda s: s.delete(conv_id))
        self.sidebar.show_undo(conv.title)
        if self.conv is not None and self.conv.id == conv_id:
            self.new_conversation()

    @Slot()
    def undo_delete(self) -> None:
        if not self._deleted:
            return
        conv = self._deleted.pop()
        self._write(lambda s: s.undelete(conv.id))
        self.search(self.sidebar.search.text())
        self.open_conversation(conv.id)

    @Slot(str)
    def search(self, text: str) -> None:
        self._read(lambda s: s.conversations(text), self._on_search)

    @Slot(object)
    def _on_search(self, conversations: list[Conversation]) -> None:
        self.list_model.set_items(conversations)
        if self.conv is not None:
            self.sidebar.select(self.conv.id)

    # -- settings and presets ------------------------------------------------------------
    @Slot()
    def _on_settings_changed(self) -> None:
        if self.conv is None:
            return
        self.conv.system_prompt = self.settings.system_prompt()
        fit = self.conv.sampling.get(FIT_KEY)
        self.conv.sampling = self.settings.sampling().to_json()
        if fit:
            self.conv.sampling[FIT_KEY] = fit
        self.conv.preset = self.settings.current_preset()
        self._save_conv()

    @Slot()
    def _on_save_preset(self) -> None:
        name, ok = QInputDialog.getText(self, "Save preset", "Preset name:",
                                        text=self.settings.current_preset())
        if ok and name.strip():
            self.save_preset(name.strip())

    def save_preset(self, name: str) -> None:
        preset = Preset(name, self.settings.system_prompt(), self.settings.sampling().to_json())
        self._write(lambda s: s.save_preset(preset))
        if self.conv is not None:
            self.conv.preset = name
            self._save_conv()
        self._read(lambda s: s.presets(), self._set_presets)
        self.settings.preset.setCurrentText(name)

    @Slot(str)
    def _on_delete_preset(self, name: str) -> None:
        self._write(lambda s: s.delete_preset(name))
        self._read(lambda s: s.presets(), self._set_presets)

    def restyle(self) -> None:
        """The colour scheme changed: re-render code blocks with the matching style."""
        for bubble in self.transcript.bubbles():
            text, bubble.text = bubble.text, ""
            bubble.set_text(text)


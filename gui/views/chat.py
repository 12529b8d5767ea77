"""The chat pane: conversations on the left, transcript and composer in the middle, settings on
the right (a drawer behind a toggle when the window is narrow).

It holds the open conversation's state (:class:`ChatState`), shared with the reply half
(:class:`~fireside.gui.views.chat_reply.ReplyController`); the store is written through one
serial queue and the engine is reached only through the Bridge.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QKeySequence, QResizeEvent, QShortcut, QShowEvent
from PySide6.QtWidgets import QHBoxLayout, QInputDialog, QSplitter, QVBoxLayout, QWidget

from fireside.core.attachments import thumb_of
from fireside.core.llama_log import LlamaLog
from fireside.core.store import Conversation, Message, Preset, Store, new_id
from fireside.gui import markdown, theme
from fireside.gui.bridge import Bridge
from fireside.gui.models.conversations import ConversationListModel
from fireside.gui.views.chat_attach import Attacher
from fireside.gui.views.chat_banners import Banners
from fireside.gui.views.chat_composer import Composer
from fireside.gui.views.chat_header import ChatHeader
from fireside.gui.views.chat_models import ModelChooser
from fireside.gui.views.chat_reply import (
    FIT_KEY,
    ChatState,
    ReplyController,
    ReplyHooks,
    entries_for,
)
from fireside.gui.views.chat_session import ReplyState
from fireside.gui.views.chat_settings import SettingsPanel, params_from
from fireside.gui.views.chat_sidebar import ConversationSidebar
from fireside.gui.views.chat_status import StatusStrip
from fireside.gui.views.chat_store import ChatStore
from fireside.gui.views.chat_transcript import Entry, Transcript, prerender

log = logging.getLogger("fireside.gui.chat")
NEW_TITLE = "New conversation"
NARROW_PX = 930  # the pane's width below which settings become a drawer (window ~1,100 px)
DRAWER_PX = 300


def _pygments_style() -> str:
    return theme.current().pygments_style


class ChatView(QWidget):
    models_changed = Signal(object)  # list[LocalModel]

    def __init__(self, bridge: Bridge, parent: QWidget | None = None,
                 llama_log: LlamaLog | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatView")
        self.setAccessibleName("Chat")
        self.bridge = bridge
        self.state = ChatState()
        self._deleted: list[Conversation] = []

        self.banners = Banners()
        self.store = ChatStore(bridge.ctx.paths.database, bridge.relay, self.show_error)
        self.list_model = ConversationListModel(self)
        self.sidebar = ConversationSidebar(self.list_model)
        self.transcript = Transcript(_pygments_style, self._render_async)
        self.header = ChatHeader(self.transcript)
        self.composer = Composer()
        self.settings = SettingsPanel()
        self.status = StatusStrip()
        self.replies = ReplyController(
            bridge, self.state, self.store, self.transcript, self.composer, self.status,
            self.settings, self.banners,
            ReplyHooks(self._ensure_conversation, self._save_conv, self._load, _pygments_style),
            self)
        self.models = ModelChooser(bridge, self.state, self.settings, self.banners,
                                   self.replies, self._save_conv, self, llama_log)
        self.models.models_changed.connect(self.models_changed)

        center = QWidget()
        center.setObjectName("chatCenter")
        col = QVBoxLayout(center)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(4)
        col.addWidget(self.header)
        col.addWidget(self.header.find_bar)
        col.addWidget(self.banners)
        col.addWidget(self.transcript, 1)
        col.addWidget(self.status)
        col.addWidget(self.composer)

        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.setObjectName("chatSplitter")
        self.split.addWidget(self.sidebar)
        self.split.addWidget(center)
        self.split.addWidget(self.settings)
        self.split.setStretchFactor(0, 0)
        self.split.setStretchFactor(1, 1)
        self.split.setStretchFactor(2, 0)
        self.split.setSizes([240, 660, 300])
        self.split.setChildrenCollapsible(False)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.split)
        self._narrow = False
        for part in (self.sidebar, self.header, self.header.find_bar, self.banners,
                     self.status, self.composer, self.settings,
                     self.transcript.verticalScrollBar()):  # the bar alone: thin, no arrows
            theme.style_tree(part)

        self._wire()
        self.store.read(lambda s: (s.conversations(), s.presets()), self._on_initial)

    # -- compatibility names the tests and benches use -----------------------------------
    @property
    def conv(self) -> Conversation | None:
        return self.state.conv

    @property
    def messages(self) -> list[Message]:
        return self.state.messages

    @property
    def reply(self) -> ReplyState | None:
        return self.state.reply

    @property
    def stats(self) -> StatusStrip:
        return self.status

    def send(self, text: str) -> None:
        self.replies.send(text)

    def stop(self) -> None:
        self.replies.stop()

    def flush_store(self, timeout: float = 10.0) -> bool:
        return self.store.flush(timeout)

    def _wire(self) -> None:
        self.sidebar.new_requested.connect(self.new_conversation)
        self.sidebar.selected.connect(self.open_conversation)
        self.sidebar.delete_requested.connect(self.delete_conversation)
        self.sidebar.undo_requested.connect(self.undo_delete)
        self.sidebar.search_changed.connect(self.search)
        self.list_model.renamed.connect(self._on_renamed)
        self.composer.send_requested.connect(self.replies.send)
        self.attacher = Attacher(self.bridge, self.composer, self.store.attachments,
                                 self.banners, self)
        self.transcript.empty.prompt_chosen.connect(self.composer.submit)
        self.composer.stop_requested.connect(self.replies.stop)
        self.composer.regenerate_requested.connect(self.replies.regenerate)
        self.transcript.edit_requested.connect(self._on_edit)
        self.banners.drop_oldest_requested.connect(self.replies.drop_oldest)
        self.banners.fresh_chat_requested.connect(self._on_fresh_chat)
        self.header.settings_toggled.connect(self._on_settings_toggled)
        self.settings.changed.connect(self._on_settings_changed)
        self.settings.model_chosen.connect(self.choose_model)
        self.settings.preset_save_requested.connect(self._on_save_preset)
        self.settings.preset_delete_requested.connect(self._on_delete_preset)
        # Ctrl+N is the window's File → New conversation (one owner, or Qt finds it ambiguous)
        for key, slot in ((QKeySequence(Qt.Key.Key_Escape), self._on_escape),
                          (QKeySequence(QKeySequence.StandardKey.Find), self.header.open_find)):
            shortcut = QShortcut(key, self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

    def _render_async(self, texts: list[str], style: str,
                      done: Callable[[list[list[markdown.Segment]]], None]) -> None:
        """Markdown off the GUI thread: a page of history costs the GUI its widgets only.
        If rendering fails the page still comes, as plain text: a transcript waiting for it
        would page no further and a pending Find would never be shown."""
        def failed(message: str) -> None:
            self.show_error(message)
            done([[markdown.Segment("prose", markdown.plain(t))] for t in texts])

        self.bridge.submit(lambda: [markdown.segments(t, style) for t in texts], done, failed)

    # -- narrow windows: settings as a drawer --------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        narrow = self.width() < NARROW_PX
        if narrow != self._narrow:
            self._narrow = narrow
            self.header.set_settings_toggle(narrow, checked=False)
            if narrow:
                self.split.setSizes([190, max(300, self.width() - 190)])
                self.settings.setParent(self)
                self.settings.setProperty("drawer", "true")
                self.settings.setVisible(False)
            else:
                self.settings.setProperty("drawer", "false")
                self.split.addWidget(self.settings)
                self.settings.setVisible(True)
                self.split.setSizes([240, max(300, self.width() - 560), 300])
        self._place_drawer()

    def _place_drawer(self) -> None:
        if self._narrow:
            width = min(DRAWER_PX, self.width() - 40)
            self.settings.setGeometry(self.width() - width, 0, width, self.height())
            self.settings.raise_()

    @Slot(bool)
    def _on_settings_toggled(self, on: bool) -> None:
        if self._narrow:
            self._place_drawer()
            self.settings.setVisible(on)

    # -- models --------------------------------------------------------------------------
    def refresh_models(self, select: str = "") -> None:
        self.models.refresh(select)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        if self.models.known:  # another view may have added or removed models meanwhile
            self.models.refresh()

    @Slot(str)
    def choose_model(self, name: str) -> None:
        self.models.choose(name)

    def _load(self, name: str) -> None:
        self.models.load(name)

    # -- conversations -------------------------------------------------------------------
    @Slot(object)
    def _on_initial(self, result: tuple[list[Conversation], list[Preset]]) -> None:
        conversations, presets = result
        self.list_model.set_items(conversations)
        self._set_presets(presets)
        if conversations and self.state.conv is None and not self.state.messages:
            self.open_conversation(conversations[0].id)

    def _set_presets(self, presets: list[Preset]) -> None:
        current = self.state.conv.preset if self.state.conv else self.settings.current_preset()
        self.settings.set_presets({p.name: (p.system_prompt, p.sampling) for p in presets},
                                  current)

    @Slot()
    def new_conversation(self) -> None:
        """An empty chat; it is saved when its first message is sent."""
        self.state.conv = None
        self.state.messages = []
        self.transcript.clear()
        self.header.set_title(NEW_TITLE)
        self.composer.clear()
        self.banners.context_bar.setVisible(False)
        self.sidebar.list.clearSelection()
        self.sidebar.list.setCurrentIndex(self.list_model.index(-1))
        self.replies.show_context({})
        self.status.say("")
        self.composer.input.setFocus()
        self.replies.update_buttons()

    @Slot(str)
    def open_conversation(self, conv_id: str) -> None:
        if self.state.conv is not None and self.state.conv.id == conv_id:
            return
        style = _pygments_style()
        folder = self.store.attachments

        def fetch(s: Store) -> tuple[Conversation | None, list[Message], list[Entry]]:
            messages = s.messages(conv_id)  # and the newest page rendered, off the GUI thread
            entries = prerender(entries_for(messages, folder), style)
            return s.conversation(conv_id), messages, entries

        self.store.read(fetch, self._show)

    @Slot(object)
    def _show(self, result: tuple[Conversation | None, list[Message], list[Entry]]) -> None:
        conv, messages, entries = result
        if conv is None:
            return
        state = self.state
        state.conv, state.messages = conv, messages
        self.sidebar.select(conv.id)
        self.header.set_title(conv.title)
        self.composer.end_edit()
        self.banners.context_bar.setVisible(False)
        self.transcript.set_entries(entries)
        if state.reply is not None and state.reply.conv_id == conv.id:
            self.replies.attach_bubble()
        self.settings.set_sampling(params_from(conv.sampling), conv.system_prompt)
        self.settings.select_model(conv.model or self.models.default)
        self.settings.preset.setCurrentIndex(max(0, self.settings.preset.findText(conv.preset)))
        last = self.replies.last_stats()
        ended = next((m.finish_reason for m in reversed(messages) if m.role == "assistant"), "")
        self.status.show_stats(last, ended)
        self.replies.show_context(last)
        self.replies.update_buttons()

    def _ensure_conversation(self, first_text: str) -> Conversation:
        if self.state.conv is None:
            title = " ".join(first_text.split())[:48] or NEW_TITLE
            conv = Conversation(
                id=new_id(), title=title, model=self.settings.current_model(),
                system_prompt=self.settings.system_prompt(),
                sampling=self.settings.sampling().to_json(),
                preset=self.settings.current_preset())
            self.state.conv = conv
            self.store.write(lambda s: s.save_conversation(conv))
            self.header.set_title(title)
        self.list_model.upsert_top(self.state.conv)
        self.sidebar.select(self.state.conv.id)
        return self.state.conv

    def _save_conv(self) -> None:
        if self.state.conv is not None:
            conv = Conversation(**vars(self.state.conv))
            self.store.write(lambda s: s.save_conversation(conv))

    @Slot(str, str)
    def _on_renamed(self, conv_id: str, title: str) -> None:
        if self.state.conv is not None and self.state.conv.id == conv_id:
            self.state.conv.title = title
            self.header.set_title(title)
        self.store.write(lambda s: s.rename(conv_id, title))

    @Slot(str)
    def delete_conversation(self, conv_id: str) -> None:
        conv = self.list_model.remove(conv_id)
        if conv is None:
            return
        if self.state.reply is not None and self.state.reply.conv_id == conv_id:
            self.replies.stop()
        self._deleted.append(conv)
        self.store.write(lambda s: s.delete(conv_id))
        self.sidebar.show_undo(conv.title)
        if self.state.conv is not None and self.state.conv.id == conv_id:
            self.new_conversation()

    @Slot()
    def undo_delete(self) -> None:
        if not self._deleted:
            return
        conv = self._deleted.pop()
        self.store.write(lambda s: s.undelete(conv.id))
        self.search(self.sidebar.search.text())
        self.open_conversation(conv.id)

    @Slot(str)
    def search(self, text: str) -> None:
        self.store.read(lambda s: s.conversations(text), self._on_search)

    @Slot(object)
    def _on_search(self, conversations: list[Conversation]) -> None:
        self.list_model.set_items(conversations)
        if self.state.conv is not None:
            self.sidebar.select(self.state.conv.id)

    # -- editing, escape, a fresh start --------------------------------------------------
    @Slot(int)
    def _on_edit(self, position: int) -> None:
        if self.state.reply is not None:
            return
        msg = next((m for m in self.state.messages if m.position == position), None)
        if msg is not None and msg.role == "user":
            self.composer.begin_edit(position, msg.content)
            for i, name in enumerate(msg.images):  # its images go with the resent text
                self.composer.attachments.add(name, f"image {i + 1}",
                                              thumb_of(self.store.attachments, name))

    @Slot()
    def _on_escape(self) -> None:
        if self.state.reply is not None:
            self.replies.stop()
        elif self.header.find_bar.isVisible():
            self.header.find_bar.close_bar()
        elif self.composer.editing_position is not None:
            self.composer.clear()

    @Slot()
    def _on_fresh_chat(self) -> None:
        last_user = next((m.content for m in reversed(self.state.messages)
                          if m.role == "user"), "")
        self.new_conversation()
        self.composer.input.setPlainText(last_user)

    # -- settings and presets ------------------------------------------------------------
    @Slot()
    def _on_settings_changed(self) -> None:
        conv = self.state.conv
        if conv is None:
            return
        conv.system_prompt = self.settings.system_prompt()
        fit = conv.sampling.get(FIT_KEY)
        conv.sampling = self.settings.sampling().to_json()
        if fit:
            conv.sampling[FIT_KEY] = fit
        conv.preset = self.settings.current_preset()
        self._save_conv()

    @Slot()
    def _on_save_preset(self) -> None:
        name, ok = QInputDialog.getText(self, "Save preset", "Preset name:",
                                        text=self.settings.current_preset())
        if ok and name.strip():
            self.save_preset(name.strip())

    def save_preset(self, name: str) -> None:
        preset = Preset(name, self.settings.system_prompt(), self.settings.sampling().to_json())
        self.store.write(lambda s: s.save_preset(preset))
        if self.state.conv is not None:
            self.state.conv.preset = name
            self._save_conv()
        self.store.read(lambda s: s.presets(), self._set_presets)
        self.settings.preset.setCurrentText(name)

    @Slot(str)
    def _on_delete_preset(self, name: str) -> None:
        self.store.write(lambda s: s.delete_preset(name))
        self.store.read(lambda s: s.presets(), self._set_presets)

    # -- the rest ------------------------------------------------------------------------
    def show_error(self, message: str) -> None:
        self.banners.show_error(message)

    def restyle(self) -> None:
        """The colour scheme changed: re-render code blocks with the matching style."""
        style = _pygments_style()
        self.transcript.empty.retint()
        self.settings.retint()
        for bubble in self.transcript.bubbles():
            bubble.set_text(bubble.text, style)
            bubble.apply_theme()
        for entry in self.transcript.entries:
            if entry.widget is None:
                entry.segs = None  # rendered again, in the new style, when scrolled to

    def shutdown(self) -> None:
        """Closing mid-reply: keep what was written so far, then flush the store."""
        if self.state.closed:
            return
        self.state.closed = True
        self.replies.shutdown()
        if not self.store.close():
            log.warning("conversation store still busy at shutdown")

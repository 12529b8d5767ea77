"""Which model the chat pane uses: the picker's list, the choice remembered, loading it.

The pane asks; the engine (through the Bridge) loads, and this follows the load's signals to
keep the picker's status line true. A failed load says what llama.cpp itself said (its log,
read through :class:`~fireside.core.llama_log.LlamaLog`), not only llama-cpp-python's "Failed to
create llama_context".
"""

from __future__ import annotations

import re
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot

from fireside.core.hardware import offload
from fireside.core.inference.engine import LoadedModel
from fireside.core.inference.types import LoadSettings
from fireside.core.llama_log import LlamaLog
from fireside.core.models.library import LocalModel
from fireside.core.remote.client import RemoteModel
from fireside.core.remote.providers import split_ref
from fireside.gui.bridge import Bridge
from fireside.gui.views.chat_banners import Banners
from fireside.gui.views.chat_reply import ChatState, ReplyController
from fireside.gui.views.chat_settings import SettingsPanel, remote_note

LOADERS = {"server": "The local server", "cli": "The command line"}
# llama-cpp-python's own sentences for every failed load: they name no cause
_GENERIC = re.compile(r":?\s*Failed to (create llama_context|load model from file).*$")


def load_failure(message: str, reason: str) -> str:
    """The banner's line: the engine's message with llama.cpp's reason in place of (or after)
    llama-cpp-python's generic sentence."""
    if not reason:
        return f"Could not load the model: {message}"
    if _GENERIC.search(message):
        return f"Could not load the model: {_GENERIC.sub('', message)}: {reason}"
    return f"Could not load the model: {message} (llama.cpp: {reason})"


class ModelChooser(QObject):
    models_changed = Signal(object)  # list[LocalModel]

    def __init__(self, bridge: Bridge, state: ChatState, settings: SettingsPanel,
                 banners: Banners, replies: ReplyController, save_conversation: Callable[[], None],
                 parent: QObject | None = None, llama_log: LlamaLog | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.state = state
        self.settings = settings
        self.banners = banners
        self.replies = replies
        self._save_conversation = save_conversation
        self.known: list[LocalModel] = []
        self.remote: list[RemoteModel] = []  # enabled providers' models (cached lists)
        self.default = ""
        self._load_req = 0
        self._llama_log = llama_log
        self._log_mark = 0
        bridge.load_started.connect(self._on_load_started)
        bridge.load_progress.connect(self._on_load_progress)
        bridge.model_loaded.connect(self._on_model_loaded)
        bridge.load_failed.connect(self._on_load_failed)
        # Loads and unloads made elsewhere (the server's just-in-time load, the CLI's
        # `fireside load`) must show here too: the engine tells every front.
        engine, listener = bridge.ctx.engine, bridge.relay(self._on_engine_event)
        engine.add_listener(listener)
        bridge.on_shutdown(lambda: engine.remove_listener(listener))

    def refresh(self, select: str = "") -> None:
        ctx = self.bridge.ctx

        def fetch() -> tuple[list[LocalModel], str]:
            return ctx.library.list(), str(ctx.settings.read().ui.get("chat_model", ""))

        self.bridge.submit(fetch, lambda result: self._on_list(result, select),
                           self.banners.show_error)

    def _on_list(self, result: tuple[list[LocalModel], str], select: str) -> None:
        models, remembered = result
        self.known = models
        self.default = select or self.default or remembered
        usable = [m.name for m in models if not m.error]
        if not self.default and usable:
            self.default = usable[0]
        conv = self.state.conv
        self.settings.set_models(models, conv.model if conv and conv.model else self.default,
                                 self.remote)
        if select:
            self.choose(select)
        self.models_changed.emit(models)
        remote = self.bridge.ctx.remote  # then the remote ones: a slow provider delays no one
        self.bridge.submit(remote.all_models, self._on_remote)

    def _on_remote(self, models: list[RemoteModel]) -> None:
        if [m.ref for m in models] == [m.ref for m in self.remote]:
            return
        self.remote = models
        conv = self.state.conv
        current = self.settings.current_model() or (conv.model if conv else "") or self.default
        self.settings.set_models(self.known, current, models)

    def choose(self, name: str, settings: LoadSettings | None = None) -> None:
        """The picker: remember the choice and load it now, with visible progress.

        ``settings`` (from the Load settings dialog) load it again even if it is loaded."""
        self.default = name
        self.settings.select_model(name)
        conv = self.state.conv
        if conv is not None and conv.model != name:
            conv.model = name
            self._save_conversation()
        settings_store = self.bridge.ctx.settings

        def remember() -> None:
            s = settings_store.read()
            s.ui["chat_model"] = name
            settings_store.write(s)

        self.bridge.submit(remember)
        remote = split_ref(name)
        if remote is not None:  # nothing to load: it runs on the provider's machines
            self.settings.model_status.setText(remote_note(remote[0]).capitalize())
            return
        loaded = self.bridge.loaded_model()
        if (loaded is None or loaded.name != name or settings is not None) \
                and self.state.reply is None:
            self.load(name, settings)

    def load(self, name: str, settings: LoadSettings | None = None) -> None:
        model = next((m for m in self.known if m.name == name), None)
        if model is None:
            self.banners.show_error(f"The model {name!r} is not in the library any more.")
            self.replies.model_failed()
            return
        ctx = self.bridge.ctx
        self.settings.set_loading(f"Loading {name}…")

        llama_log = self._llama_log

        def prepare() -> LoadSettings:
            if llama_log is not None:
                llama_log.install()  # before the load, so its reasons reach us
            return settings or offload.settings_for(ctx.settings.read().load, name, model.meta)

        def start(load_settings: LoadSettings) -> None:
            self._load_req = self.bridge.load_model(model.path, load_settings, name)

        self.bridge.submit(prepare, start, self.banners.show_error)

    def _on_engine_event(self, event: str, model: LoadedModel | None) -> None:
        if event == "unloaded":
            self.settings.model_status.setText("No model loaded")
        elif isinstance(model, LoadedModel) and model.loaded_by != "chat":
            who = LOADERS.get(model.loaded_by, "Another part of Fireside")
            self.settings.model_status.setText(
                f"{who} loaded {model.name} · context "
                f"{model.n_ctx:,} tokens; your next message loads "
                f"{self.settings.current_model() or 'your model'} again")
        self.replies.show_context(self.replies.last_stats())

    @Slot(int, str)
    def _on_load_started(self, req_id: int, name: str) -> None:
        self._load_req = req_id
        if self._llama_log is not None:  # emitted before the load is queued: nothing missed
            self._log_mark = self._llama_log.mark()
        self.settings.set_loading(f"Loading {name}…")

    @Slot(int, float)
    def _on_load_progress(self, req_id: int, elapsed: float) -> None:
        if req_id == self._load_req:
            self.settings.set_loading(f"Loading {self.settings.current_model()}… {elapsed:.1f} s")

    @Slot(int, object)
    def _on_model_loaded(self, req_id: int, loaded: object) -> None:
        if req_id != self._load_req:
            return
        self.settings.set_loading(None)
        if not isinstance(loaded, LoadedModel):
            self.settings.model_status.setText("No model loaded")
            return
        self.settings.model_status.setText(
            f"Loaded · context {loaded.n_ctx:,} tokens · {loaded.load_s:.1f} s")
        self.banners.error_bar.setVisible(False)
        self.replies.show_context(self.replies.last_stats())
        self.replies.model_ready()

    @Slot(int, str)
    def _on_load_failed(self, req_id: int, message: str) -> None:
        if req_id != self._load_req:
            return
        self.settings.set_loading(None)
        self.settings.model_status.setText("Not loaded: see the message above")
        reason = self._llama_log.reason(self._log_mark) if self._llama_log else ""
        self.banners.show_load_error(load_failure(message, reason))
        self.replies.model_failed()

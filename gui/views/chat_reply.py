"""Sending, streaming, stopping and regenerating: the reply half of the chat pane.

A QObject on the GUI thread, driven by the Bridge's signals; it holds no widgets of its own but
is handed the few it updates (transcript, composer, status line, banners) and the conversation
state it shares with :class:`~fireside.gui.views.chat.ChatView`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Slot

from fireside.core import attachments
from fireside.core.inference import reasoning
from fireside.core.inference.types import Completion
from fireside.core.remote.providers import split_ref
from fireside.core.store import Conversation, Message, new_id
from fireside.gui.bridge import Bridge
from fireside.gui.views.chat_banners import Banners
from fireside.gui.views.chat_bubble import MessageBubble
from fireside.gui.views.chat_composer import Composer
from fireside.gui.views.chat_session import ReplyState, stats_text
from fireside.gui.views.chat_settings import SettingsPanel
from fireside.gui.views.chat_status import StatusStrip
from fireside.gui.views.chat_store import ChatStore
from fireside.gui.views.chat_transcript import Entry, Transcript

log = logging.getLogger("fireside.gui.chat")
FIT_KEY = "context_overflow"


@dataclass
class ChatState:
    """The open conversation as the pane holds it (the store has the lasting copy)."""

    conv: Conversation | None = None
    messages: list[Message] = field(default_factory=list)
    reply: ReplyState | None = None
    closed: bool = False


@dataclass
class ReplyHooks:
    """What the reply half asks of the conversation half."""

    ensure_conversation: Callable[[str], Conversation]
    save_conversation: Callable[[], None]
    load_model: Callable[[str], None]
    style: Callable[[], str]


def speaker_for(m: Message) -> str:
    return "You" if m.role == "user" else (m.model or "Assistant")


class ReplyController(QObject):
    def __init__(self, bridge: Bridge, state: ChatState, store: ChatStore,
                 transcript: Transcript, composer: Composer, status: StatusStrip,
                 settings: SettingsPanel, banners: Banners, hooks: ReplyHooks,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.state = state
        self.store = store
        self.transcript = transcript
        self.composer = composer
        self.status = status
        self.settings = settings
        self.banners = banners
        self.hooks = hooks
        bridge.token_ready.connect(self._on_tokens)
        bridge.reading.connect(self._on_reading)
        bridge.finished.connect(self._on_finished)
        bridge.failed.connect(self._on_failed)
        bridge.cancelled.connect(self._on_cancelled)
        bridge.context_overflow.connect(self._on_overflow)
        bridge.trimmed.connect(self._on_trimmed)

    # -- starting ------------------------------------------------------------------------
    def send(self, text: str) -> None:
        """Send ``text`` (or, while editing, replace that message and resend from there)."""
        state = self.state
        images = self.composer.attachments.names()
        if state.reply is not None or not (text.strip() or images):
            return
        if not self.settings.current_model():
            self.banners.show_error("Choose a model in the panel on the right first.")
            return
        editing = self.composer.editing_position
        conv = self.hooks.ensure_conversation(text)
        if editing is not None and editing < len(state.messages):
            self.truncate(editing)
        msg = Message(new_id(), conv.id, len(state.messages), "user", text, images=images)
        state.messages.append(msg)
        self.store.write(lambda s: s.add_message(msg))  # now: a crash loses only the reply
        self.transcript.add_message("user", text, msg.position, "You",
                                    thumbs(self.store.attachments, images))
        self.composer.clear()
        self.begin()

    def regenerate(self) -> None:
        state = self.state
        if state.reply is not None or not state.messages:
            return
        if state.messages[-1].role == "assistant":
            self.truncate(state.messages[-1].position)
        if state.messages:
            self.begin()

    def truncate(self, position: int) -> None:
        assert self.state.conv is not None
        conv_id = self.state.conv.id
        self.state.messages = [m for m in self.state.messages if m.position < position]
        self.store.write(lambda s: s.truncate(conv_id, position))
        self.transcript.remove_from(position)

    def begin(self) -> None:
        state = self.state
        assert state.conv is not None
        model = self.settings.current_model()
        system = self.settings.system_prompt().strip()
        # A reasoning model's thinking stays out of the next turn, as its template expects.
        prompt = ([{"role": "system", "content": system}] if system else []) + [
            {"role": m.role, "content": reasoning.answer_only(m.content)
             if m.role == "assistant" else content(m, self.store.attachments)}
            for m in state.messages]
        state.reply = ReplyState(conv_id=state.conv.id, position=len(state.messages),
                                 model=model, params=self.settings.sampling(), prompt=prompt,
                                 fit=state.conv.sampling.get(FIT_KEY) == "drop_oldest")
        self.attach_bubble()
        self.banners.hide_all()
        self.status.say("Waiting for the model…")
        self.update_buttons()
        loaded = self.bridge.loaded_model()
        if split_ref(model) is None and (loaded is None or loaded.name != model):
            state.reply.waiting_for_load = True
            self.hooks.load_model(model)
        else:
            self.start()

    def attach_bubble(self) -> None:
        """Give the reply in flight its place (again, after its conversation reopened)."""
        reply = self.state.reply
        assert reply is not None
        self.transcript.add_message("assistant", "", reply.position, reply.model)
        if reply.text:
            self._stream(reply)

    def _thought(self, reply: ReplyState) -> None:
        """The thinking ended (or the reply did, mid-thought): time it, say so."""
        reply.thought_s = time.monotonic() - reply.first_text_at
        entry = self.transcript.entry_for(reply.position)
        if entry is not None:
            entry.thought_s = reply.thought_s
            if isinstance(entry.widget, MessageBubble):
                entry.widget.set_thought_seconds(reply.thought_s)

    def _stream(self, reply: ReplyState) -> None:
        """The entry always holds the text so far; its bubble, when built, shows it."""
        entry = self.transcript.entry_for(reply.position)
        if entry is None:
            return
        entry.text, entry.segs = reply.text, None
        if isinstance(entry.widget, MessageBubble):
            entry.widget.stream(reply.text, self.hooks.style())

    def start(self) -> None:
        reply = self.state.reply
        assert reply is not None
        reply.waiting_for_load = False
        self.status.reading(0, 0)
        reply.req_id = self.bridge.chat(reply.prompt, reply.params, reply.fit,
                                        model=reply.model)

    def model_ready(self) -> None:
        if self.state.reply is not None and self.state.reply.waiting_for_load:
            self.start()

    def model_failed(self) -> None:
        if self.state.reply is not None and self.state.reply.waiting_for_load:
            self._drop_bubble()
            self.status.say("Not sent: the model did not load (see above)")
            self._end()

    # -- streaming -----------------------------------------------------------------------
    def _mine(self, req_id: int) -> ReplyState | None:
        reply = self.state.reply
        return reply if reply is not None and reply.req_id == req_id else None

    @Slot(int, str)
    def _on_tokens(self, req_id: int, text: str) -> None:
        reply = self._mine(req_id)
        if reply is None:
            return  # a stale id: dropped
        if not reply.text:
            self.status.say("Writing…")
            reply.first_text_at = time.monotonic()
        reply.text += text
        if reply.thought_s is None and reasoning.CLOSE in reply.text:
            self._thought(reply)
        self._stream(reply)

    @Slot(int, int, int)
    def _on_reading(self, req_id: int, done: int, total: int) -> None:
        reply = self._mine(req_id)
        if reply is not None and not reply.text:
            self.status.reading(done, total)
            self.status.show_context(total, self._limit())

    @Slot(int, int, int)
    def _on_trimmed(self, req_id: int, dropped: int, prompt_tokens: int) -> None:
        """Turns were left out to fit: say so at once, meter and transcript both."""
        reply = self._mine(req_id)
        if reply is None:
            return
        reply.trimmed = dropped
        self.status.show_context(prompt_tokens, self._limit())
        self.mark_dropped(dropped)

    def mark_dropped(self, dropped: int) -> None:
        """Mark the oldest ``dropped`` non-system messages as left out of the context."""
        left = dropped
        for entry in self.transcript.entries:
            if left <= 0:
                break
            if entry.role in ("user", "assistant"):
                entry.dropped = True
                if isinstance(entry.widget, MessageBubble):
                    entry.widget.set_dropped(True)
                left -= 1

    @Slot(int, int, int)
    def _on_overflow(self, req_id: int, prompt_tokens: int, n_ctx: int) -> None:
        reply = self._mine(req_id)
        if reply is not None:
            reply.overflow = (prompt_tokens, n_ctx)

    # -- endings -------------------------------------------------------------------------
    def save_reply(self, text: str, completion: Completion | None, finish: str) -> Message:
        reply = self.state.reply
        assert reply is not None
        stats = completion.stats.to_json() if completion else {}
        if reply.trimmed:
            stats["dropped_messages"] = reply.trimmed
        if reply.thought_s is None and reasoning.split(text).had_reasoning:
            self._thought(reply)  # it ended while still thinking
        if reply.thought_s is not None:
            stats["thinking_s"] = round(reply.thought_s, 1)
        # Named after the model that produced it, not the one the pane asked for.
        model = completion.model if completion is not None and completion.model else reply.model
        msg = Message(new_id(), reply.conv_id, reply.position, "assistant", text,
                      model=model, sampling=reply.params.to_json(), stats=stats,
                      finish_reason=finish)
        self.store.write(lambda s: s.add_message(msg))
        conv = self.state.conv
        if conv is not None and conv.id == reply.conv_id:
            self.state.messages.append(msg)
            entry = self.transcript.entry_for(reply.position)
            if entry is not None:
                entry.text, entry.segs, entry.footer = text, None, stats_text(stats, finish)
                if isinstance(entry.widget, MessageBubble):
                    # The streamed rendering stays: rendering the whole reply again here cost
                    # one long stall at the end of every reply (new widgets for every block).
                    entry.widget.stream(text, self.hooks.style())
                    entry.widget.set_footer(entry.footer)
            self.status.show_stats(stats, finish)
            self.show_context(stats)
        return msg

    @Slot(int, object)
    def _on_finished(self, req_id: int, completion: object) -> None:
        if self._mine(req_id) is None:
            return
        assert isinstance(completion, Completion)
        self.save_reply(completion.text, completion, completion.finish_reason)
        st = completion.stats
        if completion.finish_reason == "length" and st.context_limit \
                and st.context_used >= st.context_limit - 1:
            self.banners.offer_context_choices(
                "The reply stopped because the conversation filled the model's context "
                f"({st.context_limit:,} tokens).")
        self._end()

    @Slot(int, object)
    def _on_cancelled(self, req_id: int, completion: object) -> None:
        reply = self._mine(req_id)
        if reply is None:
            return
        done = completion if isinstance(completion, Completion) else None
        text = done.text if done is not None else reply.text
        if text.strip():
            self.save_reply(text, done, "cancelled")
        else:
            self._drop_bubble()
            self.status.say("Stopped before the first token.")
        self._end()

    @Slot(int, str)
    def _on_failed(self, req_id: int, message: str) -> None:
        reply = self._mine(req_id)
        if reply is None:
            return
        overflow = reply.overflow
        self._drop_bubble()
        self.status.say("")
        if overflow is not None:
            used, limit = overflow
            self.banners.offer_context_choices(
                f"This conversation no longer fits the model's context: it needs {used:,} "
                f"tokens and the context holds {limit:,}. Nothing was cut off silently; "
                "choose what to do.")
            self.status.show_context(used, limit)
        else:
            self.banners.show_error(message)
        self._end()

    def _drop_bubble(self) -> None:
        reply = self.state.reply
        if reply is not None and self.transcript.entry_for(reply.position) is not None:
            self.transcript.remove_from(reply.position)

    def _end(self) -> None:
        self.state.reply = None
        self.update_buttons()

    # -- stopping ------------------------------------------------------------------------
    def stop(self) -> None:
        reply = self.state.reply
        if reply is None:
            return
        if reply.waiting_for_load:  # nothing sent to the engine yet
            self._drop_bubble()
            self.status.say("Stopped before the model loaded")
            self._end()
            return
        self.bridge.stop(reply.req_id)

    def drop_oldest(self) -> None:
        """The person chose to leave out the oldest turns; answer the last question."""
        self.banners.context_bar.setVisible(False)
        conv = self.state.conv
        if conv is None:
            return
        conv.sampling[FIT_KEY] = "drop_oldest"
        self.hooks.save_conversation()
        if self.state.messages and self.state.messages[-1].role == "user":
            self.begin()

    # -- context -------------------------------------------------------------------------
    def _limit(self) -> int:
        loaded = self.bridge.loaded_model()
        return loaded.n_ctx if loaded is not None else 0

    def last_stats(self) -> dict[str, Any]:
        for m in reversed(self.state.messages):
            if m.role == "assistant" and m.stats:
                return m.stats
        return {}

    def show_context(self, stats: dict[str, Any]) -> None:
        limit = int(stats.get("context_limit") or self._limit())
        self.status.show_context(int(stats.get("context_used") or 0), limit)

    def update_buttons(self) -> None:
        busy = self.state.reply is not None
        self.composer.set_generating(busy, can_regenerate=bool(self.state.messages))
        for bubble in self.transcript.bubbles():
            bubble.set_editable(not busy)

    def shutdown(self) -> None:
        """Closing mid-reply: keep what was written so far."""
        reply = self.state.reply
        if reply is not None and reply.text.strip():
            self.save_reply(reply.text, None, "cancelled")
        if reply is not None:
            self.bridge.stop()
        self.state.reply = None


def entries_for(messages: list[Message], folder: Path) -> list[Entry]:
    """Transcript entries for stored messages (Markdown not rendered yet); ``folder`` keeps
    their attached images."""
    return [Entry(m.role, m.content, m.position, speaker_for(m),
                  footer=stats_text(m.stats, m.finish_reason) if m.role == "assistant" else "",
                  thought_s=_seconds(m.stats.get("thinking_s")),
                  images=thumbs(folder, m.images))
            for m in messages if m.role in ("user", "assistant")]


def thumbs(folder: Path, names: list[str]) -> list[Path]:
    return [attachments.thumb_of(folder, n) for n in names]


def content(message: Message, folder: Path) -> str | list[dict[str, Any]]:
    """A user message for the engine: its text, after its images (read from where they are
    kept, by the engine: never on the GUI thread)."""
    if not message.images:
        return message.content
    return [*({"type": "image", "path": str(attachments.path_of(folder, n))}
              for n in message.images), {"type": "text", "text": message.content}]


def _seconds(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None

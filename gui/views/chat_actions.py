"""Sending, streaming, stopping and regenerating: the reply half of the chat pane.

A mixin for :class:`~fireside.gui.views.chat.ChatView` so that neither file grows past a screen
of concerns; everything here runs on the GUI thread, driven by the Bridge's signals.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from fireside.core.inference.types import Completion
from fireside.core.store import Message, new_id
from fireside.gui.views.chat_session import ReplyState, context_text, stats_text

if TYPE_CHECKING:  # the mixin's attributes are ChatView's; checked there
    from typing import Any as _Base
else:
    _Base = object

log = logging.getLogger("fireside.gui.chat")
FIT_KEY = "context_overflow"


class ReplyActions(_Base):
    messages: list[Message]
    reply: ReplyState | None
    _closed: bool

    # -- starting ------------------------------------------------------------------------
    def send(self, text: str) -> None:
        """Send ``text`` (or, while editing, replace that message and resend from there)."""
        if self.reply is not None or not text.strip():
            return
        model = self.settings.current_model()
        if not model:
            self.show_error("Choose a model in the panel on the right first.")
            return
        editing = self.composer.editing_position
        conv = self._ensure_conversation(text)
        if editing is not None and editing < len(self.messages):
            self._truncate(editing)
        msg = Message(new_id(), conv.id, len(self.messages), "user", text)
        self.messages.append(msg)
        self._write(lambda s: s.add_message(msg))  # committed now: a crash loses only the reply
        self._add_bubble(msg)
        self.composer.clear()
        self._begin_reply()

    def regenerate(self) -> None:
        if self.reply is not None or not self.messages:
            return
        if self.messages[-1].role == "assistant":
            self._truncate(self.messages[-1].position)
        if self.messages:
            self._begin_reply()

    def _truncate(self, position: int) -> None:
        assert self.conv is not None
        conv_id = self.conv.id
        self.messages = [m for m in self.messages if m.position < position]
        self._write(lambda s: s.truncate(conv_id, position))
        self.transcript.remove_from(position)

    def _begin_reply(self) -> None:
        assert self.conv is not None
        model = self.settings.current_model()
        system = self.settings.system_prompt().strip()
        prompt = ([{"role": "system", "content": system}] if system else []) + [
            {"role": m.role, "content": m.content} for m in self.messages]
        self.reply = ReplyState(conv_id=self.conv.id, position=len(self.messages), model=model,
                                params=self.settings.sampling(), prompt=prompt,
                                fit=self.conv.sampling.get(FIT_KEY) == "drop_oldest")
        self.reply.bubble = self._add_bubble_for_reply()
        self.error_bar.setVisible(False)
        self.context_bar.setVisible(False)
        self.stats.setText("Thinking…")
        self._update_buttons()
        loaded = self.bridge.ctx.engine.loaded
        if loaded is None or loaded.name != model:
            self.reply.waiting_for_load = True
            self._load(model)
        else:
            self._start_reply()

    def _start_reply(self) -> None:
        assert self.reply is not None
        self.reply.waiting_for_load = False
        self.reply.req_id = self.bridge.chat(self.reply.prompt, self.reply.params,
                                             self.reply.fit)

    # -- streaming -----------------------------------------------------------------------
    def _on_tokens(self, req_id: int, text: str) -> None:
        reply = self.reply
        if reply is None or reply.req_id != req_id:
            return  # a stale id: dropped
        reply.text += text
        if reply.bubble is not None:
            reply.bubble.set_text(reply.text)

    def _on_trimmed(self, req_id: int, dropped: int) -> None:
        if self.reply is not None and self.reply.req_id == req_id:
            self.reply.trimmed = dropped

    def _on_overflow(self, req_id: int, prompt_tokens: int, n_ctx: int) -> None:
        if self.reply is not None and self.reply.req_id == req_id:
            self.reply.overflow = (prompt_tokens, n_ctx)

    # -- endings -------------------------------------------------------------------------
    def _save_reply(self, text: str, completion: Completion | None, finish: str) -> Message:
        reply = self.reply
        assert reply is not None
        stats = completion.stats.to_json() if completion else {}
        if reply.trimmed:
            stats["dropped_messages"] = reply.trimmed
        msg = Message(new_id(), reply.conv_id, reply.position, "assistant", text,
                      model=reply.model, sampling=reply.params.to_json(), stats=stats,
                      finish_reason=finish)
        self._write(lambda s: s.add_message(msg))
        if self.conv is not None and self.conv.id == reply.conv_id:
            self.messages.append(msg)
            if reply.bubble is not None:
                reply.bubble.set_text(text)
                reply.bubble.set_footer(stats_text(stats, finish))
            self.stats.setText(stats_text(stats, finish))
            self._show_context(stats)
        return msg

    def _on_finished(self, req_id: int, completion: Any) -> None:
        if self.reply is None or self.reply.req_id != req_id:
            return
        assert isinstance(completion, Completion)
        self._save_reply(completion.text, completion, completion.finish_reason)
        st = completion.stats
        if completion.finish_reason == "length" and st.context_used >= st.context_limit - 1:
            self._offer_context_choices(
                "The reply stopped because the conversation filled the model's context "
                f"({st.context_limit:,} tokens).")
        self._end_reply()

    def _on_cancelled(self, req_id: int, completion: Any) -> None:
        if self.reply is None or self.reply.req_id != req_id:
            return
        text = completion.text if isinstance(completion, Completion) else self.reply.text
        if text.strip():
            self._save_reply(text, completion if isinstance(completion, Completion) else None,
                             "cancelled")
        else:
            self._drop_reply_bubble()
            self.stats.setText("Stopped before the first token.")
        self._end_reply()

    def _on_failed(self, req_id: int, message: str) -> None:
        if self.reply is None or self.reply.req_id != req_id:
            return
        overflow = self.reply.overflow
        self._drop_reply_bubble()
        self.stats.setText("")
        if overflow is not None:
            used, limit = overflow
            self._offer_context_choices(
                f"This conversation no longer fits the model's context: it needs {used:,} "
                f"tokens and the context holds {limit:,}. Nothing was cut off silently; "
                "choose what to do.")
            self._show_context({"context_used": used, "context_limit": limit})
        else:
            self.show_error(message)
        self._end_reply()

    def _drop_reply_bubble(self) -> None:
        if self.reply is not None and self.reply.bubble is not None:
            self.transcript.remove_from(self.reply.position)
            self.reply.bubble = None

    def _end_reply(self) -> None:
        self.reply = None
        self._update_buttons()

    # -- stopping ------------------------------------------------------------------------
    def stop(self) -> None:
        reply = self.reply
        if reply is None:
            return
        if reply.waiting_for_load:  # nothing sent to the engine yet
            self._drop_reply_bubble()
            self._end_reply()
            return
        self.bridge.stop(reply.req_id)

    def _on_escape(self) -> None:
        if self.reply is not None:
            self.stop()
        elif self.composer.editing_position is not None:
            self.composer.end_edit()
            self.composer.input.clear()

    def _on_edit(self, position: int) -> None:
        if self.reply is not None:
            return
        msg = next((m for m in self.messages if m.position == position), None)
        if msg is not None and msg.role == "user":
            self.composer.begin_edit(position, msg.content)

    # -- context -------------------------------------------------------------------------
    def _offer_context_choices(self, text: str) -> None:
        self.context_label.setText(text)
        self.context_bar.setVisible(True)

    def _on_drop_oldest(self) -> None:
        self.context_bar.setVisible(False)
        if self.conv is None:
            return
        self.conv.sampling[FIT_KEY] = "drop_oldest"
        self._save_conv()
        if self.messages and self.messages[-1].role == "user":
            self._begin_reply()

    def _on_fresh_chat(self) -> None:
        last_user = next((m.content for m in reversed(self.messages) if m.role == "user"), "")
        self.new_conversation()
        self.composer.input.setPlainText(last_user)

    def _last_stats(self) -> dict[str, Any]:
        for m in reversed(self.messages):
            if m.role == "assistant" and m.stats:
                return m.stats
        return {}

    def _show_context(self, stats: dict[str, Any]) -> None:
        loaded = self.bridge.ctx.engine.loaded
        limit = int(stats.get("context_limit") or (loaded.n_ctx if loaded else 0))
        used = int(stats.get("context_used") or 0)
        self.context_meter.setRange(0, max(limit, 1))
        self.context_meter.setValue(min(used, max(limit, 1)))
        self.context_meter.setFormat(context_text(used, limit))
        self.context_meter.setToolTip("Tokens of the model's context this conversation uses")

    # -- state ---------------------------------------------------------------------------
    def _update_buttons(self) -> None:
        busy = self.reply is not None
        self.composer.set_generating(busy, can_regenerate=bool(self.messages))
        for bubble in self.transcript.bubbles():
            bubble.set_editable(not busy)

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_bar.setVisible(True)

    def shutdown(self) -> None:
        """Closing mid-reply: keep what was written so far, then flush the store."""
        if self._closed:
            return
        self._closed = True
        reply = self.reply
        if reply is not None and reply.text.strip():
            self._save_reply(reply.text, None, "cancelled")
        if reply is not None:
            self.bridge.stop()
        self.reply = None
        self._queue.put(self._close_store)  # the connection closes on the thread that made it
        if not self._queue.close():
            log.warning("conversation store still busy at shutdown")

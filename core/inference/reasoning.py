"""Reasoning models' thinking, told apart from their answer.

Qwen3, QwQ and the DeepSeek-R1 distills write their chain of thought between ``<think>`` and
``</think>`` before the answer. Some templates open the block themselves at the end of the
prompt (R1 distills' ``<|Assistant|><think>\\n``), so the model's text then holds only the
closing tag. Fronts show the thinking apart (the window collapses it, the server returns it as
``reasoning_content`` as llama-server's ``--reasoning-format deepseek`` and LM Studio do) and
leave it out of the next turn's prompt, as these models' own templates do.
"""

from __future__ import annotations

from dataclasses import dataclass

OPEN, CLOSE = "<think>", "</think>"


@dataclass(frozen=True)
class Split:
    reasoning: str  # the thinking, tags removed ("" when there was none)
    content: str  # the answer
    thinking: bool  # the text ended inside the thinking (still being written, or cut off)
    had_reasoning: bool  # a think block was found at all


def opens_thinking(prompt: str) -> bool:
    """Whether a rendered prompt ends inside an opened think block (its template opened it)."""
    tail = prompt.rstrip()
    return tail.endswith(OPEN)


def split(text: str, *, opened: bool = False) -> Split:
    """Cut a whole reply into thinking and answer.

    ``opened``: the prompt already opened the block. A reply that holds a closing tag and no
    opening one is read the same way, so stored replies of such models parse without knowing
    their prompt.
    """
    stripped = text.lstrip()
    if stripped.startswith(OPEN):
        body = stripped[len(OPEN):]
    elif opened or (CLOSE in text and OPEN not in text.split(CLOSE, 1)[0]):
        body = text
    else:
        return Split("", text, False, False)
    reasoning, closed, answer = body.partition(CLOSE)
    if not closed:
        return Split(reasoning.strip(), "", True, True)
    return Split(reasoning.strip(), answer.lstrip(), False, True)


def answer_only(text: str) -> str:
    """What goes back into the next turn's prompt: the answer without its thinking."""
    return split(text).content


class ReasoningStream:
    """Splits streamed text as it comes: ``feed`` returns (thinking, answer) deltas.

    A tail that may still become a tag is held back until the next piece decides it, so a tag
    split across two tokens never leaks into either part.
    """

    def __init__(self, *, opened: bool = False) -> None:
        self._state = "inside" if opened else "start"
        self._pending = ""

    @property
    def thinking(self) -> bool:
        return self._state == "inside"

    def feed(self, text: str) -> tuple[str, str]:
        self._pending += text
        reasoning: list[str] = []
        answer: list[str] = []
        while self._pending:
            if self._state == "start":
                head = self._pending.lstrip()
                if not head:
                    return "", ""  # only whitespace so far: undecided
                if head.startswith(OPEN):
                    self._state, self._pending = "inside", head[len(OPEN):].lstrip("\n")
                elif OPEN.startswith(head):
                    break  # could still be the opening tag
                else:
                    self._state = "answer"
            elif self._state == "inside":
                before, closed, after = self._pending.partition(CLOSE)
                if closed:
                    reasoning.append(before)
                    self._state, self._pending = "after", after
                    continue
                keep = _partial_tag(self._pending, CLOSE)
                reasoning.append(self._pending[:len(self._pending) - keep])
                self._pending = self._pending[len(self._pending) - keep:]
                break
            elif self._state == "after":  # the blank lines between thinking and answer
                self._pending = self._pending.lstrip()
                if self._pending:
                    self._state = "answer"
            else:
                answer.append(self._pending)
                self._pending = ""
        return "".join(reasoning), "".join(answer)

    def flush(self) -> tuple[str, str]:
        """The end of the stream: whatever was held back, where it belongs."""
        rest, self._pending = self._pending, ""
        if self._state == "inside":
            return rest, ""
        if self._state == "after":
            return "", rest.lstrip()
        return "", rest


def _partial_tag(text: str, tag: str) -> int:
    """Length of the longest tail of ``text`` that is a proper prefix of ``tag``."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:n]):
            return n
    return 0

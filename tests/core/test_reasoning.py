"""Thinking told apart from the answer, whole and streamed at any token boundary."""

from __future__ import annotations

import pytest

from fireside.core.inference.reasoning import (
    ReasoningStream,
    answer_only,
    opens_thinking,
    split,
)

QWEN3 = "<think>\nThe user greets me. I should greet back.\n</think>\n\nHello! How can I help?"
R1 = "The user greets me. I should greet back.\n</think>\n\nHello! How can I help?"  # opened


def test_a_whole_reply_splits_into_thinking_and_answer() -> None:
    for text in (QWEN3, R1, "  " + QWEN3):
        parts = split(text)
        assert parts.reasoning == "The user greets me. I should greet back."
        assert parts.content == "Hello! How can I help?"
        assert parts.had_reasoning and not parts.thinking


def test_plain_replies_and_unfinished_thinking() -> None:
    plain = split("Just an answer with a <think> tag mentioned later.")
    assert plain.content.startswith("Just") and not plain.had_reasoning
    cut = split("<think>still pondering")
    assert cut.thinking and cut.reasoning == "still pondering" and cut.content == ""
    assert split("pondering", opened=True).thinking


def test_the_next_turn_gets_the_answer_only() -> None:
    assert answer_only(QWEN3) == "Hello! How can I help?"
    assert answer_only("No thinking here.") == "No thinking here."


def test_a_template_that_opens_the_block_is_recognised() -> None:
    assert opens_thinking("<|User|>Hi<|Assistant|><think>\n")
    assert not opens_thinking("<|im_start|>assistant\n")


@pytest.mark.parametrize(("text", "opened"), [(QWEN3, False), (R1, True),
                                               ("Plain answer, no tags.", False)])
def test_streaming_at_every_boundary_matches_the_whole_split(text: str, opened: bool) -> None:
    whole = split(text, opened=opened)
    for cut in range(len(text) + 1):
        for pieces in ([text[:cut], text[cut:]], list(text)):
            stream = ReasoningStream(opened=opened)
            thought, said = [], []
            for piece in pieces:
                r, a = stream.feed(piece)
                thought.append(r)
                said.append(a)
            r, a = stream.flush()
            thought.append(r)
            said.append(a)
            assert "".join(thought).strip() == whole.reasoning, (cut, pieces[:3])
            assert "".join(said) == whole.content, (cut, pieces[:3])
            assert "<think>" not in "".join(said) and "</think>" not in "".join(thought)


def test_a_stream_says_while_it_is_thinking() -> None:
    stream = ReasoningStream()
    stream.feed("<think>hmm")
    assert stream.thinking
    stream.feed("</think>Answer")
    assert not stream.thinking

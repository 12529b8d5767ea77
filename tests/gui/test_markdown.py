"""Streaming Markdown: finished blocks freeze, the tail is re-rendered, the end is exact."""

from __future__ import annotations

import pytest

from fireside.gui import markdown

REPLY = (
    "Here is a plan.\n\n"
    "1. First, measure.\n2. Then, cut.\n\n"
    "```python\ndef area(r):\n    return 3.14 * r * r\n```\n"
    "That is all.\n\n"
    "| a | b |\n|---|---|\n| 1 | 2 |\n\n"
    "The end."
)


def test_frozen_prefix_cuts_only_between_blocks() -> None:
    cut = markdown.frozen_prefix(REPLY)
    assert REPLY[:cut].endswith("| 1 | 2 |\n\n")  # the table is finished, the last line is not
    inside_fence = REPLY.index("return")
    assert markdown.frozen_prefix(REPLY[:inside_fence]) <= REPLY.index("```python")


def test_streaming_ends_with_the_same_segments_as_a_full_render() -> None:
    renderer = markdown.StreamRenderer("friendly")
    for end in range(1, len(REPLY) + 1, 7):
        frozen, tail = renderer.update(REPLY[:end])
    frozen, tail = renderer.update(REPLY)
    streamed = [s.code for s in frozen + tail if s.kind == "code"]
    assert streamed == [s.code for s in markdown.segments(REPLY) if s.kind == "code"]
    text = "".join(s.html for s in frozen + tail)
    for words in ("Here is a plan", "measure", "That is all", "The end"):
        assert words in text


def test_frozen_blocks_are_rendered_once(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    real = markdown.segments

    def counting(text: str, style: str = "friendly") -> list[markdown.Segment]:
        seen.append(text)
        return real(text, style)

    monkeypatch.setattr(markdown, "segments", counting)
    renderer = markdown.StreamRenderer("friendly")
    body = "".join(f"Paragraph {i} is here.\n\n" for i in range(200))
    for end in range(10, len(body), 40):
        renderer.update(body[:end])
    rendered = sum(len(t) for t in seen)
    assert rendered < 4 * len(body)  # linear in the reply, not quadratic (would be ~90x)


def test_code_language_comes_from_the_fence_only() -> None:
    (code,) = [s for s in markdown.segments("```\nSELECT 1;\n```") if s.kind == "code"]
    assert code.language == ""
    (py,) = [s for s in markdown.segments("```Python\nx = 1\n```") if s.kind == "code"]
    assert py.language == "Python" and "<span" in py.html  # highlighted as Python


def test_raw_html_is_escaped() -> None:
    html = "".join(s.html for s in markdown.segments("<script>alert(1)</script> **hi**"))
    assert "<script>" not in html and "&lt;script&gt;" in html

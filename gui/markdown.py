"""Markdown for the transcript: markdown-it-py for structure, pygments for code.

A message becomes a list of segments, prose (Qt rich-text HTML) and code (highlighted HTML plus
the raw code for the copy button), so each code block can be its own widget with a real button.
Raw HTML in a model's reply is escaped, never rendered.

Rendering is pure Python and touches no Qt object, so whole conversations are rendered on a
worker thread. While a reply streams, :class:`StreamRenderer` freezes every finished block and
re-renders only the block being written, so a flush costs what it adds, not the whole reply.
A code block's language comes from its fence; nothing is guessed (pygments' ``guess_lexer``
tries every lexer and cost more per flush than everything else together). A reasoning model's
``<think>`` block becomes one "thinking" segment ahead of the answer's.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_lexer_by_name
from pygments.util import ClassNotFound

from fireside.core.inference import reasoning


@dataclass(frozen=True)
class Segment:
    kind: str  # "prose", "code" or "thinking"
    html: str
    code: str = ""  # the raw code; for thinking, the raw thoughts
    language: str = ""  # the fence's language; for thinking, "open" while still thinking


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True})
    md.enable("table")
    md.enable("strikethrough")
    return md


@lru_cache(maxsize=8)
def _formatter(style: str) -> HtmlFormatter:
    return HtmlFormatter(style=style, noclasses=True, nowrap=True)


@lru_cache(maxsize=64)
def _lexer(language: str) -> Lexer:
    try:
        return get_lexer_by_name(language) if language else TextLexer()
    except ClassNotFound:
        return TextLexer()


def highlight_code(code: str, language: str, style: str) -> str:
    body = highlight(code, _lexer(language.lower()), _formatter(style)).rstrip("\n")
    return ("<pre style=\"margin:0; white-space:pre-wrap; font-family:'DejaVu Sans Mono',"
            f"'Menlo','Consolas',monospace;\">{body}</pre>")


def thinking_segment(parts: reasoning.Split) -> Segment:
    """The thoughts as plain text (a model's scratch work is not worth a Markdown pass)."""
    return Segment("thinking", plain(parts.reasoning), parts.reasoning,
                   "open" if parts.thinking else "")


def segments(text: str, style: str = "friendly") -> list[Segment]:
    """The thinking, if any, then the answer's segments."""
    parts = reasoning.split(text)
    if parts.had_reasoning:
        return [thinking_segment(parts), *_answer_segments(parts.content, style)]
    return _answer_segments(text, style)


def _answer_segments(text: str, style: str) -> list[Segment]:
    """Split ``text`` into prose and code segments, rendered for Qt's rich-text engine.

    An unfinished fence while streaming is still shown as code (markdown-it closes it at the
    end of input), so code appears highlighted as it arrives.
    """
    md = _parser()
    tokens = md.parse(text)
    out: list[Segment] = []
    pending: list[Any] = []

    def flush_prose() -> None:
        if pending:
            rendered = md.renderer.render(pending, md.options, {}).strip()
            if rendered:
                out.append(Segment("prose", _qt_friendly(rendered)))
            pending.clear()

    for token in tokens:
        if token.type in ("fence", "code_block") and token.level == 0:
            flush_prose()
            lang = (token.info or "").strip().split(" ")[0]
            code = token.content.rstrip("\n")
            out.append(Segment("code", highlight_code(code, lang, style), code, lang))
        else:
            pending.append(token)
    flush_prose()
    return out


def _qt_friendly(rendered: str) -> str:
    """Small fixes for Qt's HTML subset: inline code gets a tint, tables get rules."""
    return (rendered
            .replace("<code>", "<code style=\"font-family:'DejaVu Sans Mono',monospace;"
                               "background-color:rgba(127,127,127,0.18);\">")
            .replace("<table>", "<table border=\"1\" cellspacing=\"0\" cellpadding=\"4\">"))


def plain(text: str) -> str:
    """Escaped text for places that must not interpret Markdown (user messages)."""
    return html.escape(text).replace("\n", "<br>")


_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")


def frozen_prefix(text: str, start: int = 0) -> int:
    """How much of ``text`` is finished blocks that later text cannot change.

    Scans from ``start`` (a previous answer, always outside a code fence) and returns the
    offset of the latest line that begins a new top-level block: a line at column 0 after a
    blank line, or any line after a closing fence. The block after it is the one still being
    written. A list split at a blank line renders as two lists until the reply ends, when the
    whole text is rendered once more.
    """
    cut = start
    fence = ""
    blank_before = False
    after_fence = False
    pos = start
    while pos < len(text):
        end = text.find("\n", pos)
        line = text[pos:] if end < 0 else text[pos:end]
        if fence:
            if end < 0:
                return cut
            stripped = line.strip()
            if stripped.startswith(fence) and set(stripped) == {fence[0]}:
                fence = ""
                after_fence = True
            pos = end + 1
            continue
        if pos > start and (after_fence or (blank_before and line and not line[0].isspace())):
            cut = pos  # this line begins a new block: everything before it is finished
        if end < 0:
            return cut  # the last line is still being written
        after_fence = False
        opened = _FENCE.match(line)
        if opened:
            fence = opened.group(1)
            blank_before = False
        else:
            blank_before = not line.strip()
        pos = end + 1
    return cut


class StreamRenderer:
    """Segments of a reply as it grows: finished blocks rendered once, the tail each time."""

    def __init__(self, style: str) -> None:
        self.style = style
        self.cut = 0  # in the answer (the text after any thinking)
        self.frozen: list[Segment] = []
        self._thought = False  # the finished thinking is frozen[0]

    def update(self, text: str) -> tuple[list[Segment], list[Segment]]:
        """(frozen segments, tail segments) for ``text``, which only ever grows."""
        parts = reasoning.split(text)
        answer = text
        if parts.had_reasoning:
            if parts.thinking:  # only the thoughts so far: they are the tail
                self.cut, self.frozen, self._thought = 0, [], False
                return self.frozen, [thinking_segment(parts)]
            if not self._thought:
                self.cut, self.frozen, self._thought = 0, [thinking_segment(parts)], True
            answer = parts.content
        elif self._thought:  # not a continuation of the same reply
            self.cut, self.frozen, self._thought = 0, [], False
        if len(answer) < self.cut:  # not a continuation: start over
            self.cut, self.frozen = 0, self.frozen[:1] if self._thought else []
        new_cut = frozen_prefix(answer, self.cut)
        if new_cut > self.cut:
            self.frozen.extend(_answer_segments(answer[self.cut:new_cut], self.style))
            self.cut = new_cut
        tail = answer[self.cut:]
        return self.frozen, _answer_segments(tail, self.style) if tail.strip() else []

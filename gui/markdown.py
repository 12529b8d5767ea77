"""Markdown for the transcript: markdown-it-py for structure, pygments for code.

A message becomes a list of segments, prose (Qt rich-text HTML) and code (highlighted HTML plus
the raw code for the copy button), so each code block can be its own widget with a real button.
Raw HTML in a model's reply is escaped, never rendered.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_by_name, guess_lexer
from pygments.util import ClassNotFound


@dataclass(frozen=True)
class Segment:
    kind: str  # "prose" or "code"
    html: str
    code: str = ""
    language: str = ""


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True})
    md.enable("table")
    md.enable("strikethrough")
    return md


@lru_cache(maxsize=8)
def _formatter(style: str) -> HtmlFormatter:
    return HtmlFormatter(style=style, noclasses=True, nowrap=True)


def highlight_code(code: str, language: str, style: str) -> str:
    try:
        lexer = get_lexer_by_name(language) if language else None
    except ClassNotFound:
        lexer = None
    if lexer is None:
        try:
            lexer = guess_lexer(code) if len(code) > 40 else TextLexer()
        except ClassNotFound:
            lexer = TextLexer()
    body = highlight(code, lexer, _formatter(style)).rstrip("\n")
    return ("<pre style=\"margin:0; white-space:pre-wrap; font-family:'DejaVu Sans Mono',"
            f"'Menlo','Consolas',monospace;\">{body}</pre>")


_PROSE_CSS = "margin-top:0"


def segments(text: str, style: str = "friendly") -> list[Segment]:
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
    """Small fixes for Qt's HTML subset: inline code gets a tint, paragraphs less gap."""
    return (rendered
            .replace("<code>", "<code style=\"font-family:'DejaVu Sans Mono',monospace;"
                               "background-color:rgba(127,127,127,0.18);\">")
            .replace("<table>", "<table border=\"1\" cellspacing=\"0\" cellpadding=\"4\">"))


def plain(text: str) -> str:
    """Escaped text for places that must not interpret Markdown (user messages)."""
    return html.escape(text).replace("\n", "<br>")

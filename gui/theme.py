"""Fireside's one design language: tokens in ``resources/tokens.json``, one style sheet.

The tokens (spacing, radii, type scale, colours per theme) are the single source; the style sheet
``resources/fireside.qss`` names them as ``@text``, ``@radius.md``, ``@type.body_px`` and
:func:`stylesheet` fills them in for the current theme. Fusion draws the same on every platform,
so one palette per scheme gives a predictable look; ``FIRESIDE_THEME=light|dark`` overrides the
system (screenshots, people who prefer one). Buttons take one style with a ``variant`` property
(``primary``, ``secondary`` — the default — or ``danger``): see :func:`set_variant`.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any
from weakref import WeakSet

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QLayout, QWidget

VARIANTS = ("primary", "secondary", "danger")


@cache
def tokens() -> dict[str, Any]:
    """The design tokens, read once from the package's resources."""
    text = resources.files("fireside.resources").joinpath("tokens.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def _template() -> str:
    return resources.files("fireside.resources").joinpath("fireside.qss").read_text("utf-8")


@dataclass(frozen=True)
class Colors:
    """One theme's colours; the named fields are the ones code reads most, ``token`` any."""

    dark: bool
    window: str
    base: str
    alt: str
    text: str
    muted: str
    accent: str
    user_bubble: str
    assistant_bubble: str
    code_bg: str
    border: str
    warn_bg: str
    error_bg: str
    pygments_style: str
    all: dict[str, str] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def token(self, name: str) -> str:
        return self.all[name]


def _colors(scheme: str) -> Colors:
    values: dict[str, str] = dict(tokens()["themes"][scheme])
    named = {k: values[k] for k in ("window", "base", "alt", "text", "muted", "accent",
                                    "user_bubble", "assistant_bubble", "code_bg", "border",
                                    "warn_bg", "error_bg", "pygments_style")}
    return Colors(dark=scheme == "dark", all=values, **named)


LIGHT = _colors("light")
DARK = _colors("dark")


def system_is_dark() -> bool:
    chosen = preference()
    if chosen != "system":  # the person's choice in Settings wins
        return chosen == "dark"
    forced = os.environ.get("FIRESIDE_THEME", "").lower()
    if forced in ("light", "dark"):
        return forced == "dark"
    hints = QGuiApplication.styleHints()
    return bool(hints.colorScheme() == Qt.ColorScheme.Dark)


PREFERENCES = ("system", "light", "dark")
_PREFERENCE = "firesideTheme"  # kept on the QApplication, not in a module global


def preference() -> str:
    """The theme chosen in Settings: "system" (follow the OS), "light" or "dark"."""
    app = QGuiApplication.instance()
    chosen = app.property(_PREFERENCE) if app is not None else None
    return chosen if chosen in PREFERENCES else "system"


def set_preference(app: QApplication, chosen: str) -> Colors:
    """Apply the person's choice; "system" follows the OS scheme (live) and FIRESIDE_THEME.

    Qt is told too (QStyleHints.setColorScheme), so native dialogs match where the platform
    supports it; our own palette does not depend on that."""
    chosen = chosen if chosen in PREFERENCES else "system"
    app.setProperty(_PREFERENCE, chosen)
    schemes = {"light": Qt.ColorScheme.Light, "dark": Qt.ColorScheme.Dark}
    app.styleHints().setColorScheme(schemes.get(chosen, Qt.ColorScheme.Unknown))
    return apply(app)


def current() -> Colors:
    return DARK if system_is_dark() else LIGHT


def base_font(app: QApplication) -> QFont:
    """The application font at the type scale's base size (roomier than Qt's 9 pt)."""
    font = QFont(app.font())
    font.setPointSizeF(float(tokens()["type"]["base_pt"]))
    return font


def apply(app: QApplication) -> Colors:
    """Set Fusion, the base font and the palette for the current scheme; returns the colours."""
    colors = current()
    app.setStyle("Fusion")
    if app.property("firesideFont") is None:  # once: a font someone set later is kept
        app.setFont(base_font(app))
        app.setProperty("firesideFont", True)
    pal = QPalette()
    role = QPalette.ColorRole
    c = colors.token
    pal.setColor(role.Window, QColor(colors.window))
    pal.setColor(role.WindowText, QColor(colors.text))
    pal.setColor(role.Base, QColor(colors.base))
    pal.setColor(role.AlternateBase, QColor(colors.alt))
    pal.setColor(role.Text, QColor(colors.text))
    pal.setColor(role.Button, QColor(colors.alt))
    pal.setColor(role.ButtonText, QColor(colors.text))
    pal.setColor(role.ToolTipBase, QColor(colors.base))
    pal.setColor(role.ToolTipText, QColor(colors.text))
    pal.setColor(role.PlaceholderText, QColor(colors.muted))
    pal.setColor(role.Highlight, QColor(colors.accent))
    pal.setColor(role.HighlightedText, QColor(c("accent_text")))
    pal.setColor(role.Link, QColor(colors.accent))
    pal.setColor(role.Mid, QColor(c("border")))
    pal.setColor(QPalette.ColorGroup.Disabled, role.Text, QColor(colors.muted))
    pal.setColor(QPalette.ColorGroup.Disabled, role.ButtonText, QColor(colors.muted))
    pal.setColor(QPalette.ColorGroup.Disabled, role.WindowText, QColor(colors.muted))
    app.setPalette(pal)
    app.setStyleSheet("")
    sheet = stylesheet(colors)
    for widget in list(_styled):
        if shiboken6.isValid(widget):
            widget.setStyleSheet(sheet)
        else:
            _styled.discard(widget)
    return colors


_styled: WeakSet[QWidget] = WeakSet()


def style_tree(widget: QWidget) -> None:
    """Give ``widget`` and its children the style sheet (again when the scheme changes).

    Never the whole application: under any style sheet Qt routes every size hint through
    QStyleSheetStyle, which made a transcript of 84 messages cost 228 ms per layout pass
    (2 ms with the palette alone). The transcript paints its bubbles itself instead.
    """
    _styled.add(widget)
    widget.setStyleSheet(stylesheet(current()))


def set_variant(widget: QWidget, variant: str) -> QWidget:
    """Mark a button primary, secondary or danger; the style sheet draws the rest."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown button variant {variant!r}")
    widget.setProperty("variant", variant)
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)
    return widget


def page_margins(layout: QLayout) -> None:
    """A page's outer margins and spacing from the tokens, the same on every view."""
    space = tokens()["spacing"]
    layout.setContentsMargins(space["xl"], space["lg"], space["xl"], space["lg"])
    layout.setSpacing(space["md"])


_NAME = re.compile(r"@([a-z_]+(?:\.[a-z_0-9]+)?)")


def fill(template: str, colors: Colors) -> str:
    """``template`` with every ``@name`` replaced by its token (an unknown name raises)."""
    data = tokens()

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if "." in name:
            group, key = name.split(".", 1)
            raw = data[group][key]
            # lengths are pixels: spacing, radii and the type scale's *_px sizes
            px = group in ("spacing", "radius") or key.endswith("_px")
            return f"{raw}px" if px else str(raw)
        return colors.token(name)

    return _NAME.sub(value, template)


def stylesheet(c: Colors) -> str:
    return fill(_template(), c)

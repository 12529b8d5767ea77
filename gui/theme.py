"""Light and dark palettes that follow the system's colour scheme.

Fusion draws the same on every platform, so one palette per scheme gives a predictable look;
``FIRESIDE_THEME=light|dark`` overrides the system (screenshots, people who prefer one).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from weakref import WeakSet

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QWidget


@dataclass(frozen=True)
class Colors:
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


LIGHT = Colors(False, "#f4f4f6", "#ffffff", "#ececf0", "#1d1d22", "#6b6b76", "#d9480f",
               "#fff1e6", "#ffffff", "#f6f8fa", "#dcdce2", "#fff4d6", "#fde2e1", "friendly")
DARK = Colors(True, "#1e1f24", "#26272d", "#2e2f36", "#e8e8ec", "#9a9aa6", "#ff8c42",
              "#3a2c22", "#2a2b31", "#17181c", "#3a3b43", "#3d3520", "#4a2326", "github-dark")


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


def apply(app: QApplication) -> Colors:
    """Set Fusion and the palette for the current scheme; returns the colours used."""
    colors = current()
    app.setStyle("Fusion")
    pal = QPalette()
    role = QPalette.ColorRole
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
    pal.setColor(role.HighlightedText, QColor("#ffffff"))
    pal.setColor(role.Link, QColor(colors.accent))
    pal.setColor(QPalette.ColorGroup.Disabled, role.Text, QColor(colors.muted))
    pal.setColor(QPalette.ColorGroup.Disabled, role.ButtonText, QColor(colors.muted))
    pal.setColor(QPalette.ColorGroup.Disabled, role.WindowText, QColor(colors.muted))
    app.setPalette(pal)
    app.setStyleSheet("")
    for widget in list(_styled):
        if shiboken6.isValid(widget):
            widget.setStyleSheet(stylesheet(colors))
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


def stylesheet(c: Colors) -> str:
    return f"""
    QListWidget#navigation {{ background: {c.alt}; border: none; padding: 8px 6px;
        font-size: 14px; outline: none; }}
    QListWidget#navigation::item {{ padding: 9px 12px; border-radius: 6px; margin: 1px 0; }}
    QListWidget#navigation::item:selected {{ background: {c.accent}; color: white; }}
    QListView#conversationList {{ border: none; background: {c.base}; padding: 4px;
        outline: none; }}
    QListView#conversationList::item {{ padding: 7px 8px; border-radius: 5px; }}
    QListView#conversationList::item:selected {{ background: {c.accent}; color: white; }}
    QScrollArea#transcriptScroll {{ border: none; background: {c.window}; }}
    QWidget#transcriptBody {{ background: {c.window}; }}
    QFrame[bubble="user"] {{ background: {c.user_bubble}; border: 1px solid {c.border};
        border-radius: 10px; }}
    QFrame[bubble="assistant"] {{ background: {c.assistant_bubble};
        border: 1px solid {c.border}; border-radius: 10px; }}
    QFrame[bubble="note"] {{ background: {c.warn_bg}; border-radius: 8px; }}
    QFrame[dropped="true"] {{ border: 1px dashed {c.muted}; }}
    QFrame[match="true"] {{ border: 2px solid {c.accent}; }}
    QScrollArea#chatSettings[drawer="true"] {{ background: {c.base};
        border-left: 1px solid {c.border}; }}
    QLabel[role="title"] {{ font-size: 15px; font-weight: 600; }}
    QProgressBar#contextMeter[full="true"]::chunk {{ background: #c92a2a; }}
    QFrame#codeBlock {{ background: {c.code_bg}; border: 1px solid {c.border};
        border-radius: 6px; }}
    QLabel#codeLang {{ color: {c.muted}; font-size: 11px; }}
    QLabel[role="muted"] {{ color: {c.muted}; }}
    QLabel[role="speaker"] {{ color: {c.muted}; font-weight: 600; }}
    QFrame#banner {{ background: {c.warn_bg}; border-radius: 8px; }}
    QFrame#errorBanner {{ background: {c.error_bg}; border-radius: 8px; }}
    QPlainTextEdit#messageInput {{ border: 1px solid {c.border}; border-radius: 8px;
        padding: 6px; background: {c.base}; font-size: 14px; }}
    QPushButton#sendButton {{ background: {c.accent}; color: white; border: none;
        border-radius: 6px; padding: 7px 18px; font-weight: 600; }}
    QPushButton[accent="true"] {{ background: {c.accent}; color: white; border: none;
        border-radius: 6px; padding: 7px 16px; font-weight: 600; }}
    QPushButton#sendButton:disabled {{ background: {c.border}; color: {c.muted}; }}
    QToolButton[flat="true"] {{ border: none; color: {c.muted}; padding: 2px 6px; }}
    QToolButton[flat="true"]:hover {{ color: {c.accent}; }}
    QFrame#welcomeCard {{ background: {c.base}; border: 1px solid {c.border};
        border-radius: 14px; }}
    """

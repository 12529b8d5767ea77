"""Every icon the window shows, from qtawesome's Material Design Icons (``mdi6``) set only.

One table names each use (``ICONS``), so the look stays one family and a view never spells an
icon font name itself. Icons are tinted with a theme token; :func:`refresh` re-tints what
:func:`put` gave an icon after the colour scheme changes. The app's own logo is an SVG drawn for
Fireside (``resources/fireside.svg``): :func:`logo`.
"""

from __future__ import annotations

import logging
from importlib import resources
from weakref import WeakKeyDictionary

import shiboken6
from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QAbstractButton

from fireside.gui import theme

log = logging.getLogger("fireside.gui.icons")

ICONS: dict[str, str] = {
    # navigation
    "chat": "mdi6.chat-outline",
    "discover": "mdi6.compass-outline",
    "my_models": "mdi6.cube-outline",
    "downloads": "mdi6.tray-arrow-down",
    "server": "mdi6.server-network",
    "hardware": "mdi6.chip",
    "settings": "mdi6.cog-outline",
    # actions
    "send": "mdi6.send",
    "stop": "mdi6.stop-circle-outline",
    "new_chat": "mdi6.plus",
    "download": "mdi6.download",
    "open": "mdi6.chat-processing-outline",
    "delete": "mdi6.trash-can-outline",
    "folder": "mdi6.folder-open-outline",
    "load_settings": "mdi6.tune-variant",
    "pause": "mdi6.pause",
    "resume": "mdi6.play",
    "cancel": "mdi6.close",
    "remove": "mdi6.close",
    "more": "mdi6.chevron-down",
    "more_closed": "mdi6.chevron-right",
    "search": "mdi6.magnify",
    "import": "mdi6.file-import-outline",
    "link": "mdi6.link-variant",
    "attach_image": "mdi6.image-plus-outline",
    # facts
    "gated": "mdi6.lock-outline",
    "downloads_count": "mdi6.download-outline",
    "likes": "mdi6.heart-outline",
    "author": "mdi6.account-outline",
    "prompt": "mdi6.lightbulb-on-outline",
}

_given: WeakKeyDictionary[QAbstractButton, tuple[str, str]] = WeakKeyDictionary()


def icon(key: str, color: str = "text") -> QIcon:
    """The icon for ``key`` tinted with the theme token ``color`` (an empty icon if qtawesome
    cannot draw it, so a missing font never stops a view from opening)."""
    try:
        import qtawesome

        colors = theme.current()
        tint = colors.token(color) if not color.startswith("#") else color
        return qtawesome.icon(ICONS[key], color=tint, color_disabled=colors.muted,
                              color_selected=colors.token("accent_text"))
    except Exception as exc:  # a missing icon is cosmetic
        log.warning("icon %s unavailable: %s", key, exc)
        return QIcon()


def put(button: QAbstractButton, key: str, color: str = "text", size: int = 16) -> None:
    """Give ``button`` the icon for ``key``; :func:`refresh` re-tints it later."""
    button.setIcon(icon(key, color))
    button.setIconSize(QSize(size, size))
    _given[button] = (key, color)


def refresh() -> None:
    """Re-tint every icon given with :func:`put` for the current theme."""
    for button, (key, color) in list(_given.items()):
        if shiboken6.isValid(button):
            button.setIcon(icon(key, color))


def logo() -> QIcon:
    """Fireside's flame (the window icon and the navigation header)."""
    data = resources.files("fireside.resources").joinpath("fireside.svg")
    with resources.as_file(data) as path:
        return QIcon(str(path))

"""Qt's own messages routed into ``logging`` (qutebrowser's ``utils/qtlog.py`` idea).

Without this, Qt warnings go to stderr where nobody reads them and never reach the log file.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QMessageLogContext, QtMsgType, qInstallMessageHandler

log = logging.getLogger("fireside.qt")

_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}
# Harmless noise from the offscreen platform and font probing; kept at debug level.
_QUIET = ("This plugin does not support", "QFont::", "propagateSizeHints")


def _handler(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    level = _LEVELS.get(kind, logging.WARNING)
    if any(message.startswith(q) for q in _QUIET):
        level = logging.DEBUG
    where = f" ({context.category})" if context.category and context.category != "default" else ""
    log.log(level, "%s%s", message, where)


def install() -> None:
    """Route Qt messages to the ``fireside.qt`` logger for the rest of the process."""
    qInstallMessageHandler(_handler)

"""Logging set-up: one named logger per area, a rotating file in the log dir.

Tracebacks belong in the file, never on the terminal: the console handler prints one line per
record, and a record logged with ``extra={CONSOLE: False}`` (the CLI's "unexpected error")
goes to the file only, since the CLI prints its own line for it.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from fireside.core.paths import Paths

LOG_NAME = "fireside.log"
CONSOLE = "fireside_console"  # the record attribute that keeps a record off the console


def log_file(paths: Paths) -> Path:
    return paths.logs / LOG_NAME


class _OneLine(logging.Formatter):
    """The console's format: the message only, no traceback or stack."""

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        try:
            return super().format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved


def _on_console(record: logging.LogRecord) -> bool:
    return bool(getattr(record, CONSOLE, True))


def configure(paths: Paths, *, verbose: bool = False) -> Path | None:
    """Send records to a rotating file; stderr shows warnings only unless ``verbose``.

    Returns the log file, or None when it cannot be opened (a full or read-only disk): the
    app still runs, logging to stderr only.
    """
    root = logging.getLogger("fireside")
    target: Path | None = log_file(paths)
    if getattr(root, "_fireside_configured", None) == (target, verbose):
        return getattr(root, "_fireside_log_file", None)
    for old in getattr(root, "_fireside_handlers", []):  # another home in the same process
        root.removeHandler(old)
        old.close()
    root.setLevel(logging.DEBUG)
    handlers: list[logging.Handler] = []
    try:
        paths.logs.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(
            log_file(paths), maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    except OSError as exc:
        target = None
        failure = f"{exc.strerror or exc}"
    else:
        file_handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s %(threadName)s: %(message)s"))
        file_handler.setLevel(logging.DEBUG)
        handlers.append(file_handler)
    console = logging.StreamHandler()
    console.setLevel(logging.DEBUG if verbose else logging.WARNING)
    console.setFormatter(_OneLine("%(levelname)s %(name)s: %(message)s"))
    console.addFilter(_on_console)
    handlers.append(console)
    for handler in handlers:
        root.addHandler(handler)
    root._fireside_configured = (log_file(paths), verbose)  # type: ignore[attr-defined]
    root._fireside_handlers = handlers  # type: ignore[attr-defined]
    root._fireside_log_file = target  # type: ignore[attr-defined]
    if target is None:  # said once, by whoever has to mention the log (the CLI's error line)
        root.info("no log file (%s): logging to the terminal only", failure)
    return target

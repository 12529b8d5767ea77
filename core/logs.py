"""Logging set-up: one named logger per area, a rotating file in the log dir."""

from __future__ import annotations

import logging
import logging.handlers

from fireside.core.paths import Paths


def configure(paths: Paths, *, verbose: bool = False) -> None:
    """Send records to a rotating file; stderr shows warnings only unless ``verbose``."""
    root = logging.getLogger("fireside")
    if getattr(root, "_fireside_configured", False):
        return
    root.setLevel(logging.DEBUG)
    paths.logs.mkdir(parents=True, exist_ok=True)
    file_handler = logging.handlers.RotatingFileHandler(
        paths.logs / "fireside.log", maxBytes=2_000_000, backupCount=3, encoding="utf-8"
    )
    file_handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s %(threadName)s: %(message)s")
    )
    file_handler.setLevel(logging.DEBUG)
    root.addHandler(file_handler)
    console = logging.StreamHandler()
    console.setLevel(logging.DEBUG if verbose else logging.WARNING)
    console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(console)
    root._fireside_configured = True  # type: ignore[attr-defined]

"""Helpers shared by CLI commands: the stdout/stderr split and JSON output."""

from __future__ import annotations

import json
import sys
from typing import Any

from fireside.core.units import human_bytes

__all__ = ["emit_json", "human_bytes", "note"]


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def note(message: str) -> None:
    """Progress and status for people go to stderr so stdout stays machine-readable."""
    print(message, file=sys.stderr, flush=True)

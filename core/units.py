"""The one way Fireside writes sizes and counts for people, in the CLI and the window alike.

Sizes are IEC (KiB, MiB, GiB: powers of 1024), as ``fireside ls`` prints them; the window once
showed the same file as 94 MiB on one card and 98.4 MB in a list, which is what this prevents.
"""

from __future__ import annotations

UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def human_bytes(n: float, digits: int = 1) -> str:
    """``n`` bytes in IEC units: ``512 B``, ``94.0 MiB``, ``1.2 GiB`` (``digits`` decimals)."""
    for unit in UNITS:
        if abs(n) < 1024 or unit == UNITS[-1]:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.{digits}f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def plural(n: int, word: str, words: str = "") -> str:
    """``1 model``, ``2 models`` (``words`` when the plural is not ``word`` + s)."""
    return f"{n:,} {word if n == 1 else (words or word + 's')}"

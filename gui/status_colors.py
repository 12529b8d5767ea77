"""Text colours that say how something went: fine (green), error (red), warning (amber).

One place for them (the server panel's state line, the Load settings dialog's prediction), per
theme, each at least 4.5:1 on its theme's window background (WCAG AA, checked by
tests/gui/test_contrast.py); anything else is the theme's muted grey. They are design tokens
(``good``, ``error``, ``warning`` in resources/tokens.json).
"""

from __future__ import annotations

from fireside.gui import theme

# kind -> (light, dark)
STATUS_COLORS: dict[str, tuple[str, str]] = {
    kind: (theme.LIGHT.token(kind), theme.DARK.token(kind))
    for kind in ("good", "error", "warning")}


def status_color(kind: str) -> str:
    """``kind``'s colour in the current theme; the muted grey for any other kind."""
    colors = theme.current()
    pair = STATUS_COLORS.get(kind)
    return colors.muted if pair is None else pair[1 if colors.dark else 0]

"""WCAG AA: every text/background pair of the design tokens reads at 4.5:1 or more, both themes.

Seen before the tokens: the light theme's license colours turned dark red/blue on near-black in
dark mode, and white text on the light-orange accent was hard to read. The pairs are listed in
resources/tokens.json ("pairs"); this also checks that the list covers every foreground token
(``*_fg``, ``*_text``, the status colours) so a new colour cannot skip the check.
"""

from __future__ import annotations

import pytest

from fireside.gui import theme


def luminance(hex_color: str) -> float:
    channels = [int(hex_color.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_contrast_formula_matches_wcag_reference_values() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("colors", [theme.LIGHT, theme.DARK], ids=["light", "dark"])
def test_every_text_background_pair_reads_at_aa(colors: theme.Colors) -> None:
    failures = []
    for fg, bg in theme.tokens()["pairs"]:
        ratio = contrast(colors.token(fg), colors.token(bg))
        if ratio < 4.5:
            failures.append(f"{fg} {colors.token(fg)} on {bg} {colors.token(bg)}: {ratio:.2f}:1")
    assert not failures, failures


def test_pairs_cover_every_foreground_token() -> None:
    pairs = theme.tokens()["pairs"]
    foregrounds = {fg for fg, _bg in pairs}
    backgrounds_of = {fg: {bg for f, bg in pairs if f == fg} for fg in foregrounds}
    names = set(theme.tokens()["themes"]["light"])
    wanted = {n for n in names if n.endswith(("_fg", "_text"))} | {"text", "muted", "accent",
                                                                   "good", "error", "warning"}
    assert wanted <= foregrounds, wanted - foregrounds
    for family in ("commercial", "attribution", "conditions", "noncommercial", "unknown"):
        assert f"chip_{family}_bg" in backgrounds_of[f"chip_{family}_fg"]
    assert "accent" in backgrounds_of["accent_text"]  # text on the accent (buttons, selection)


def test_both_themes_name_the_same_tokens_and_the_sheet_fills() -> None:
    light, dark = (set(theme.tokens()["themes"][k]) for k in ("light", "dark"))
    assert light == dark
    for colors in (theme.LIGHT, theme.DARK):
        sheet = theme.stylesheet(colors)
        assert "@" not in sheet  # every token name in fireside.qss resolved
        assert colors.token("accent") in sheet


def test_status_and_license_colours_come_from_the_tokens(qapp: object) -> None:
    from fireside.gui.status_colors import STATUS_COLORS
    from fireside.gui.views.hub_common import license_color

    assert STATUS_COLORS["good"] == (theme.LIGHT.token("good"), theme.DARK.token("good"))
    dark_nc = license_color("noncommercial").name()
    assert dark_nc in (theme.LIGHT.token("chip_noncommercial_fg"),
                       theme.DARK.token("chip_noncommercial_fg"))

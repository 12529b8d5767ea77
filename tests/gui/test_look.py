"""The look of issue 15, as what was seen: each test failed on the window before the redesign.

Seen: a cramped Discover list coloured whole by license with a 🔒 emoji, one grey line as the
empty chat, Top K / Min P / Repeat penalty always on screen, grey bevelled buttons beside flat
orange ones, "1 models", 94 MiB on the welcome card against 98.4 MB in the list, no icons.
"""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from fireside.core.hub.catalog import RepoSummary
from fireside.core.hub.licenses import verdict
from fireside.core.models import starter
from fireside.core.units import human_bytes, plural
from fireside.gui import icons, theme
from fireside.gui.main_window import MainWindow


def _summary(repo: str, license_id: str, gated: bool = False) -> RepoSummary:
    return RepoSummary(repo, 12_345, 1, 0.0, "", [], verdict({"license": license_id}), gated)


def test_sizes_are_iec_and_counts_agree_in_number() -> None:
    assert human_bytes(starter.SIZE) == "93.8 MiB"  # what `fireside ls` prints for it
    assert human_bytes(512) == "512 B"
    assert human_bytes(3 * 2**30, 2) == "3.00 GiB"
    assert plural(1, "model") == "1 model"
    assert plural(2, "repo") == "2 repos"
    assert plural(1_000, "download") == "1,000 downloads"


def test_welcome_card_names_the_starter_as_the_lists_do(make_window: Any) -> None:
    win: MainWindow = make_window()
    text = win.welcome.findChild(QLabel, "welcomeText")
    assert text is not None
    shown = text.text().replace("&nbsp;", " ")
    assert human_bytes(starter.SIZE) in shown  # the same figure as My Models and Discover
    assert "MB" not in shown


def test_discover_cards_have_a_license_chip_and_no_emoji(qtbot: QtBot, qapp: Any) -> None:
    from fireside.gui.views.discover_card import RepoCard, compact

    theme.apply(qapp)
    for repo, lic, gated in (("acme/Open-GGUF", "mit", False),
                             ("acme/Research-GGUF", "cc-by-nc-4.0", False),
                             ("acme/Gated-GGUF", "gemma", True)):
        card = RepoCard(_summary(repo, lic, gated))
        qtbot.addWidget(card)
        chip = card.findChild(QLabel, "licenseBadge")
        assert chip is not None and chip.property("chip") == verdict({"license": lic}).klass.value
        assert card.name.text() == repo.split("/")[1]
        texts = [w.text() for w in card.findChildren(QLabel)]
        assert not any("🔒" in t for t in texts)
        assert (card.findChild(QLabel, "gatedIcon") is not None) == gated
    assert compact(12_345) == "12.3k" and compact(5_000_000) == "5M" and compact(7) == "7"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_chip_and_button_colours_come_from_the_theme(qapp: Any, scheme: str) -> None:
    from fireside.gui.views.hub_common import license_color

    qapp.setProperty("firesideTheme", scheme)
    try:
        colors = theme.current()
        assert license_color("noncommercial").name() == colors.token("chip_noncommercial_fg")
        sheet = theme.stylesheet(colors)
        for variant in theme.VARIANTS[::2]:  # primary and danger; secondary is the default
            assert f'QPushButton[variant="{variant}"]' in sheet
        assert "QScrollBar::add-line" in sheet and "qproperty-showGrid: 0" in sheet
    finally:
        qapp.setProperty("firesideTheme", None)


def test_every_icon_is_from_mdi6_and_draws(qapp: Any) -> None:
    assert all(name.startswith("mdi6.") for name in icons.ICONS.values())
    for key in icons.ICONS:
        assert not icons.icon(key).isNull(), key
    assert not icons.logo().isNull()


def test_navigation_has_the_logo_and_an_icon_per_view(make_window: Any) -> None:
    win: MainWindow = make_window()
    assert win.findChild(QLabel, "navLogo") is not None
    assert not win.windowIcon().isNull()
    for row in range(win.nav.count()):
        assert not win.nav.item(row).icon().isNull(), win.nav.item(row).text()


def test_advanced_sampling_is_folded_away(window: MainWindow, qtbot: QtBot) -> None:
    settings = window.chat.settings
    advanced = [w for w in window.findChildren(QWidget) if w.accessibleName() == "Advanced"]
    assert advanced, "nothing is named Advanced"
    inner = settings.findChild(QWidget, "advancedSampling")
    assert inner is not None
    for box in (settings.top_k, settings.min_p, settings.repeat):
        assert inner.isAncestorOf(box)
    assert not settings.advanced.isExpanded()
    assert settings.top_k.visibleRegion().isEmpty()  # folded: none of it on screen
    assert inner.parentWidget() is not None and inner.parentWidget().height() == 0
    assert not settings.temperature.visibleRegion().isEmpty()
    qtbot.mouseClick(settings.advanced.toggleButton(), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not settings.repeat.visibleRegion().isEmpty(), timeout=3_000)
    assert settings.advanced.isExpanded()


def test_empty_chat_offers_prompts_that_send(window: MainWindow, qtbot: QtBot,
                                              wait_idle: Any) -> None:
    empty = window.chat.transcript.empty
    assert empty.isVisible()
    buttons = empty.findChildren(QPushButton)
    assert 3 <= len(buttons) <= 4 and all(b.accessibleName() for b in buttons)
    prompt = buttons[0].accessibleName()
    qtbot.mouseClick(buttons[0], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(window.chat.messages), timeout=10_000)
    assert window.chat.messages[0].role == "user"
    assert window.chat.messages[0].content == prompt
    assert not empty.isVisible()
    window.chat.stop()  # the reply itself is not what this checks
    wait_idle(window)

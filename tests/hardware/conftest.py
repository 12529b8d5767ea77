"""Fixtures for the hardware tests: the starter's metadata and synthetic machines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fireside.core.context import AppContext
from fireside.core.models.meta import ModelMeta, read_meta


@pytest.fixture(scope="session")
def starter_meta(starter_file: Path) -> ModelMeta:
    return read_meta(starter_file)


@pytest.fixture
def bridge(app_ctx: AppContext, qtbot: Any) -> Iterator[Any]:
    """A real Bridge, shut down and deleted on the GUI thread before the next test."""
    from fireside.gui.bridge import Bridge
    from fireside.gui.lifetime import dispose

    b = Bridge(app_ctx)
    yield b
    b.shutdown()
    dispose(b)
    app_ctx.engine.unload()

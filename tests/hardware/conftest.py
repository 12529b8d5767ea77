"""Fixtures for the hardware tests: the starter's metadata and synthetic machines."""

from __future__ import annotations

from pathlib import Path

import pytest

from fireside.core.models.meta import ModelMeta, read_meta


@pytest.fixture(scope="session")
def starter_meta(starter_file: Path) -> ModelMeta:
    return read_meta(starter_file)

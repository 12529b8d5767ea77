"""Fixtures for the fault suite: small real file systems that fill up or turn read-only.

A tmpfs mounted for the test gives a real ``ENOSPC``/``EROFS`` from the kernel, as a full or
failing drive would; no write is faked. Mounting needs root (or CAP_SYS_ADMIN): elsewhere the
tests that need it are skipped with the reason.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fault_fs import SmallFs, mount  # noqa: E402


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Callable[[str, Path | None], SmallFs]]:
    """``small_fs("8m", where=None)`` mounts a tmpfs (at ``where`` or a fresh folder)."""
    mounted: list[Path] = []

    def make(size: str, where: Path | None = None) -> SmallFs:
        root = where or tmp_path / f"fs-{len(mounted)}"
        why = mount(root, size)
        if why:
            pytest.skip(why)
        mounted.append(root)
        return SmallFs(root, size)

    yield make
    for root in reversed(mounted):
        subprocess.run(["umount", "-l", str(root)], capture_output=True, check=False)


@pytest.fixture(scope="session")
def fault_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A hub stand-in of the synthetic repos only (no starter model), on a free port."""
    from hub_server import HubServer, demo_repos

    server = HubServer(demo_repos(tmp_path_factory.mktemp("fault-hub"), None, filler=0)).start()
    yield server
    server.stop()

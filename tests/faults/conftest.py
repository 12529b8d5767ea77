"""Fixtures for the fault suite: small real file systems that fill up or turn read-only.

A tmpfs mounted for the test gives a real ``ENOSPC``/``EROFS`` from the kernel, as a full or
failing drive would; no write is faked. Mounting needs root (or CAP_SYS_ADMIN): elsewhere the
tests that need it are skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


class SmallFs:
    """A mounted tmpfs of a fixed size."""

    def __init__(self, root: Path, size: str) -> None:
        self.root = root
        self.size = size

    def free(self) -> int:
        return shutil.disk_usage(self.root).free

    def fill(self, leave: int = 0) -> Path:
        """Write a ballast file until at most ``leave`` bytes are free; returns it."""
        ballast = self.root / f".ballast-{len(list(self.root.glob('.ballast-*')))}"
        with ballast.open("wb") as fh:
            block = b"\0" * (1 << 20)
            while (room := self.free() - leave) > 0:
                try:
                    fh.write(block[:min(len(block), room)])
                    fh.flush()
                except OSError:
                    break
        return ballast

    def read_only(self, on: bool = True) -> None:
        mode = "ro" if on else "rw"
        subprocess.run(["mount", "-o", f"remount,{mode}", str(self.root)], check=True,
                       capture_output=True)


def _mount(root: Path, size: str) -> str:
    if not shutil.which("mount") or (hasattr(os, "geteuid") and os.geteuid() != 0):
        return "mounting a tmpfs needs root and mount(8)"
    root.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs",
                             str(root)], capture_output=True, text=True, check=False)
    return "" if result.returncode == 0 else f"cannot mount a tmpfs: {result.stderr.strip()}"


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Callable[[str, Path | None], SmallFs]]:
    """``small_fs("8m", where=None)`` mounts a tmpfs (at ``where`` or a fresh folder)."""
    mounted: list[Path] = []

    def make(size: str, where: Path | None = None) -> SmallFs:
        root = where or tmp_path / f"fs-{len(mounted)}"
        why = _mount(root, size)
        if why:
            pytest.skip(why)
        mounted.append(root)
        return SmallFs(root, size)

    yield make
    for root in reversed(mounted):
        subprocess.run(["umount", "-l", str(root)], capture_output=True, check=False)

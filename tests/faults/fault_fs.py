"""A mounted tmpfs a test can fill up or turn read-only (see conftest's ``small_fs``)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


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


def mount(root: Path, size: str) -> str:
    if not shutil.which("mount") or (hasattr(os, "geteuid") and os.geteuid() != 0):
        return "mounting a tmpfs needs root and mount(8)"
    root.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs",
                             str(root)], capture_output=True, text=True, check=False)
    return "" if result.returncode == 0 else f"cannot mount a tmpfs: {result.stderr.strip()}"

"""The freedesktop entry, icons and AppStream metainfo, installed per user (XDG paths).

The files ship as package data (``fireside.resources.desktop``) so a wheel install and the
PyInstaller bundle both carry them; ``install`` copies them under ``$XDG_DATA_HOME`` (default
``~/.local/share``) with ``Exec``/``TryExec`` pointing at the launcher that ran it, so the menu
entry starts this very install (a venv's ``fireside``, or the bundle's executable).
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from fireside.core.atomic import write_atomic

log = logging.getLogger("fireside.desktop")
APP_ID = "io.github.fireside.Fireside"
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)


def data_home(env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ) if env is None else env
    value = env.get("XDG_DATA_HOME", "")
    return Path(value) if os.path.isabs(value) else Path.home() / ".local" / "share"


def launcher() -> str:
    """The command that starts this install: the bundle's executable, or the ``fireside``
    script beside this Python (a venv), else whatever ``fireside`` is on PATH."""
    if getattr(sys, "frozen", False):
        return str(Path(sys.executable).resolve())
    beside = Path(sys.executable).parent / "fireside"
    if beside.is_file():
        return str(beside)
    return shutil.which("fireside") or "fireside"


@dataclass(frozen=True)
class Installed:
    desktop: Path
    metainfo: Path
    icons: list[Path]

    @property
    def paths(self) -> list[Path]:
        return [self.desktop, self.metainfo, *self.icons]


def targets(root: Path) -> Installed:
    icons = [root / "icons" / "hicolor" / f"{s}x{s}" / "apps" / f"{APP_ID}.png" for s in ICON_SIZES]
    icons.append(root / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg")
    return Installed(root / "applications" / f"{APP_ID}.desktop",
                     root / "metainfo" / f"{APP_ID}.metainfo.xml", icons)


def desktop_entry(exec_path: str) -> str:
    """The shipped entry with Exec/TryExec set to ``exec_path`` (quoted per the spec)."""
    src = resources.files("fireside.resources.desktop").joinpath(f"{APP_ID}.desktop")
    quoted = shlex.quote(exec_path) if " " in exec_path else exec_path
    lines = []
    for line in src.read_text(encoding="utf-8").splitlines():
        if line.startswith("Exec="):
            lines.append(f"Exec={quoted}")
        elif line.startswith("TryExec="):
            lines.append(f"TryExec={exec_path}")
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


def install(root: Path | None = None, exec_path: str | None = None) -> Installed:
    """Copy the entry, metainfo and icons under ``root`` (default: the XDG data home)."""
    root = root or data_home()
    out = targets(root)
    pkg = resources.files("fireside.resources.desktop")
    out.desktop.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out.desktop, desktop_entry(exec_path or launcher()), mode=0o644)
    out.metainfo.parent.mkdir(parents=True, exist_ok=True)
    out.metainfo.write_bytes(pkg.joinpath(f"{APP_ID}.metainfo.xml").read_bytes())
    for size, dest in zip(ICON_SIZES, out.icons, strict=False):
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(pkg.joinpath(f"{APP_ID}-{size}.png").read_bytes())
    out.icons[-1].parent.mkdir(parents=True, exist_ok=True)
    out.icons[-1].write_bytes(pkg.joinpath(f"{APP_ID}.svg").read_bytes())
    _refresh_caches(root)
    return out


def uninstall(root: Path | None = None) -> list[Path]:
    removed = []
    for path in targets(root or data_home()).paths:
        if path.exists():
            path.unlink()
            removed.append(path)
    return removed


def _refresh_caches(root: Path) -> None:
    """Menus pick the entry up sooner with the caches refreshed; both tools are optional."""
    for cmd in (["update-desktop-database", "-q", str(root / "applications")],
                ["gtk-update-icon-cache", "-q", "-t", "-f", str(root / "icons" / "hicolor")]):
        if shutil.which(cmd[0]):
            try:
                subprocess.run(cmd, capture_output=True, timeout=30, check=False)
            except (OSError, subprocess.TimeoutExpired) as exc:
                log.debug("%s failed: %s", cmd[0], exc)

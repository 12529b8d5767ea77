"""The desktop entry, icons and AppStream metainfo: valid, and installed per user (XDG)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fireside.core import desktop

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "resources" / "desktop"
needs_validators = pytest.mark.skipif(
    not (shutil.which("desktop-file-validate") and shutil.which("appstreamcli")),
    reason="desktop-file-validate / appstreamcli not installed "
           "(apt-get install desktop-file-utils appstream)")


def _validate(path: Path) -> None:
    if path.suffix == ".desktop":
        cmd = ["desktop-file-validate", str(path)]
    else:
        cmd = ["appstreamcli", "validate", "--no-net", str(path)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "error" not in (out.stdout + out.stderr).lower(), out.stdout + out.stderr


@needs_validators
@pytest.mark.parametrize("name", [f"{desktop.APP_ID}.desktop", f"{desktop.APP_ID}.metainfo.xml"])
def test_shipped_files_validate(name: str) -> None:
    _validate(SHIPPED / name)


def test_every_icon_size_is_there_and_square() -> None:
    for size in desktop.ICON_SIZES:
        data = (SHIPPED / f"{desktop.APP_ID}-{size}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert (width, height) == (size, size)


@needs_validators
def test_install_desktop_honours_xdg_data_home(tmp_path: Path) -> None:
    data_home = tmp_path / "xdg-data"
    env = {"XDG_DATA_HOME": str(data_home)}
    out = subprocess.run([sys.executable, "-m", "fireside", "install-desktop"],
                         env={**os.environ, **env}, capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    installed = desktop.targets(data_home)
    assert [Path(p) for p in out.stdout.split()] == installed.paths
    for path in installed.paths:
        assert path.is_file() and path.stat().st_size > 0, path
    entry = installed.desktop.read_text()
    exec_line = next(ln for ln in entry.splitlines() if ln.startswith("Exec="))
    assert Path(exec_line.removeprefix("Exec=")).is_absolute()  # starts this very install
    _validate(installed.desktop)
    _validate(installed.metainfo)

    out = subprocess.run([sys.executable, "-m", "fireside", "install-desktop", "--uninstall"],
                         env={**os.environ, **env}, capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert not any(p.exists() for p in installed.paths)


def test_exec_with_spaces_is_quoted() -> None:
    entry = desktop.desktop_entry("/opt/My Apps/fireside")
    assert "Exec='/opt/My Apps/fireside'" in entry
    assert "TryExec=/opt/My Apps/fireside" in entry


def test_data_home_ignores_a_relative_xdg_value(tmp_path: Path) -> None:
    assert desktop.data_home({"XDG_DATA_HOME": "relative/dir"}) == (
        Path.home() / ".local" / "share")
    assert desktop.data_home({"XDG_DATA_HOME": str(tmp_path)}) == tmp_path

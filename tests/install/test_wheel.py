"""`pip wheel .` installed into a fresh venv outside the repo, as `pipx install` would.

Dependencies come from the package registry through pip's cache (llama-cpp-python's wheel is
the one setup.sh built, so nothing compiles); the venv has no access to the checkout.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from .helpers import clean_env, open_window_and_quit

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

CHECK_WINDOW = """
from fireside.gui.app import app_icon, create_window, ensure_app
from fireside.core import context
from fireside.gui.lifetime import dispose
app = ensure_app()
icon = app_icon()
assert not icon.isNull() and not icon.pixmap(64, 64).isNull(), "app icon missing"
window = create_window(context.build())
window.show()
app.processEvents()
styled = [w for w in window.findChildren(object) if getattr(w, "styleSheet", lambda: "")()]
assert styled, "no style sheet applied"
print("icon ok, styled widgets:", len(styled))
window.close()
window.shutdown()
dispose(window)
"""


def _run(cmd: list[str], env: dict[str, str], cwd: Path, timeout: float = 600,
         ) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True,
                         timeout=timeout, check=False)
    assert out.returncode == 0, f"{cmd}: {out.stdout[-2000:]}\n{out.stderr[-3000:]}"
    return out


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv (outside the repo) with the wheel of this checkout and its gui extra."""
    root = tmp_path_factory.mktemp("wheel-install")
    env = clean_env(root / "home", PIP_DISABLE_PIP_VERSION_CHECK="1")
    start = time.monotonic()
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w",
          str(root / "wheels"), str(ROOT)], env, root)
    wheels = list((root / "wheels").glob("fireside-*.whl"))
    assert len(wheels) == 1, wheels
    _run([sys.executable, "-m", "venv", str(root / "venv")], env, root)
    pip = [str(root / "venv" / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    _run([*pip, f"{wheels[0]}[gui]"], env, root)
    print(f"wheel built and installed in {time.monotonic() - start:.0f} s")
    return root


def test_help_runs_outside_the_repo(installed: Path) -> None:
    exe = installed / "venv" / "bin" / "fireside"
    out = _run([str(exe), "--help"], clean_env(installed / "home"), installed)
    assert "install-desktop" in out.stdout and "serve" in out.stdout
    out = _run([str(exe), "--version"], clean_env(installed / "home"), installed)
    assert out.stdout.strip() == "fireside 0.1.0"


def test_run_streams_an_answer(installed: Path, starter_file: Path) -> None:
    exe = installed / "venv" / "bin" / "fireside"
    out = _run([str(exe), "run", str(starter_file), "The sky is", "--max-tokens", "8",
                "--seed", "1"], clean_env(installed / "home"), installed)
    assert out.stdout.strip(), out.stderr
    assert "Traceback" not in out.stderr


def test_window_opens_offscreen_with_icons_and_styles(installed: Path) -> None:
    python = installed / "venv" / "bin" / "python"
    out = _run([str(python), "-c", CHECK_WINDOW], clean_env(installed / "home2"), installed)
    assert "icon ok" in out.stdout
    home = installed / "home3"
    opened = open_window_and_quit([str(installed / "venv" / "bin" / "fireside")], home,
                                  installed)
    print(f"window open after {opened:.1f} s")


def test_install_desktop_from_the_wheel(installed: Path) -> None:
    exe = installed / "venv" / "bin" / "fireside"
    data_home = installed / "xdg"
    env = clean_env(installed / "home4", XDG_DATA_HOME=str(data_home))
    _run([str(exe), "install-desktop"], env, installed)
    entry = data_home / "applications" / "io.github.fireside.Fireside.desktop"
    assert f"Exec={exe}" in entry.read_text()
    assert (data_home / "icons/hicolor/256x256/apps/io.github.fireside.Fireside.png").is_file()
    assert (data_home / "metainfo/io.github.fireside.Fireside.metainfo.xml").is_file()

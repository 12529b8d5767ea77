"""Install layout and the Qt-free core boundary."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from fireside.core import paths


def _run(code: str, cwd: Path) -> str:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True,
                          text=True, check=True).stdout


def test_core_imports_no_qt(tmp_path: Path) -> None:
    code = ("import sys, fireside.core.context, fireside.core.cli.main, "
            "fireside.core.inference.engine, fireside.core.models.library;"
            "print('PySide6' in sys.modules)")
    assert _run(code, tmp_path).strip() == "False"


def test_installed_under_one_package(tmp_path: Path) -> None:
    code = ("import importlib.util, json; print(json.dumps([importlib.util.find_spec(n) is None"
            " for n in ('core', 'gui', 'resources')] + [importlib.util.find_spec(n) is not None"
            " for n in ('fireside.core', 'fireside.gui', 'fireside.resources')]))")
    assert all(json.loads(_run(code, tmp_path)))


def test_python_dash_m_fireside(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "fireside", "--help"], cwd=tmp_path,
                         capture_output=True, text=True, check=True).stdout
    assert "run" in out and "pull" in out


def test_fireside_home_overrides_every_path(tmp_path: Path) -> None:
    p = paths.resolve({"FIRESIDE_HOME": str(tmp_path)})
    for folder in (p.data, p.config, p.cache, p.logs, p.models):
        assert folder.is_relative_to(tmp_path)


def test_platform_defaults_without_override() -> None:
    p = paths.resolve({})
    assert "fireside" in str(p.data).lower()
    assert p.data != p.cache

"""Shared fixtures: an isolated FIRESIDE_HOME per test and the real starter model.

The starter model is cached outside the repo (``~/.cache/fireside-dev/starter`` unless
FIRESIDE_STARTER_CACHE says otherwise) so reruns and clean clones don't fetch it again.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault(
    "FIRESIDE_STARTER_CACHE", str(Path.home() / ".cache" / "fireside-dev" / "starter"))

from fireside.core import context  # noqa: E402
from fireside.core.inference.engine import Engine  # noqa: E402
from fireside.core.inference.types import LoadSettings  # noqa: E402
from fireside.core.models import starter  # noqa: E402
from fireside.core.models.library import Library  # noqa: E402


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "qtbot" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.gui)


@pytest.fixture(autouse=True)
def _collect_garbage_on_main_thread() -> Iterator[None]:
    """Collect each test's reference cycles here, on the main thread.

    Cyclic GC runs in whichever thread happens to allocate; a closed window's widgets freed
    by a later test's worker thread would be destroyed off the GUI thread (Qt's QBasicTimer
    warnings, or worse).
    """
    yield
    gc.collect()


@pytest.fixture(autouse=True)
def fireside_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "fireside-home"
    monkeypatch.setenv("FIRESIDE_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def starter_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The verified starter GGUF in the shared cache (fetched once per machine)."""
    cache = Path(os.environ["FIRESIDE_STARTER_CACHE"])
    lib_root = tmp_path_factory.mktemp("starter-lib")
    starter.obtain(Library(lib_root / "models", lib_root / "library.json"), cache)
    return cache / starter.FILENAME


@pytest.fixture
def app_ctx(fireside_home: Path) -> context.AppContext:
    return context.build()


@pytest.fixture
def installed_starter(app_ctx: context.AppContext, starter_file: Path) -> Path:
    """The starter model installed in this test's library (copied from the cache)."""
    model = starter.obtain(app_ctx.library, starter_file.parent)
    return model.path


@pytest.fixture(scope="session")
def engine(starter_file: Path) -> Iterator[Engine]:
    """One engine with the starter model, shared by tests that only read from it."""
    eng = Engine()
    eng.load(starter_file, LoadSettings(n_ctx=2048))
    yield eng
    eng.unload()


@pytest.fixture
def ctrl_c_reaches_children() -> Iterator[None]:
    """Children started during the test take Ctrl-C (SIGINT) as a person's terminal sends it.

    A shell starts background jobs with SIGINT ignored and children inherit "ignored" (but not
    a Python handler): under such a runner a `fireside serve` child would never see the signal.
    """
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)

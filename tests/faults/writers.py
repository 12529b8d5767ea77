"""The two kinds of writer that share settings.json and library.json, runnable as a process.

``window`` edits settings the way the window's views do (read, change one key, write);
``server`` uses :meth:`SettingsStore.update` and the library's own mutations, as `fireside
serve` does. Each writes keys only it uses, so afterwards every one of them must be there.

    python tests/faults/writers.py window|server HOME TAG COUNT [GGUF...]
"""

from __future__ import annotations

import sys
from pathlib import Path

from fireside.core.models.library import Library
from fireside.core.settings import Settings, SettingsStore


def settings_writes(store: SettingsStore, kind: str, tag: str, count: int) -> None:
    for i in range(count):
        key = f"{tag}-{i}"
        if kind == "window":
            settings = store.read()
            settings.ui[key] = i
            store.write(settings)
        else:
            def change(s: Settings, key: str = key, i: int = i) -> None:
                s.ui[key] = i

            store.update(change)


def library_writes(library: Library, files: list[Path]) -> None:
    for path in files:
        model = library.register([path], source="test", linked=True)
        library.touch(model.name)


def main(argv: list[str]) -> int:
    kind, home, tag, count = argv[0], Path(argv[1]), argv[2], int(argv[3])
    store = SettingsStore(home / "config" / "settings.json")
    library = Library(home / "data" / "models", home / "data" / "library.json")
    library_writes(library, [Path(p) for p in argv[4:]])
    settings_writes(store, kind, tag, count)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

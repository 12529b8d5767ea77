"""Tells the window when the model library changed, whoever changed it.

A finished download, an import, a delete in My Models, ``fireside pull`` or ``fireside rm`` in
a terminal, a file dropped into the models folder by hand: all of them end in the library's
index file being replaced, or in the models folder's listing changing. One
:class:`QFileSystemWatcher` on those two folders (files replaced atomically cannot be watched
as files: the watch dies with the old inode) catches every case without each writer having to
remember to say so. The folders also hold other files (the conversation database and its
journal), so events are debounced and only a changed signature (the index's size and mtime, the
models folder's entries) is reported.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal, Slot

log = logging.getLogger("fireside.gui.library")
DEBOUNCE_MS = 250
Signature = tuple[tuple[int, int], frozenset[str]]


def _signature(index_file: Path, models_dir: Path) -> Signature:
    """Cheap (one stat, one directory listing): fine on the GUI thread."""
    try:
        st = index_file.stat()
        index = (st.st_mtime_ns, st.st_size)
    except OSError:
        index = (0, 0)
    try:
        with os.scandir(models_dir) as entries:
            names = frozenset(e.name for e in entries)
    except OSError:
        names = frozenset()
    return index, names


class LibraryWatcher(QObject):
    changed = Signal()

    def __init__(self, index_file: Path, models_dir: Path,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.index_file, self.models_dir = index_file, models_dir
        self._last = _signature(index_file, models_dir)
        self._watcher = QFileSystemWatcher(self)
        folders = [str(p) for p in {index_file.parent, models_dir} if p.is_dir()]
        if folders:
            self._watcher.addPaths(folders)
        self._watcher.directoryChanged.connect(self._soon)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.check)

    @Slot(str)
    def _soon(self, _path: str = "") -> None:
        self._timer.start()

    @Slot()
    def check(self) -> bool:
        """Emit ``changed`` if the library looks different from last time; True if it did."""
        now = _signature(self.index_file, self.models_dir)
        if now == self._last:
            return False
        self._last = now
        log.debug("library changed on disk")
        self.changed.emit()
        return True

"""The local model library: what is on disk, where it came from, and under what license.

An index (``library.json`` in the data dir) records each model's files, source and license;
files dropped into the models folder by hand are picked up by a scan. The window and
``fireside serve`` both change the index, so every change is a read-modify-write under a lock
that holds across processes, written atomically; a corrupt index is set aside and rebuilt from
the files — never a reason to lose a model.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fireside.core.atomic import locked, write_json_atomic
from fireside.core.errors import (
    BadModelFileError,
    ModelNotFoundError,
    StorageError,
)
from fireside.core.inference.media import find_projector, is_projector
from fireside.core.models import preflight
from fireside.core.models.gguf_meta import SPLIT_RE
from fireside.core.models.meta import ModelMeta, read_meta

log = logging.getLogger("fireside.library")
STARTER_ALIAS = "starter"


@dataclass
class LibraryEntry:
    """One model as the index stores it (paths absolute)."""

    name: str
    files: list[str]
    source: str = "local"
    license: str = ""
    repo: str = ""
    sha256: str = ""
    linked: bool = False
    added: float = field(default_factory=time.time)
    last_used: float = 0.0
    starter: bool = False


@dataclass
class LocalModel:
    """A library entry with its header metadata, as listed to users."""

    entry: LibraryEntry
    meta: ModelMeta | None
    size_bytes: int
    error: str = ""

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def path(self) -> Path:
        return Path(self.entry.files[0])

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name, "path": str(self.path), "size_bytes": self.size_bytes,
            "source": self.entry.source, "license": self.entry.license or
            (self.meta.license if self.meta else ""), "repo": self.entry.repo,
            "linked": self.entry.linked, "last_used": self.entry.last_used,
            "files": self.entry.files,
        }
        if self.meta:
            data.update({k: v for k, v in self.meta.to_json().items() if k not in data})
        projector = find_projector(self.path)
        data["projector"] = str(projector) if projector else None
        if self.error:
            data["error"] = self.error
        return data


def model_name_for(filename: str) -> str:
    """A stable, shell-friendly name from a file name (split suffix dropped)."""
    base = filename
    match = SPLIT_RE.match(base)
    if match:
        base = match.group("stem")
    base = re.sub(r"\.gguf$", "", base, flags=re.IGNORECASE)
    return re.sub(r"[^a-z0-9._-]+", "-", base.lower()).strip("-.") or "model"


def shard_paths(first: Path) -> list[Path]:
    """All shards of a split model given any one of them; the file alone otherwise."""
    match = SPLIT_RE.match(first.name)
    if not match:
        return [first]
    total = int(match.group("total"))
    stem = match.group("stem")
    return [first.with_name(f"{stem}-{i:05d}-of-{total:05d}.gguf") for i in range(1, total + 1)]


class Library:
    """Thread-safe view of the models folder and its index."""

    def __init__(self, models_dir: Path, index_file: Path) -> None:
        self.models_dir = models_dir
        self.index_file = index_file
        self._lock = threading.RLock()
        self._meta_cache: dict[tuple[str, float, int], ModelMeta] = {}

    # -- index ---------------------------------------------------------------------------
    def _load_index(self) -> dict[str, LibraryEntry]:
        if not self.index_file.exists():
            return {}
        try:
            raw = json.loads(self.index_file.read_text(encoding="utf-8"))
            return {e["name"]: LibraryEntry(**e) for e in raw["models"]}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            backup = self.index_file.with_suffix(f".corrupt-{int(time.time())}.json")
            log.warning("library index unreadable (%s); set aside as %s", exc, backup)
            try:
                self.index_file.replace(backup)
            except OSError:
                pass
            return {}

    def _save_index(self, entries: dict[str, LibraryEntry]) -> None:
        payload = {"version": 1, "models": [asdict(e) for e in entries.values()]}
        try:
            write_json_atomic(self.index_file, payload)
        except OSError as exc:
            raise StorageError(f"could not save the library index {self.index_file}: "
                               f"{exc.strerror or exc}") from exc

    def _entries(self) -> dict[str, LibraryEntry]:
        """Index entries plus any unregistered .gguf under the models folder."""
        entries = self._load_index()
        known = {f for e in entries.values() for f in e.files}
        if self.models_dir.exists():
            for path in sorted(self.models_dir.rglob("*.gguf")):
                if str(path) in known or path.name.endswith(".part") or is_projector(path):
                    continue
                match = SPLIT_RE.match(path.name)
                if match and int(match.group("idx")) != 1:
                    continue
                files = [str(p) for p in shard_paths(path)]
                name = self._unique_name(model_name_for(path.name), entries)
                entries[name] = LibraryEntry(name=name, files=files, source="folder")
                known.update(files)
        return entries

    @staticmethod
    def _unique_name(name: str, entries: dict[str, LibraryEntry]) -> str:
        candidate, n = name, 2
        while candidate in entries:
            candidate = f"{name}-{n}"
            n += 1
        return candidate

    # -- queries -------------------------------------------------------------------------
    def meta_for(self, path: Path) -> ModelMeta:
        stat = path.stat()
        key = (str(path), stat.st_mtime, stat.st_size)
        if key not in self._meta_cache:
            self._meta_cache[key] = read_meta(path)
        return self._meta_cache[key]

    def _describe(self, entry: LibraryEntry) -> LocalModel:
        paths = [Path(f) for f in entry.files]
        missing = [p for p in paths if not p.exists()]
        size = sum(p.stat().st_size for p in paths if p.exists())
        if missing:
            return LocalModel(entry, None, size, error=f"missing file {missing[0]}")
        try:
            return LocalModel(entry, self.meta_for(paths[0]), size)
        except BadModelFileError as exc:
            return LocalModel(entry, None, size, error=str(exc))

    def list(self) -> list[LocalModel]:
        with self._lock:
            return [self._describe(e) for e in sorted(self._entries().values(),
                                                       key=lambda e: e.name)]

    def get(self, ref: str) -> LocalModel:
        """A model by name, by ``starter``, or by path to a .gguf file."""
        with self._lock:
            entries = self._entries()
            if ref in entries:
                return self._describe(entries[ref])
            if ref == STARTER_ALIAS:
                for entry in entries.values():
                    if entry.starter:
                        return self._describe(entry)
                raise ModelNotFoundError(
                    "the starter model is not installed: run `fireside pull starter`")
            path = Path(ref).expanduser()
            if path.suffix.lower() == ".gguf" or path.exists():
                return self._describe_path(path)
            raise ModelNotFoundError(
                f"no model named {ref!r}; `fireside ls` lists the local models")

    def _describe_path(self, path: Path) -> LocalModel:
        if not path.exists():
            raise ModelNotFoundError(f"no such file: {path}")
        if not path.is_file():
            raise BadModelFileError(f"not a file: {path}")
        path = path.resolve()
        for entry in self._entries().values():
            if str(path) in entry.files:
                return self._describe(entry)
        entry = LibraryEntry(name=model_name_for(path.name),
                             files=[str(p) for p in shard_paths(path)], source="path",
                             linked=True)
        model = self._describe(entry)
        if model.error:
            raise BadModelFileError(f"{path.name}: {model.error}")
        return model

    # -- changes -------------------------------------------------------------------------
    def register(self, files: Iterable[Path], *, source: str, license: str = "",
                 repo: str = "", sha256: str = "", linked: bool = False,
                 starter: bool = False, name: str | None = None) -> LocalModel:
        """Record files already in place (a finished download, an import)."""
        paths = [Path(f).resolve() for f in files]
        self.meta_for(paths[0])  # refuse anything not a readable GGUF (and cache its header)
        with self._lock, locked(self.index_file):
            entries = self._entries()
            for existing in list(entries.values()):
                if existing.files == [str(p) for p in paths]:
                    del entries[existing.name]
            name = self._unique_name(name or model_name_for(paths[0].name), entries)
            entry = LibraryEntry(name=name, files=[str(p) for p in paths], source=source,
                                 license=license, repo=repo, sha256=sha256, linked=linked,
                                 starter=starter)
            entries[name] = entry
            self._save_index(entries)
            return self._describe(entry)

    def place(self, tmp: Path, target: Path, **record: Any) -> LocalModel:
        """Move a finished file into the models folder and :meth:`register` it in one step:
        a listing in between would find it unregistered and name it after its file."""
        with self._lock:
            os.replace(tmp, target)
            return self.register([target], **record)

    def import_file(self, path: Path, *, link: bool = False) -> LocalModel:
        """Copy (default) or link an existing .gguf into the library."""
        path = path.expanduser()
        if not path.is_file():
            raise ModelNotFoundError(f"no such file: {path}")
        shards = shard_paths(path.resolve())
        for shard in shards:
            if not shard.is_file():
                raise BadModelFileError(f"split model is missing its shard {shard.name}")
        meta = read_meta(shards[0])
        preflight.check(shards[0], fatal_only=True)  # one that crashes llama.cpp stays out
        if link:
            return self.register(shards, source="import", linked=True, license=meta.license)
        folder = self.models_dir / "imported" / model_name_for(path.name)
        folder.mkdir(parents=True, exist_ok=True)
        targets = []
        tmp: Path | None = None
        try:
            for shard in shards:
                target = folder / shard.name
                fd, name = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".part")
                os.close(fd)
                tmp = Path(name)  # unique: two imports of one file never share a temp file
                shutil.copyfile(shard, tmp)
                os.replace(tmp, target)
                tmp = None
                targets.append(target)
        except OSError as exc:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
            raise StorageError(f"could not copy {path.name}: {exc.strerror or exc}") from exc
        return self.register(targets, source="import", license=meta.license)

    def remove(self, ref: str) -> LocalModel:
        """Forget a model; delete its files only if Fireside owns them (not linked).

        A file that cannot be deleted keeps the model listed, with one line saying why."""
        with self._lock, locked(self.index_file):
            entries = self._entries()
            if ref not in entries:
                model = self.get(ref)  # resolves `starter` or raises ModelNotFoundError
                ref = model.name
                if ref not in entries:
                    raise ModelNotFoundError(f"{ref!r} is not in the library")
            entry = entries.pop(ref)
            model = self._describe(entry)
            if not entry.linked:
                for f in entry.files:
                    try:
                        Path(f).unlink(missing_ok=True)
                    except OSError as exc:
                        raise StorageError(f"could not delete {f}: {exc.strerror or exc}; "
                                           f"{ref} stays in the library") from exc
                parent = Path(entry.files[0]).parent
                if parent != self.models_dir and parent.is_relative_to(self.models_dir):
                    self._drop_folder(parent, entries)
            self._save_index(entries)
            return model

    def _drop_folder(self, folder: Path, entries: dict[str, LibraryEntry]) -> None:
        """The removed model's folder goes once nothing is left in it; a vision projector
        no remaining model in that folder uses goes with the last model."""
        try:
            if not any(Path(f).parent == folder for e in entries.values() for f in e.files):
                for projector in [p for p in folder.iterdir() if is_projector(p)]:
                    projector.unlink(missing_ok=True)
            folder.rmdir()
        except OSError:  # something else is still there: the folder stays
            pass

    def touch(self, name: str) -> None:
        with self._lock, locked(self.index_file):
            entries = self._entries()
            if name in entries:
                entries[name].last_used = time.time()
                self._save_index(entries)

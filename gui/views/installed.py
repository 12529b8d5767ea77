"""Is this Hub file already on this machine? One rule, used by Discover and its repo page.

A remote file is installed when a library model holds the same bytes (same sha256, from any
repo) or came from the same repo and file name — unless both sides know a sha256 and they
differ (a newer revision of the file is not the one on disk). Models whose files are missing
or unreadable do not count: "Open" must open something.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePosixPath

from fireside.core.hub.catalog import FileChoice
from fireside.core.models.library import LocalModel


def _basename(path: str) -> str:
    return PurePosixPath(path.replace("\\", "/")).name


def installed_model(models: Iterable[LocalModel], repo: str,
                    choice: FileChoice) -> LocalModel | None:
    """The library model that already holds ``choice`` of ``repo``, or None."""
    remote_sha = (choice.files[0].sha256 if choice.files else "").lower()
    remote_name = _basename(choice.name)
    by_name: LocalModel | None = None
    for model in models:
        if model.error or not model.entry.files:
            continue
        local_sha = model.entry.sha256.lower()
        if remote_sha and local_sha:
            if remote_sha == local_sha:
                return model
            continue  # both known and different: not this file
        same_repo = bool(model.entry.repo) and model.entry.repo.casefold() == repo.casefold()
        if by_name is None and same_repo and _basename(model.entry.files[0]) == remote_name:
            by_name = model
    return by_name


def installed_names(models: Iterable[LocalModel], repo: str,
                    choices: Iterable[FileChoice]) -> dict[str, str]:
    """For each installed choice: its name (first file's path) -> the local model's name."""
    listed = list(models)
    out: dict[str, str] = {}
    for choice in choices:
        model = installed_model(listed, repo, choice)
        if model is not None:
            out[choice.name] = model.name
    return out

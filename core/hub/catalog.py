"""Searching the Hub for GGUF repos and describing one repo's downloadable choices.

A repo holds many GGUF files; people choose a *quantization*, so files are grouped into
:class:`FileChoice` items: one per quant, with the shards of a split model (``-00001-of-00003``)
folded into one choice whose size is the sum.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from itertools import islice
from pathlib import PurePosixPath
from typing import Any, Literal

import httpx

from fireside.core.errors import DownloadError
from fireside.core.hub.common import HubConfig, http_client, hub_errors
from fireside.core.hub.licenses import LicenseVerdict, verdict
from fireside.core.inference.media import is_projector
from fireside.core.models.gguf_meta import SPLIT_RE

log = logging.getLogger("fireside.hub")

Sort = Literal["downloads", "likes", "trending", "updated"]
SORTS: dict[str, str] = {"downloads": "downloads", "likes": "likes",
                         "trending": "trending_score", "updated": "last_modified"}
_QUANT_RE = re.compile(
    r"(?<![A-Za-z0-9])(IQ[1-4]_(?:XXS|XS|S|M|NL)|IQ[1-4]|TQ[12]_0|Q[2-8]_K(?:_[SMLX]{1,2})?|"
    r"Q[2-8]_[01]|MXFP4|BF16|F16|FP16|F32|FP32)(?![A-Za-z0-9])", re.IGNORECASE)


def quant_from_name(filename: str) -> str:
    """The quantization label in a GGUF file name (``Q4_K_M``), or ``?`` when none is named."""
    stem = filename.rsplit("/", 1)[-1]
    found = _QUANT_RE.findall(stem.replace(".", "_").replace("-", "_").replace("__", "_"))
    if not found:
        found = _QUANT_RE.findall(stem)
    if not found:
        return "?"
    q = found[-1].upper()
    return {"FP16": "F16", "FP32": "F32"}.get(q, q)


@dataclass(frozen=True)
class RepoSummary:
    """One search hit."""

    repo: str
    downloads: int
    likes: int
    trending: float
    last_modified: str
    tags: list[str]
    license: LicenseVerdict
    gated: bool

    def to_json(self) -> dict[str, Any]:
        return {"repo": self.repo, "downloads": self.downloads, "likes": self.likes,
                "trending": self.trending, "last_modified": self.last_modified,
                "gated": self.gated, "license": self.license.to_json(), "tags": self.tags}


@dataclass(frozen=True)
class SearchPage:
    results: list[RepoSummary]
    page: int
    has_more: bool


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size: int
    sha256: str  # the Hub's LFS sha256; empty for non-LFS files


@dataclass(frozen=True)
class FileChoice:
    """What a person picks: one quant of the model, possibly several shard files."""

    name: str  # the first file's path
    quant: str
    files: list[RemoteFile]  # the model's shards, then the repo's vision projector if it has one

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def projector(self) -> str:
        """The projector downloaded with it (it lets the model read images), or ""."""
        return next((f.path for f in self.files if _is_projector(f.path)), "")

    @property
    def split(self) -> bool:
        return sum(not _is_projector(f.path) for f in self.files) > 1

    def to_json(self) -> dict[str, Any]:
        return {"file": self.name, "quant": self.quant, "size": self.size,
                "files": [f.path for f in self.files], "projector": self.projector or None}


@dataclass
class RepoDetail:
    repo: str
    sha: str
    card_data: dict[str, Any]
    tags: list[str]
    gated: bool
    license: LicenseVerdict
    choices: list[FileChoice]
    readme: str = ""
    downloads: int = 0
    likes: int = 0
    other_files: list[str] = field(default_factory=list)

    def choice(self, quant_or_file: str) -> FileChoice | None:
        key = quant_or_file.lower()
        for c in self.choices:
            if key in (c.name.lower(), c.name.rsplit("/", 1)[-1].lower()):
                return c
            if any(key == f.path.lower() for f in c.files):
                return c
        matches = [c for c in self.choices if c.quant.lower() == key]
        return matches[0] if matches else None

    def to_json(self) -> dict[str, Any]:
        return {"repo": self.repo, "sha": self.sha, "gated": self.gated, "tags": self.tags,
                "card_data": self.card_data, "license": self.license.to_json(),
                "downloads": self.downloads, "likes": self.likes,
                "files": [c.to_json() for c in self.choices]}


def _api(config: HubConfig) -> Any:
    from huggingface_hub import HfApi

    return HfApi(endpoint=config.endpoint, token=config.hf_token())


def _summary(m: Any, config: HubConfig) -> RepoSummary:
    tags = list(m.tags or [])
    card = m.card_data.to_dict() if getattr(m, "card_data", None) else {}
    last = m.last_modified.isoformat() if getattr(m, "last_modified", None) else ""
    return RepoSummary(repo=m.id, downloads=int(m.downloads or 0), likes=int(m.likes or 0),
                       trending=float(getattr(m, "trending_score", 0) or 0), last_modified=last,
                       tags=tags, gated=bool(getattr(m, "gated", False)),
                       license=verdict(card, tags, repo=m.id, endpoint=config.endpoint))


def search(config: HubConfig, query: str = "", *, sort: str = "downloads", limit: int = 20,
           page: int = 0) -> SearchPage:
    """One page of GGUF repos matching ``query``; the Hub pages with Link headers, which
    huggingface_hub follows, so page ``k`` asks for ``(k+1)*limit + 1`` results."""
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}")
    want = (page + 1) * limit + 1
    with hub_errors(config):
        found = list(islice(_api(config).list_models(
            filter="gguf", search=query or None, sort=SORTS[sort], limit=want,
            cardData=True), want))
        results = [_summary(m, config) for m in found[page * limit:(page + 1) * limit]]
    return SearchPage(results, page, has_more=len(found) == want)


def _is_projector(path: str) -> bool:
    return is_projector(PurePosixPath(path))


PROJECTOR_PREFERENCE = ("f16", "bf16", "q8_0", "f32")  # as llama.cpp's -hf picks: full detail


def best_projector(files: list[RemoteFile]) -> RemoteFile | None:
    """The repo's vision projector to fetch with a model: f16 first, then by precision."""
    found = [f for f in files if _is_projector(f.path)]

    def rank(f: RemoteFile) -> tuple[int, int, str]:
        name = f.path.lower()
        hits = [i for i, tag in enumerate(PROJECTOR_PREFERENCE)
                if name.endswith(f"-{tag}.gguf") or name.endswith(f"_{tag}.gguf")
                or name.endswith(f".{tag}.gguf")]
        return (hits[0] if hits else len(PROJECTOR_PREFERENCE), f.size, f.path)
    return min(found, key=rank) if found else None


def group_files(files: list[RemoteFile]) -> list[FileChoice]:
    """GGUF files grouped into choices; split shards folded into their first shard; the
    repo's vision projector goes with every choice (LM Studio fetches it the same way)."""
    singles: list[FileChoice] = []
    splits: dict[tuple[str, str], list[RemoteFile]] = {}
    projector = best_projector(files)
    for f in files:
        base = f.path.rsplit("/", 1)[-1]
        if not base.lower().endswith(".gguf") or _is_projector(base):
            continue
        m = SPLIT_RE.match(base)
        if m:
            folder = f.path[: -len(base)]
            splits.setdefault((folder + m.group("stem"), m.group("total")), []).append(f)
        else:
            singles.append(FileChoice(f.path, quant_from_name(base), [f]))
    for (_stem, _total), shards in splits.items():
        shards.sort(key=lambda s: s.path)
        singles.append(FileChoice(shards[0].path, quant_from_name(shards[0].path), shards))
    if projector is not None:
        singles = [FileChoice(c.name, c.quant, [*c.files, projector]) for c in singles]
    singles.sort(key=lambda c: (c.size, c.name))
    return singles


def repo_detail(config: HubConfig, repo: str, *, revision: str | None = None,
                with_readme: bool = True) -> RepoDetail:
    """Card data, license, gated flag and the GGUF choices of one repo."""
    with hub_errors(config, repo):
        info = _api(config).model_info(repo, revision=revision, files_metadata=True)
    files = [RemoteFile(s.rfilename, int(s.size or 0), s.lfs.sha256 if s.lfs else "")
             for s in info.siblings or []]
    card = info.card_data.to_dict() if info.card_data else {}
    tags = list(info.tags or [])
    detail = RepoDetail(
        repo=info.id, sha=info.sha or "", card_data=card, tags=tags,
        gated=bool(info.gated), license=verdict(card, tags, repo=info.id,
                                                endpoint=config.endpoint),
        choices=group_files(files), downloads=int(info.downloads or 0),
        likes=int(info.likes or 0),
        other_files=[f.path for f in files if not f.path.lower().endswith(".gguf")])
    if with_readme and "README.md" in detail.other_files:
        detail.readme = fetch_readme(config, repo, detail.sha or "main")
    return detail


def fetch_readme(config: HubConfig, repo: str, revision: str = "main") -> str:
    """The model card text; an empty string when it cannot be fetched (never fatal)."""
    from huggingface_hub import hf_hub_url

    url = hf_hub_url(repo, "README.md", revision=revision, endpoint=config.endpoint)
    try:
        with http_client(15) as client:
            r = client.get(url, headers=config.auth_for(url))
            r.raise_for_status()
    except (httpx.HTTPError, DownloadError) as exc:
        log.info("no model card for %s: %s", repo, type(exc).__name__)
        return ""
    return strip_front_matter(r.text)


def strip_front_matter(text: str) -> str:
    if text.startswith("---"):
        end = text.find("\n---", 3)
        if end != -1:
            return text[end + 4:].lstrip("\n")
    return text

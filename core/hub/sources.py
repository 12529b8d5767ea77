"""What a typed model reference points at, resolved before the first byte is written.

``https://…/model.gguf`` (with the siblings of a split model found by name),
``github:OWNER/REPO[@TAG][:QUANT]`` (a release's GGUF assets) and ``hf.co/USER/REPO[:QUANT]``
(the Hub, default quant Q4_K_M as ollama does) all become one :class:`Resolved`: file URLs,
sizes, the sha256 to check and *where it came from*, the license verdict and whether the
server can resume. Unsafe file names are refused here, so a refusal costs no write.
"""

from __future__ import annotations

import logging
import re
import urllib.parse
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from fireside.core.errors import FiresideError
from fireside.core.hub.common import HubConfig, UnsafeFilenameError, http_client
from fireside.core.hub.download import safe_relpath, validate_repo
from fireside.core.hub.github import GitHub, SourceUnreachableError, check_names, digest_hex
from fireside.core.hub.licenses import LicenseVerdict, verdict
from fireside.core.models.gguf_meta import SPLIT_RE

log = logging.getLogger("fireside.hub.sources")
DEFAULT_QUANT = "Q4_K_M"
_GITHUB_RE = re.compile(r"^github:(?P<owner>[^/@:\s]+)/(?P<repo>[^/@:\s]+)"
                        r"(?:@(?P<tag>[^:\s]+))?(?::(?P<quant>[^\s]+))?$")
_HF_RE = re.compile(r"^(?:https?://)?(?:hf\.co|huggingface\.co)/(?P<repo>[^/:\s]+/[^/:\s]+)"
                    r"(?::(?P<quant>[^\s/]+))?$")
_HEX_RE = re.compile(r"\b[0-9a-fA-F]{64}\b")
_SUMS_MAX = 1024 * 1024


@dataclass(frozen=True)
class SourceFile:
    name: str  # the file name it is saved under (one path segment, checked)
    url: str
    size: int
    sha256: str = ""  # "" when nothing published one


@dataclass
class Resolved:
    ref: str  # what was typed
    kind: str  # "url" | "github" | "hf"
    label: str  # one line for people: "github:owner/repo@v1 model.Q4_K_M.gguf"
    folder: str  # where it lives under the models folder: "url/HOST", "github/OWNER/REPO"
    files: list[SourceFile]
    check: str  # which sha256 applies, or why none: said in every note
    license: LicenseVerdict
    quant: str = "?"
    resumable: bool = True  # the server answered a Range request with 206
    api: str = ""  # a GitHub API base: the one host a GITHUB_TOKEN may go to
    repo: str = ""  # the Hub repo, for kind "hf"
    revision: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def verifiable(self) -> bool:
        return bool(self.files) and all(f.sha256 for f in self.files)

    def auth(self, env: dict[str, str] | None = None) -> HubConfig:
        """The config whose ``auth_for`` decides, per hop, who gets a token."""
        if self.kind == "github":
            gh = GitHub(env)
            return HubConfig(endpoint=self.api, token=gh.token if gh.api == self.api else None)
        return HubConfig(endpoint="", token=None)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["license"] = self.license.to_json()
        data["size"] = self.size
        return data

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Resolved:
        lic = raw["license"]
        return cls(raw["ref"], raw["kind"], raw["label"], raw["folder"],
                   [SourceFile(**f) for f in raw["files"]], raw["check"],
                   verdict({"license": lic.get("license_id", "")}),
                   raw.get("quant", "?"), bool(raw.get("resumable", True)),
                   raw.get("api", ""), raw.get("repo", ""), raw.get("revision", ""),
                   list(raw.get("notes", [])))


def is_reference(spec: str) -> bool:
    """A URL, ``github:`` or ``hf.co/`` reference (as opposed to a Hub ``owner/repo`` spec)."""
    return spec.startswith(("http://", "https://", "github:", "hf.co/", "huggingface.co/"))


def resolve(ref: str, *, sha256: str = "", env: dict[str, str] | None = None,
            hub: HubConfig | None = None) -> Resolved:
    """Resolve ``ref``; FiresideError for bad input, SourceUnreachableError when offline.

    ``hub`` is the Hub config (mirror, token) for ``hf.co/`` references."""
    ref = ref.strip()
    want = sha256.strip().lower()
    if want and not re.fullmatch(r"[0-9a-f]{64}", want):
        raise FiresideError(f"--sha256 must be 64 hex digits, got {sha256!r}")
    if m := _HF_RE.match(ref):
        return _resolve_hf(ref, m.group("repo"), m.group("quant") or "",
                           hub or HubConfig.from_settings(None, env), want)
    if m := _GITHUB_RE.match(ref):
        return _resolve_github(ref, m.group("owner"), m.group("repo"), m.group("tag") or "",
                               m.group("quant") or "", want, GitHub(env))
    if ref.startswith(("http://", "https://")):
        return _resolve_url(ref, want)
    raise FiresideError(f"not a model reference: {ref!r} (use https://…/FILE.gguf, "
                        "github:OWNER/REPO[@TAG][:QUANT] or hf.co/USER/REPO[:QUANT])")


def split_hf(ref: str) -> tuple[str, str] | None:
    """``hf.co/USER/REPO[:QUANT]`` → (repo, quant); None for any other reference."""
    m = _HF_RE.match(ref.strip())
    return (m.group("repo"), m.group("quant") or "") if m else None


def file_name(name: str) -> str:
    """A source's file name as one safe path segment, or a refusal (before any write)."""
    safe_relpath(name)
    if "/" in name:
        raise UnsafeFilenameError(f"refusing file name {name!r}: it contains a '/'")
    if not name.lower().endswith(".gguf"):
        raise FiresideError(f"{name!r} is not a .gguf file")
    return name


# -- a plain URL ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Probe:
    size: int
    resumable: bool
    etag: str


def probe(client: httpx.Client, url: str, auth: HubConfig) -> Probe:
    """Size and Range support from a one-byte ranged GET (its body is never read)."""
    shown = shown_url(url)
    try:
        with client.stream("GET", url, headers={**auth.auth_for(url), "Range": "bytes=0-0",
                                                "Accept-Encoding": "identity"}) as r:
            headers, status = r.headers, r.status_code
    except httpx.HTTPError as exc:
        raise SourceUnreachableError(f"cannot reach {shown} ({type(exc).__name__})") from None
    if status in (404, 410):
        raise FiresideError(f"nothing at {shown} (the server answered {status})")
    etag = (headers.get("x-linked-etag") or headers.get("etag") or "").strip('W/"')
    if status == 206:
        total = headers.get("content-range", "").rpartition("/")[2]
        return Probe(int(total) if total.isdigit() else 0, True, etag)
    if status == 200:
        return Probe(int(headers.get("content-length") or 0), False, etag)
    raise SourceUnreachableError(f"{shown} answered {status}")


def shown_url(url: str) -> str:
    """A URL without its query string (signed URLs carry credentials there): what is logged,
    shown and recorded as a model's source."""
    p = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((p.scheme, _host(p), p.path, "", ""))


def _host(p: urllib.parse.SplitResult) -> str:
    """``host[:port]`` without any ``user:password@``."""
    return (p.hostname or "") + (f":{p.port}" if p.port else "")


def _sibling(url: str, name: str) -> str:
    p = urllib.parse.urlsplit(url)
    folder = p.path.rsplit("/", 1)[0]
    return urllib.parse.urlunsplit((p.scheme, p.netloc, f"{folder}/{urllib.parse.quote(name)}",
                                    "", ""))


def _fetch_small(client: httpx.Client, url: str, auth: HubConfig) -> str:
    """A sidecar's text, or ``""``; never more than 1 MiB read (a server that answers every
    path with the model itself must not download it here)."""
    data = b""
    try:
        with client.stream("GET", url, headers=auth.auth_for(url)) as r:
            if r.status_code != 200:
                return ""
            for block in r.iter_bytes():
                data += block
                if len(data) > _SUMS_MAX:
                    return ""
    except httpx.HTTPError:
        return ""
    return data.decode("utf-8", "replace")


def sha_from_sums(text: str, name: str, *, single: bool = False) -> str:
    """The sha256 for ``name`` in a ``SHA256SUMS`` text (``HEX  name`` / ``HEX *name``);
    with ``single`` (a ``FILE.sha256`` sidecar) its first digest, whatever name follows."""
    for line in text.splitlines():
        parts = line.strip().split(None, 1)
        if not parts or not _HEX_RE.fullmatch(parts[0]):
            continue
        listed = parts[1].strip().lstrip("*").rsplit("/", 1)[-1] if len(parts) > 1 else ""
        if single or listed == name:
            return parts[0].lower()
    return ""


def _resolve_url(ref: str, want: str) -> Resolved:
    parts = urllib.parse.urlsplit(ref)
    name = urllib.parse.unquote(parts.path.rsplit("/", 1)[-1])
    file_name(name)
    names = [name]
    if m := SPLIT_RE.match(name):
        total = int(m.group("total"))
        names = [f"{m.group('stem')}-{i:05d}-of-{total:05d}.gguf" for i in range(1, total + 1)]
        names = [file_name(n) for n in names]
    _one_file_for(want, len(names))
    auth = HubConfig(endpoint="", token=None)
    files: list[SourceFile] = []
    checks: list[str] = []
    resumable = True
    sums: str | None = None
    with http_client() as client:
        for n in names:
            url = ref if n == name else _sibling(ref, n)
            got = probe(client, url, auth)
            resumable = resumable and got.resumable
            sha, how = (want, "--sha256") if want else ("", "")
            if not sha:
                sha = sha_from_sums(_fetch_small(client, _sibling(url, n + ".sha256"), auth),
                                    n, single=True)
                how = f"{n}.sha256 beside it" if sha else ""
            if not sha:
                if sums is None:
                    sums = _fetch_small(client, _sibling(url, "SHA256SUMS"), auth)
                sha = sha_from_sums(sums, n)
                how = "SHA256SUMS beside it" if sha else ""
            if not sha and re.fullmatch(r"[0-9a-f]{64}", got.etag):
                sha, how = got.etag, "the server's own sha256 (ETag)"
            files.append(SourceFile(n, url, got.size, sha))
            checks.append(how)
    host = re.sub(r"[^A-Za-z0-9.-]+", "_", _host(parts).lower()).strip("._") or "web"
    from fireside.core.hub.catalog import quant_from_name

    res = Resolved(ref, "url", f"{shown_url(ref)}", f"url/{host}", files,
                   _check_label(checks, len(files)), verdict(), quant_from_name(name),
                   resumable)
    if not resumable:
        res.notes.append("the server does not support Range requests: it downloads, but an "
                         "interrupted download starts over")
    return res


def _one_file_for(want: str, n: int) -> None:
    if want and n > 1:
        raise FiresideError(f"--sha256 names one file's digest, but this model has {n} parts "
                            "(their digests come from the source or a SHA256SUMS beside it)")


def _check_label(checks: list[str], n: int) -> str:
    used = [c for c in checks if c]
    if not used:
        return "none: no --sha256, no .sha256 or SHA256SUMS beside it, no digest from the source"
    kinds = sorted(set(used))
    label = "sha256 from " + ", ".join(kinds)
    return label if len(used) == n else f"{label} ({len(used)} of {n} files)"


# -- a GitHub release ----------------------------------------------------------------------
def _resolve_github(ref: str, owner: str, repo: str, tag: str, quant: str, want: str,
                    gh: GitHub) -> Resolved:
    from fireside.core.hub.catalog import RemoteFile, RepoDetail, group_files
    from fireside.core.hub.pull import pick

    check_names(owner, repo)
    release = gh.release(owner, repo, tag)
    tag = str(release.get("tag_name") or tag)
    assets = {str(a.get("name", "")): a for a in release["assets"] if isinstance(a, dict)}
    ggufs = [RemoteFile(n, int(a.get("size") or 0), digest_hex(a.get("digest")))
             for n, a in assets.items() if n.lower().endswith(".gguf")]
    where = f"github:{owner}/{repo}@{tag}"
    if not ggufs:
        listed = ", ".join(sorted(assets)[:8]) or "no assets"
        raise FiresideError(f"{where}: the release has no .gguf assets ({listed})")
    spdx = gh.license_id(owner, repo)
    lic = verdict({"license": spdx.lower()} if spdx else None)
    detail = RepoDetail(f"{owner}/{repo}", tag, {}, [], False, lic, group_files(ggufs))
    choice = pick(detail, quant)
    names = [file_name(f.path) for f in choice.files]  # refuse before any write
    _one_file_for(want, len(names))
    auth = gh.auth
    sums_asset = next((a for n, a in assets.items() if n.upper() in ("SHA256SUMS",
                                                                     "SHA256SUMS.TXT")), None)
    sums: str | None = None
    files: list[SourceFile] = []
    checks: list[str] = []
    with http_client() as client:
        for f, n in zip(choice.files, names, strict=True):
            url = str(assets[n].get("browser_download_url") or "")
            if not url.startswith(("http://", "https://")):
                raise FiresideError(f"{where}: asset {n!r} has no download URL")
            sha, how = (want, "--sha256") if want else ("", "")
            if not sha and f.sha256:
                sha, how = f.sha256, "the GitHub asset digest"
            if not sha and sums_asset is not None:
                if sums is None:
                    sums = _fetch_small(client, str(sums_asset.get("browser_download_url")),
                                        auth)
                sha = sha_from_sums(sums, n)
                how = "the release's SHA256SUMS" if sha else ""
            files.append(SourceFile(n, url, f.size, sha))
            checks.append(how)
        resumable = probe(client, files[0].url, auth).resumable
    res = Resolved(ref, "github", f"{where} {choice.name}", f"github/{owner}/{repo}", files,
                   _check_label(checks, len(files)), lic, choice.quant, resumable,
                   api=gh.api, revision=tag)
    if not spdx:
        res.notes.append(f"{owner}/{repo} states no license on GitHub")
    return res


# -- the Hub, ollama style -----------------------------------------------------------------
def _resolve_hf(ref: str, repo: str, quant: str, config: HubConfig, want: str) -> Resolved:
    from huggingface_hub import hf_hub_url

    from fireside.core.hub.catalog import repo_detail
    from fireside.core.hub.pull import pick

    validate_repo(repo)
    detail = repo_detail(config, repo, with_readme=False)
    if not quant and detail.choice(DEFAULT_QUANT) is not None:
        quant = DEFAULT_QUANT
    choice = pick(detail, quant)
    for f in choice.files:
        safe_relpath(f.path)
    _one_file_for(want, len(choice.files))
    files = [SourceFile(f.path, hf_hub_url(repo, f.path, revision=detail.sha or "main",
                                           endpoint=config.endpoint), f.size,
                        want or f.sha256)
             for f in choice.files]
    checks = ["--sha256" if want else "the Hub's LFS sha256" if f.sha256 else ""
              for f in files]
    res = Resolved(ref, "hf", f"hf.co/{repo} {choice.name}", f"hub/{repo}", files,
                   _check_label(checks, len(files)), detail.license, choice.quant, True,
                   repo=repo, revision=detail.sha)
    if detail.gated:
        res.notes.append("this repo is gated: accept its terms on the Hub and set a token")
    return res

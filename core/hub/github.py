"""GitHub's REST API for release assets and a repository's license, nothing more.

The base URL is ``FIRESIDE_GITHUB_API`` (default ``https://api.github.com``) so tests run
against a stand-in. ``GITHUB_TOKEN``, when set, goes to the API host only: the client sends it
on API calls, and downloads ask :meth:`GitHub.auth` per hop, which answers only for that host
(the asset's redirect to GitHub's objects host travels without it).
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

import httpx

from fireside.core.errors import DownloadError, FiresideError
from fireside.core.hub.common import HubConfig, http_client

log = logging.getLogger("fireside.hub.github")
DEFAULT_API = "https://api.github.com"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class SourceUnreachableError(DownloadError):
    """No answer from a model's source (offline, a wrong address): a runtime failure."""


class GitHub:
    def __init__(self, env: dict[str, str] | None = None) -> None:
        env = dict(os.environ) if env is None else env
        self.api = (env.get("FIRESIDE_GITHUB_API") or DEFAULT_API).rstrip("/")
        self.token = env.get("GITHUB_TOKEN") or None

    @property
    def auth(self) -> HubConfig:
        """Who may receive the token: the API's own scheme and host, never another."""
        return HubConfig(endpoint=self.api, token=self.token)

    def __repr__(self) -> str:  # the token never reaches a log line
        return f"GitHub(api={self.api!r}, token={'set' if self.token else None})"

    def _get(self, path: str, what: str) -> httpx.Response:
        url = f"{self.api}{path}"
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28",
                   **self.auth.auth_for(url)}
        try:
            with http_client() as client:
                return client.get(url, headers=headers)
        except httpx.HTTPError as exc:
            raise SourceUnreachableError(f"cannot reach GitHub at {self.api} "
                                         f"({type(exc).__name__}) while reading {what}") from None

    def release(self, owner: str, repo: str, tag: str = "") -> dict[str, Any]:
        """The release JSON: ``tag`` or, without one, the latest release."""
        check_names(owner, repo)
        path = f"/repos/{owner}/{repo}/releases/" + (f"tags/{tag}" if tag else "latest")
        what = f"github:{owner}/{repo}" + (f"@{tag}" if tag else " (latest release)")
        r = self._get(path, what)
        if r.status_code == 404:
            raise FiresideError(f"{what}: no such release or repository on GitHub")
        if r.status_code in (401, 403, 429):
            raise DownloadError(f"GitHub answered {r.status_code} for {what}"
                                + ("" if self.token else
                                   " (rate limited? set GITHUB_TOKEN for a higher limit)"))
        if r.status_code != 200:
            raise DownloadError(f"GitHub answered {r.status_code} for {what}")
        try:
            data = r.json()
        except ValueError:
            raise DownloadError(f"GitHub sent something that is not JSON for {what}") from None
        if not isinstance(data, dict) or not isinstance(data.get("assets"), list):
            raise DownloadError(f"GitHub's answer for {what} has no asset list")
        return data

    def license_id(self, owner: str, repo: str) -> str:
        """The repository license's SPDX id (``""`` when none is detected)."""
        r = self._get(f"/repos/{owner}/{repo}/license", f"the license of {owner}/{repo}")
        if r.status_code != 200:
            return ""
        try:
            lic = r.json().get("license") or {}
        except (ValueError, AttributeError):
            return ""
        spdx = str(lic.get("spdx_id") or "")
        if spdx in ("", "NOASSERTION"):
            return str(lic.get("key") or lic.get("name") or "other") if lic else ""
        return spdx


def check_names(owner: str, repo: str) -> None:
    for part in (owner, repo):
        if not _NAME_RE.match(part) or part in (".", ".."):
            raise FiresideError(f"not a GitHub repository: {owner}/{repo}")


def digest_hex(value: Any) -> str:
    """``sha256:HEX`` (what GitHub reports for release assets) → ``HEX``; else ``""``."""
    text = str(value or "").strip().lower()
    algo, _, hexd = text.partition(":")
    return hexd if algo == "sha256" and re.fullmatch(r"[0-9a-f]{64}", hexd) else ""

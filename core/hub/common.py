"""What every Hub call shares: which endpoint, which token, and errors people can act on.

The endpoint is read at call time — the ``hub.endpoint`` setting (a mirror) first, then
``HF_ENDPOINT`` — never from huggingface_hub's import-time constant, so changing the mirror in
Settings takes effect without a restart. The token is attached only to requests whose scheme
and host are the endpoint's (https, unless the endpoint is configured as http), at every
redirect hop, and it never appears in a log line or an error message.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from fireside.core.errors import DownloadError, FiresideError
from fireside.core.hub.licenses import gated_message
from fireside.core.settings import HubSettings

DEFAULT_ENDPOINT = "https://huggingface.co"
T = TypeVar("T")


class HubError(FiresideError):
    """The Hub answered, but not with what we asked for."""


class HubUnreachableError(HubError):
    """No answer from the Hub: offline, a wrong mirror, a firewall."""


class GatedRepoError(HubError):
    """The repo's terms must be accepted on the Hub and a token set."""


class UnsafeFilenameError(DownloadError):
    """A repo file name that would write outside the models folder."""


@dataclass(frozen=True)
class HubConfig:
    endpoint: str
    token: str | None

    @classmethod
    def from_settings(cls, hub: HubSettings | None = None,
                      env: dict[str, str] | None = None) -> HubConfig:
        env = dict(os.environ) if env is None else env
        endpoint = (hub.endpoint if hub and hub.endpoint else "") or env.get("HF_ENDPOINT", "")
        token = (hub.token if hub and hub.token else "") or env.get("HF_TOKEN", "")
        return cls(endpoint=(endpoint or DEFAULT_ENDPOINT).rstrip("/"), token=token or None)

    @property
    def host(self) -> str:
        return urllib.parse.urlsplit(self.endpoint).netloc.lower()

    @property
    def scheme(self) -> str:
        return urllib.parse.urlsplit(self.endpoint).scheme.lower()

    def auth_for(self, url: str) -> dict[str, str]:
        """The Authorization header, only for URLs on the Hub endpoint's own scheme and host.

        So the token travels over https only, unless the endpoint itself is configured as
        http (a local mirror, the test hub); never to http on an https Hub, never to a CDN.
        """
        parts = urllib.parse.urlsplit(url)
        if (self.token and parts.scheme.lower() == self.scheme
                and parts.netloc.lower() == self.host):
            return {"Authorization": f"Bearer {self.token}"}
        return {}

    def hf_token(self) -> str | bool:
        """Token for huggingface_hub calls: ours, or False so it never reads another."""
        return self.token or False

    def __repr__(self) -> str:  # keep the token out of reprs that end up in logs
        return f"HubConfig(endpoint={self.endpoint!r}, token={'set' if self.token else None})"


def _refuse_bad_redirect(response: httpx.Response) -> None:
    if response.has_redirect_location:
        from fireside.core.hub.transfer import follow

        follow(str(response.url), response.headers["location"])  # raises when refused


def http_client(timeout: float = 20.0) -> httpx.Client:
    """The httpx client for Hub metadata and header bytes: redirects are followed under the
    same rule as downloads (no other schemes, no https → http); httpx itself drops the
    Authorization header when a redirect leaves the origin."""
    return httpx.Client(timeout=timeout, follow_redirects=True,
                        event_hooks={"response": [_refuse_bad_redirect]})


_TOKEN_RE = re.compile(r"hf_[A-Za-z0-9_]{6,}")


def scrub(text: str, config: HubConfig | None = None) -> str:
    """Remove anything that looks like a token before text reaches a log or a person."""
    if config and config.token:
        text = text.replace(config.token, "***")
    return _TOKEN_RE.sub("hf_***", text)


def translate(exc: BaseException, config: HubConfig, repo: str = "") -> FiresideError:
    """One clear line for any failure talking to the Hub."""
    from huggingface_hub import errors as hf_errors

    if isinstance(exc, FiresideError):
        return exc
    if isinstance(exc, hf_errors.GatedRepoError):
        return GatedRepoError(gated_message(repo or "this repo", config.endpoint))
    if isinstance(exc, hf_errors.RepositoryNotFoundError):
        return HubError(f"no repo {repo!r} on {config.endpoint} (or it is private)")
    if isinstance(exc, hf_errors.RevisionNotFoundError):
        return HubError(f"{repo}: revision not found")
    if isinstance(exc, hf_errors.EntryNotFoundError):
        return HubError(f"{repo}: no such file in the repo")
    if isinstance(exc, httpx.TransportError | ConnectionError | TimeoutError) or (
            isinstance(exc, OSError) and not isinstance(exc, hf_errors.HfHubHTTPError)):
        return HubUnreachableError(
            f"cannot reach the Hub at {config.endpoint} ({type(exc).__name__}); check the "
            "network or the mirror setting — local models keep working")
    if isinstance(exc, hf_errors.HfHubHTTPError):
        status = exc.response.status_code if exc.response is not None else "?"
        return HubError(f"the Hub answered {status} for {repo or config.endpoint}")
    return HubError(scrub(f"Hub request failed: {exc}", config))


@contextmanager
def hub_errors(config: HubConfig, repo: str = "") -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        raise translate(exc, config, repo) from None


def call(fn: Callable[..., T], config: HubConfig, repo: str = "", *args: Any,
         **kwargs: Any) -> T:
    with hub_errors(config, repo):
        return fn(*args, **kwargs)

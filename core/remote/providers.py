"""Providers: a name, a base URL, options, and a key kept in the secret store.

``providers.json`` in the config dir holds everything but the keys (written whole-or-nothing
under the shared file lock, like ``settings.json``); each key lives in
:class:`~fireside.core.secrets.SecretStore` (the OS keyring, else a 0600 file) under
``provider.<name>.api_key``. A remote model is named ``PROVIDER:MODEL_ID``; model ids may
contain ``/`` and ``:``, so only the first ``:`` separates.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fireside.core.atomic import locked, write_json_atomic
from fireside.core.errors import FiresideError
from fireside.core.secrets import SecretStore

log = logging.getLogger("fireside.remote")
FILE_NAME = "providers.json"
CUSTOM = "custom"
# Ready base URLs. ``FIRESIDE_PRESET_URL_<PRESET>`` overrides one (tests point them at a
# stand-in on loopback; a company proxy in front of a provider works the same way).
PRESETS: dict[str, tuple[str, str]] = {
    "groq": ("Groq", "https://api.groq.com/openai/v1"),
    "openrouter": ("OpenRouter", "https://openrouter.ai/api/v1"),
    "openai": ("OpenAI", "https://api.openai.com/v1"),
    "together": ("Together", "https://api.together.xyz/v1"),
    "mistral": ("Mistral", "https://api.mistral.ai/v1"),
    CUSTOM: ("OpenAI-compatible (custom): vLLM, llama-server, LM Studio, Ollama, Fireside", ""),
}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")
# Prefixes `fireside run` and `pull` already give a meaning (github:OWNER/REPO, URLs…).
RESERVED = {"github", "hf", "hf.co", "http", "https", "file"}


def preset_url(preset: str, env: dict[str, str] | None = None) -> str:
    override = (os.environ if env is None else env).get(f"FIRESIDE_PRESET_URL_{preset.upper()}", "")
    return override or PRESETS.get(preset, ("", ""))[1]


def check_name(name: str) -> str:
    if name in RESERVED:
        raise FiresideError(f"{name!r} already means something in a model name ({name}:…); "
                            "choose another provider name")
    if not _NAME.match(name):
        raise FiresideError(f"{name!r} is not a usable provider name: use lower-case letters, "
                            "digits, '-', '_' or '.', up to 40 (it becomes the NAME in NAME:MODEL)")
    return name


def check_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if not re.match(r"^https?://[^/\s]+", url):
        raise FiresideError(f"{url!r} is not a base URL: it should look like "
                            "https://api.example.com/v1 or http://192.168.1.20:8080/v1")
    return url


@dataclass
class Provider:
    name: str
    base_url: str
    preset: str = CUSTOM
    headers: dict[str, str] = field(default_factory=dict)  # extra headers on every request
    model_filter: str = ""  # glob(s), comma-separated: only matching model ids are offered
    enabled: bool = True

    @property
    def label(self) -> str:
        return PRESETS.get(self.preset, (self.name, ""))[0] if self.preset != CUSTOM \
            else self.name

    def wants(self, model_id: str) -> bool:
        patterns = [p.strip() for p in self.model_filter.split(",") if p.strip()]
        return not patterns or any(fnmatch.fnmatchcase(model_id, p) for p in patterns)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Provider:
        headers = raw.get("headers") if isinstance(raw.get("headers"), dict) else {}
        return cls(name=str(raw["name"]), base_url=str(raw["base_url"]),
                   preset=str(raw.get("preset") or CUSTOM),
                   headers={str(k): str(v) for k, v in (headers or {}).items()},
                   model_filter=str(raw.get("model_filter") or ""),
                   enabled=bool(raw.get("enabled", True)))


def split_ref(ref: str) -> tuple[str, str] | None:
    """``("groq", "llama-3.1-8b-instant")`` for ``groq:llama-3.1-8b-instant``, else None."""
    name, sep, model_id = ref.partition(":")
    if not sep or not model_id or not _NAME.match(name):
        return None
    return name, model_id


class ProviderStore:
    """The configured providers and their keys; safe across threads and processes."""

    def __init__(self, config_dir: Path, secrets: SecretStore) -> None:
        self.file = config_dir / FILE_NAME
        self.secrets = secrets

    @staticmethod
    def key_name(name: str) -> str:
        return f"provider.{name}.api_key"

    def list(self) -> list[Provider]:
        try:
            raw = json.loads(self.file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            log.warning("%s unreadable (%s); no providers", self.file, type(exc).__name__)
            return []
        out: list[Provider] = []
        for item in raw.get("providers", []) if isinstance(raw, dict) else []:
            try:
                out.append(Provider.from_json(item))
            except (KeyError, TypeError, AttributeError):
                log.warning("a malformed provider entry in %s was skipped", self.file)
        return out

    def get(self, name: str) -> Provider:
        for p in self.list():
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.list()) or "none yet"
        raise FiresideError(f"no provider named {name!r} (configured: {known}); "
                            "add one with `fireside provider add`")

    def find(self, name: str) -> Provider | None:
        return next((p for p in self.list() if p.name == name), None)

    def save(self, provider: Provider, api_key: str | None = None) -> None:
        """Add or replace ``provider``; ``api_key`` None leaves its key as it is."""
        check_name(provider.name)
        provider.base_url = check_url(provider.base_url)
        if api_key is not None:  # first: a rewritten file tells the gateway to read keys again
            self.secrets.set(self.key_name(provider.name), api_key.strip())
        with locked(self.file):
            providers = [p for p in self.list() if p.name != provider.name]
            providers.append(provider)
            providers.sort(key=lambda p: p.name)
            write_json_atomic(self.file, {"providers": [p.to_json() for p in providers]})

    def remove(self, name: str) -> None:
        self.get(name)
        with locked(self.file):
            providers = [p for p in self.list() if p.name != name]
            write_json_atomic(self.file, {"providers": [p.to_json() for p in providers]})
        self.secrets.set(self.key_name(name), "")

    def api_key(self, name: str) -> str:
        return self.secrets.get(self.key_name(name))

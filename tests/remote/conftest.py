"""Remote-provider fixtures: the stand-in provider on loopback and a Remote pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from remote_provider import GRANTED_KEY, Faults, Provider

from fireside.core import context
from fireside.core.remote.providers import Provider as ProviderConfig
from fireside.core.remote.service import Remote


@pytest.fixture
def standin() -> Iterator[Provider]:
    provider = Provider(Faults()).start()
    yield provider
    provider.stop()


@pytest.fixture
def ctx() -> context.AppContext:
    return context.build()


@pytest.fixture
def remote(ctx: context.AppContext, standin: Provider) -> Remote:
    """``groq`` configured against the stand-in with the key it grants; short timeouts."""
    r = Remote(ctx.paths.config, ctx.paths.cache, ctx.settings.secrets, connect_timeout=2.0,
               read_timeout=1.0)
    r.store.save(ProviderConfig("groq", standin.base_url, "groq", {"X-Title": "Fireside"}),
                 GRANTED_KEY)
    return r


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def second_fireside(starter_file: Path, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Another `fireside serve` (its own home, the starter model, a key), as a remote would be:
    yields its base URL and key."""
    import os
    import subprocess
    import sys
    import time

    import httpx

    port, key = free_port(), "lan-key-5f3a9c1e"
    env = {**os.environ, "FIRESIDE_HOME": str(tmp_path / "other-home"), "FIRESIDE_API_KEY": key}
    proc = subprocess.Popen([sys.executable, "-m", "fireside", "serve", "--model",
                             str(starter_file), "--port", str(port), "--ctx", "1024"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        yield base + "/v1", key
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

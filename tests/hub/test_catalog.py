"""Search, sort, paging and repo detail against the local hub server."""

from __future__ import annotations

import pytest
from hub_server import HubServer

from fireside.core.hub.catalog import (
    RemoteFile,
    group_files,
    quant_from_name,
    repo_detail,
    search,
)
from fireside.core.hub.common import HubConfig
from fireside.core.settings import HubSettings


def test_search_sorts_by_downloads_and_likes(config: HubConfig) -> None:
    page = search(config, "tiny", sort="downloads", limit=10)
    downloads = [r.downloads for r in page.results]
    assert downloads == sorted(downloads, reverse=True)
    assert page.results[0].repo == "fireside-test/Tiny-Llama-GGUF"
    assert all("tiny" in r.repo.lower() for r in page.results)
    by_likes = search(config, "tiny", sort="likes", limit=3)
    assert [r.repo for r in by_likes.results][0] == "fireside-test/Tiny-Llama-GGUF"
    likes = [r.likes for r in by_likes.results]
    assert likes == sorted(likes, reverse=True)


def test_paging_follows_link_headers(config: HubConfig, hub: HubServer) -> None:
    # the server pages at 3 results; a page of 5 needs its Link header followed
    first = search(config, "", sort="downloads", limit=5, page=0)
    second = search(config, "", sort="downloads", limit=5, page=1)
    assert len(first.results) == 5 and first.has_more
    assert not {r.repo for r in first.results} & {r.repo for r in second.results}
    assert any("cursor" in r.query for r in hub.requests if r.path == "/api/models")
    last = search(config, "filler", sort="updated", limit=5, page=1)
    assert not last.has_more
    updated = [r.last_modified for r in search(config, "filler", sort="updated",
                                                 limit=8).results]
    assert updated == sorted(updated, reverse=True)


def test_mirror_setting_wins_over_env(hub: HubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    config = HubConfig.from_settings(HubSettings(endpoint=hub.url + "/"))
    assert config.endpoint == hub.url
    assert search(config, "mit", limit=2).results[0].repo == "fireside-test/Tiny-MIT-GGUF"


def test_repo_detail_groups_quants_and_split_files(config: HubConfig) -> None:
    d = repo_detail(config, "fireside-test/Tiny-Llama-GGUF")
    quants = {c.quant for c in d.choices}
    assert quants == {"Q2_K", "Q4_K_M", "Q8_0", "IQ4_XS", "F16"}
    split = d.choice("F16")
    assert split is not None and split.split and len(split.files) == 2
    assert split.size == sum(f.size for f in split.files)
    assert all(len(f.sha256) == 64 for c in d.choices for f in c.files)
    assert "Tiny Llama" in d.readme and not d.readme.startswith("---")
    assert d.license.klass.value == "conditions"
    assert d.choice("tiny-llama-Q8_0.gguf") is d.choice("q8_0")


def test_quant_names() -> None:
    cases = {"model.Q4_K_M.gguf": "Q4_K_M", "Llama-3-8B-IQ3_XXS.gguf": "IQ3_XXS",
             "x-f16.gguf": "F16", "x.BF16-00001-of-00002.gguf": "BF16", "m-Q8_0.gguf": "Q8_0",
             "m.Q2_K.gguf": "Q2_K", "plain.gguf": "?", "m-IQ4_NL.gguf": "IQ4_NL"}
    assert {k: quant_from_name(k) for k in cases} == cases


def test_group_files_ignores_non_gguf() -> None:
    files = [RemoteFile("README.md", 10, ""), RemoteFile("a-Q4_0.gguf", 5, "x"),
             RemoteFile("b/m-Q8_0-00002-of-00002.gguf", 7, "y"),
             RemoteFile("b/m-Q8_0-00001-of-00002.gguf", 9, "z")]
    choices = group_files(files)
    assert [c.name for c in choices] == ["a-Q4_0.gguf", "b/m-Q8_0-00001-of-00002.gguf"]
    assert choices[1].size == 16

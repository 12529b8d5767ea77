"""``/v1/rerank`` on a reranking model (a synthetic llama file with RANK pooling: random
weights, so the scores are noise, but llama.cpp computes them through the same ranking path),
and a clear 501 from a model that cannot rerank."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from gguf import GGUFValueType
from hardware.synthetic import write

from fireside.core.inference.engine import Engine
from fireside.core.inference.types import LoadSettings, SamplingParams
from fireside.core.server.runner import ServerRunner

from .conftest import MakeServer

DOCS = ["A machine is a physical system.", "Learning is acquiring knowledge.",
        "Machine learning is a field of study.", "Paris est une grande ville."]


@pytest.fixture(scope="module")
def reranker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path = write(tmp_path_factory.mktemp("rerank") / "reranker.gguf", "llama", blocks=2,
                 extra={"llama.pooling_type": (4, GGUFValueType.UINT32, None)})
    eng = Engine()
    eng.load(path, LoadSettings(n_ctx=512, parallel=1))
    yield eng
    eng.unload()


@pytest.fixture
def rerank_server(reranker: Engine, make_server: MakeServer) -> ServerRunner:
    return make_server(reranker)


def _root(runner: ServerRunner) -> str:
    return runner.base_url.removesuffix("/v1")


def test_documents_come_back_ranked_with_usage(rerank_server: ServerRunner,
                                               reranker: Engine) -> None:
    r = httpx.post(_root(rerank_server) + "/rerank",
                   json={"query": "Machine learning is", "documents": DOCS}, timeout=60)
    assert r.status_code == 200, r.text
    body = r.json()
    scores = [item["relevance_score"] for item in body["results"]]
    assert sorted(item["index"] for item in body["results"]) == [0, 1, 2, 3]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == 4
    assert body["usage"]["prompt_tokens"] == body["usage"]["total_tokens"] > 4 * 4
    # the same pair scores the same alone (each pair is read in a fresh cache)
    alone, _ = reranker.rerank("Machine learning is", [DOCS[2]])
    assert alone[0] == pytest.approx(next(i["relevance_score"] for i in body["results"]
                                          if i["index"] == 2), rel=1e-4)
    top = httpx.post(_root(rerank_server) + "/v1/rerank",
                     json={"query": "Machine learning is", "documents": DOCS, "top_n": 2})
    assert [i["index"] for i in top.json()["results"]] == [i["index"]
                                                           for i in body["results"][:2]]
    tei = httpx.post(_root(rerank_server) + "/reranking",
                     json={"query": "Machine learning is", "texts": DOCS, "return_text": True})
    assert isinstance(tei.json(), list) and {"index", "score", "text"} <= set(tei.json()[0])


@pytest.mark.parametrize("documents", [[], None, 123, [1, 2, 3]])
def test_bad_documents_are_400(rerank_server: ServerRunner, documents: object) -> None:
    r = httpx.post(rerank_server.base_url + "/rerank",
                   json={"query": "Machine learning is", "documents": documents})
    assert r.status_code == 400 and "documents" in r.json()["error"]["message"]


def test_a_chat_model_cannot_rerank_and_says_so(server: ServerRunner, engine: Engine) -> None:
    r = httpx.post(server.base_url + "/rerank", json={"query": "q", "documents": ["d"]})
    assert r.status_code == 501, r.text
    assert "cannot rerank" in r.json()["error"]["message"]
    # the chat model still answers afterwards (embeddings mode was left)
    assert engine.complete("The sky is", SamplingParams(max_tokens=3)).stats.completion_tokens > 0


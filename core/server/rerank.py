"""``POST /v1/rerank`` (and ``/rerank``, ``/v1/reranking``, ``/reranking``), as llama-server
answers it: Jina's shape (``documents`` → ``results`` with ``relevance_score``, most relevant
first, ``top_n``, usage) or, when the body sends ``texts``, Hugging Face TEI's (a bare list
with ``score``, ``return_text``). Only a reranking model can answer; another model gets 501 with
the reason, as llama-server started without ``--reranking`` does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from fireside.core.inference.rerank import CannotRerankError
from fireside.core.server import params as P
from fireside.core.server.jobs import as_api_error
from fireside.core.server.params import ApiError, bad

if TYPE_CHECKING:
    from fireside.core.server.app import ServerState

Admit = Callable[[Request, dict[str, Any]], Awaitable[tuple[dict[str, Any], str]]]
MAX_DOCUMENTS = 1000
PATHS = ("/v1/rerank", "/rerank", "/v1/reranking", "/reranking")


def _documents(body: dict[str, Any]) -> tuple[list[str], bool]:
    tei = "texts" in body
    docs = body.get("texts" if tei else "documents")
    if not isinstance(docs, list) or not docs or not all(isinstance(d, str) for d in docs):
        raise bad("texts" if tei else "documents",
                  f"'{'texts' if tei else 'documents'}' must be a non-empty list of strings")
    if len(docs) > MAX_DOCUMENTS:
        raise bad("documents", f"at most {MAX_DOCUMENTS} documents per request")
    return docs, tei


def _top_n(body: dict[str, Any], count: int) -> int:
    top_n = body.get("top_n")
    if top_n is None:
        return count
    if not isinstance(top_n, int) or isinstance(top_n, bool) or top_n < 0:
        raise bad("top_n", "'top_n' must be a whole number, 0 or more")
    return min(top_n, count)


def answer(body: dict[str, Any], name: str, docs: list[str], tei: bool, top_n: int,
           scores: list[float], tokens: int) -> Any:
    """The response body: most relevant first, ``top_n`` of them."""
    label = "score" if tei else "relevance_score"
    ranked = sorted(range(len(docs)), key=lambda i: scores[i], reverse=True)
    results: list[dict[str, Any]] = []
    for i in ranked[:top_n]:
        item: dict[str, Any] = {"index": i, label: scores[i]}
        if tei and body.get("return_text"):
            item["text"] = docs[i]
        results.append(item)
    if tei:
        return results
    return {"model": name, "object": "list", "results": results,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def register(app: FastAPI, state: ServerState, loop_run: Callable[..., Awaitable[Any]],
             admit: Admit) -> None:
    async def rerank(request: Request) -> Response:
        body = P.parse_json(await request.body())
        query = body.get("query")
        if not isinstance(query, str):
            raise bad("query", "'query' must be a string")
        docs, tei = _documents(body)
        top_n = _top_n(body, len(docs))  # a bad top_n is refused before any work
        info, name = await admit(request, body)
        try:
            scores, tokens = await loop_run(state.engine.rerank, query, docs)
        except CannotRerankError as exc:
            raise ApiError(501, str(exc), "not_supported_error", "model",
                           "reranking_not_supported") from None
        except Exception as exc:
            raise as_api_error(exc) from exc
        finally:
            state.models.end()
        info["tokens"] = tokens
        return JSONResponse(answer(body, name, docs, tei, top_n, scores, tokens))

    for path in PATHS:
        app.add_api_route(path, rerank, methods=["POST"])

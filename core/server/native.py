"""llama-server's native ``/completion``: its request fields and its answer's shape.

Clients written for llama-server (and its own test suite) read more than the text: token ids
in every stream chunk, ``completion_probabilities`` (``n_probs``, one token per chunk when
streamed), ``generation_settings``, ``timings`` with ``cache_n``, ``has_new_line``,
``prompt_progress`` (``return_progress``), ``response_fields`` to keep only some fields, and
several prompts in one request (a list of answers). Shapes follow llama-server's README.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fireside.core.inference.probs import MAX_TOP
from fireside.core.inference.types import Completion, SamplingParams
from fireside.core.server import params as P
from fireside.core.server import prob_format
from fireside.core.server.openai_format import llama_timings, note_usage
from fireside.core.server.params import bad

if TYPE_CHECKING:
    from fireside.core.inference.handle import Handle, Update

Prompt = str | list[int]


@dataclass
class Options:
    """What a native request asks of the answer's shape (not of the sampling)."""

    n_probs: int = 0
    post_sampling: bool = False
    return_tokens: bool = False
    return_progress: bool = False
    timings_per_token: bool = False
    response_fields: list[str] = field(default_factory=list)


def options(body: dict[str, Any]) -> Options:
    n_probs = body.get("n_probs") or 0
    if isinstance(n_probs, bool) or not isinstance(n_probs, int) or not 0 <= n_probs <= MAX_TOP:
        raise bad("n_probs", f"'n_probs' must be an integer from 0 to {MAX_TOP}")
    fields = body.get("response_fields") or []
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise bad("response_fields", "'response_fields' must be a list of field paths")
    return Options(n_probs, P.flag(body, "post_sampling_probs"), P.flag(body, "return_tokens"),
                   P.flag(body, "return_progress"), P.flag(body, "timings_per_token"), fields)


def sampling_body(body: dict[str, Any]) -> dict[str, Any]:
    """llama-server's field names in the OpenAI shape that params.sampling reads."""
    n_predict = body.get("n_predict", body.get("max_tokens"))
    if n_predict is not None and (not isinstance(n_predict, int) or isinstance(n_predict, bool)):
        raise bad("n_predict", "'n_predict' must be an integer")
    openai_like: dict[str, Any] = {k: body[k] for k in ("temperature", "top_p", "top_k", "min_p",
                                        "repeat_penalty", "presence_penalty",
                                        "frequency_penalty", "seed", "stop", "logit_bias")
                                  if k in body}
    if isinstance(openai_like.get("seed"), int) and openai_like["seed"] < 0:
        del openai_like["seed"]  # llama-server's -1: a random seed
    if n_predict is not None and n_predict >= 0:
        openai_like["max_tokens"] = max(n_predict, 1)
    return openai_like


def _one_prompt(value: Any) -> Prompt:
    if isinstance(value, dict):
        if value.get("multimodal_data"):
            raise bad("prompt", "this model has no vision or audio projector: multimodal "
                      "prompts cannot be read")
        value = value.get("prompt_string")
    return P.prompt({"prompt": value})


def prompts(body: dict[str, Any]) -> list[Prompt]:
    """One or several prompts: text, token ids, ``{"prompt_string": …}``, or a list of those
    (a list of ids alone is one prompt)."""
    value = body.get("prompt", body.get("content"))
    if isinstance(value, list) and value and all(isinstance(v, list | str | dict)
                                                 for v in value):
        if len(value) > P.MAX_PROMPTS:
            raise bad("prompt", f"at most {P.MAX_PROMPTS} prompts per request")
        return [_one_prompt(v) for v in value]
    return [_one_prompt(value)]


def _settings(p: SamplingParams, opts: Options) -> dict[str, Any]:
    return {"n_predict": p.max_tokens or -1, "seed": p.seed if p.seed is not None else -1,
            "temperature": p.temperature, "top_k": p.top_k, "top_p": p.top_p, "min_p": p.min_p,
            "repeat_penalty": p.repeat_penalty, "presence_penalty": p.presence_penalty,
            "frequency_penalty": p.frequency_penalty, "stop": p.stop,
            "n_probs": opts.n_probs, "post_sampling_probs": opts.post_sampling,
            "logit_bias": [[k, v] for k, v in p.logit_bias.items()]}


def _pick(body: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """llama-server's response_fields: each path ("a/b") found, under the path as its key."""
    out: dict[str, Any] = {}
    for path in paths:
        node: Any = body
        for part in path.split("/"):
            if not isinstance(node, dict) or part not in node:
                break
            node = node[part]
        else:
            out[path] = node
    return out


class NativeFormat:
    """``/completion`` bodies and stream events (``{"content", "stop"}``, no ``[DONE]``)."""

    DONE = ""

    def __init__(self, model: str, params: SamplingParams, opts: Options, prompt: Prompt,
                 info: dict[str, Any]) -> None:
        self.model = model
        self.params = params
        self.opts = opts
        self.prompt = prompt
        self.info = info
        self.index = 0  # which of several prompts (see choices.py)
        self.progress = opts.return_progress  # prompt progress is news (jobs.Job)
        self._handle: Handle | None = None

    def attach(self, handle: Handle) -> None:
        self._handle = handle

    def body(self, completion: Completion) -> dict[str, Any]:
        note_usage(self.info, completion)
        stats = completion.stats
        stops = self.params.stop
        word = next((s for s in stops if completion.finish_reason == "stop" and s
                     and completion.stop_sequence == s), "")
        limit = completion.finish_reason == "length"
        out: dict[str, Any] = {
            "index": self.index, "content": completion.text,
            "tokens": completion.tokens if self.opts.return_tokens else [],
            "id_slot": -1, "stop": True, "model": self.model,
            "tokens_predicted": stats.completion_tokens, "tokens_evaluated": stats.prompt_tokens,
            "generation_settings": _settings(self.params, self.opts),
            "prompt": self.prompt if isinstance(self.prompt, str) else completion.prompt,
            "has_new_line": "\n" in completion.text,
            "truncated": False,
            "stop_type": "limit" if limit else "word" if word else "eos",
            "stopped_eos": not limit and not word, "stopped_limit": limit,
            "stopped_word": bool(word), "stopping_word": word,
            "tokens_cached": stats.prompt_tokens - stats.prefill_tokens,
            "timings": llama_timings(completion.stats)}
        if self.opts.n_probs:
            out["completion_probabilities"] = prob_format.native(completion.probs,
                                                                 self.opts.post_sampling)
        return _pick(out, self.opts.response_fields) if self.opts.response_fields else out

    def _event(self, text: str, tokens: list[int], extra: dict[str, Any]) -> str:
        data = {"index": self.index, "content": text, "tokens": tokens, "stop": False,
                "id_slot": -1, **extra}
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    def chunk(self, news: Update) -> str:
        extra: dict[str, Any] = {}
        if self.opts.return_progress and news.progress is not None:
            done, total = news.progress
            cached = self._handle.cached_tokens if self._handle is not None else 0
            extra["prompt_progress"] = {"total": total, "cache": cached, "processed": done}
        probs = news.probs if self.opts.n_probs else []
        if probs and len(probs) == len(news.tokens) \
                and "".join(p.chosen.text for p in probs) == news.text:
            # one event per token, as llama-server streams probabilities
            return "".join(self._event(p.chosen.text, [t], {
                **(extra if i == 0 else {}),
                "completion_probabilities": prob_format.native([p], self.opts.post_sampling)})
                for i, (p, t) in enumerate(zip(probs, news.tokens, strict=True)))
        if self.opts.timings_per_token and self._handle is not None:
            extra["timings"] = llama_timings(self._handle.stats_so_far())
        if probs:
            extra["completion_probabilities"] = prob_format.native(probs,
                                                                   self.opts.post_sampling)
        return self._event(news.text, news.tokens, extra)

    def final(self, completion: Completion) -> list[str]:
        body = {**self.body(completion), "content": ""}
        body.pop("completion_probabilities", None)  # each was sent with its token
        return [f"data: {json.dumps(body, ensure_ascii=False)}\n\n"]

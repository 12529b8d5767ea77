"""OpenAI request fields → engine arguments, with 400s that name the offending parameter.

Parsing by hand (not pydantic models) keeps the error messages in OpenAI's shape and lets
unknown fields through, as OpenAI's own server does.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fireside.core.inference.media import MAX_IMAGES
from fireside.core.inference.probs import MAX_TOP
from fireside.core.inference.types import SamplingParams


class ApiError(Exception):
    """An HTTP error the API answers in OpenAI's JSON shape."""

    def __init__(self, status: int, message: str, err_type: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None, *,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.headers = headers
        self.status = status
        self.message = message
        self.err_type = err_type
        self.param = param
        self.code = code

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.err_type, "param": self.param,
                          "code": self.code}}


def bad(param: str, message: str) -> ApiError:
    return ApiError(400, message, param=param, code="invalid_value")


# Deeper than any real request (a JSON schema included); every later walk stays far from
# Python's recursion limit, which 10,000-deep nesting used to hit (a 500).
MAX_DEPTH = 64
INT_MAX = 2**31 - 1  # llama.cpp takes counts as C ints
MAX_EMBEDDING_INPUTS = 2048  # OpenAI's own limit per request
_SURROGATE = re.compile("[\ud800-\udfff]")


def parse_json(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, refused with a 400 unless every later step can handle it."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        reason = "it is nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ApiError(400, f"We could not parse the JSON body of your request: {reason}",
                       code="invalid_json") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.", code="invalid_json")
    _check_tree(body)
    # Clients that serialise unset fields as null ("tool_choice": null, "stream": null) mean
    # "not set", as OpenAI reads them.
    return {key: value for key, value in body.items() if value is not None}


def _check_tree(body: dict[str, Any]) -> None:
    """No nesting beyond MAX_DEPTH, no lone UTF-16 surrogate (``"\\ud800"``) in any string.

    A lone surrogate is valid JSON but not text: it cannot be encoded to UTF-8 for the
    tokenizer, and used to fail deep in the engine.
    """
    stack: list[tuple[Any, int]] = [(body, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                raise ApiError(400, "The request contains a lone UTF-16 surrogate, which is not "
                               "valid Unicode text.", code="invalid_json")
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_DEPTH:
            raise ApiError(400, f"The JSON body is nested more than {MAX_DEPTH} levels deep.",
                           code="invalid_json")
        items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
        stack.extend((item, depth + 1) for item in items)


def _number(body: dict[str, Any], name: str, lo: float, hi: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad(name, f"'{name}' must be a number")
    if not lo <= value <= hi:
        raise bad(name, f"'{name}' must be between {lo:g} and {hi:g}; got {value}")
    return float(value)


def _integer(body: dict[str, Any], name: str, lo: int, hi: int = INT_MAX) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad(name, f"'{name}' must be an integer")
    if not lo <= value <= hi:
        raise bad(name, f"'{name}' must be between {lo} and {hi}; got {value}")
    return value


def sampling(body: dict[str, Any]) -> SamplingParams:
    """Sampling settings with OpenAI's semantics (no hidden repeat penalty unless asked)."""
    params = SamplingParams(repeat_penalty=1.0, max_tokens=None)
    temperature = _number(body, "temperature", 0, 2)
    if temperature is not None:
        params.temperature = temperature
    top_p = _number(body, "top_p", 0, 1)
    if top_p is not None:
        params.top_p = top_p
    for name in ("presence_penalty", "frequency_penalty"):
        value = _number(body, name, -2, 2)
        if value is not None:
            setattr(params, name, value)
    # llama-server extensions, accepted so clients written for it keep working
    top_k = _integer(body, "top_k", 0)
    if top_k is not None:
        params.top_k = top_k
    min_p = _number(body, "min_p", 0, 1)
    if min_p is not None:
        params.min_p = min_p
    repeat = _number(body, "repeat_penalty", 0, 10)
    if repeat is not None:
        params.repeat_penalty = repeat
    max_tokens = _integer(body, "max_completion_tokens", 1)
    if max_tokens is None:
        max_tokens = _integer(body, "max_tokens", 1)
    params.max_tokens = max_tokens
    seed = _integer(body, "seed", -(2**63), 2**64 - 1)
    if seed is not None:
        params.seed = seed & 0xFFFFFFFF
    params.stop = _stop(body.get("stop"))
    params.logit_bias = _logit_bias(body.get("logit_bias"))
    params.logprobs = logprobs(body)
    return params


# n: parallel sequences of one batch (the engine runs 8 at once by default, 4 for a
# sliding-window model)
MAX_CHOICES = 8


def choices(body: dict[str, Any]) -> int:
    """OpenAI's ``n``: how many answers to the one prompt."""
    n = _integer(body, "n", 1, MAX_CHOICES)
    return 1 if n is None else n


def logprobs(body: dict[str, Any]) -> int | None:
    """How many alternatives per token to report, or None for no probabilities at all.

    Chat sends ``logprobs: true`` and ``top_logprobs: 0..20``; legacy completions send
    ``logprobs: 0..5`` (we allow up to 20, as llama-server does); llama-server's native
    ``n_probs`` is read by its route.
    """
    value = body.get("logprobs")
    top = _integer(body, "top_logprobs", 0, MAX_TOP)
    if value is None or value is False:
        if top:
            raise bad("top_logprobs", "'top_logprobs' needs 'logprobs': true")
        return None
    if value is True:
        return top or 0
    if isinstance(value, int) and 0 <= value <= MAX_TOP:
        return value
    raise bad("logprobs", f"'logprobs' must be true/false (chat) or 0 to {MAX_TOP} "
              "(completions)")


def _logit_bias(value: Any) -> dict[int | str, float]:
    """OpenAI's {"token id": bias}, or llama-server's [[id or text, bias], …] (text: every
    token of it), bias in -100..100."""
    if value is None:
        return {}
    pairs = value.items() if isinstance(value, dict) else value
    out: dict[int | str, float] = {}
    try:
        for token, bias in pairs:
            key: int | str = token
            if isinstance(token, str) and token.strip().lstrip("-").isdigit():
                key = int(token)
            elif isinstance(token, bool) or not isinstance(token, int | str) or token == "":
                raise ValueError(token)
            if isinstance(bias, bool) or not isinstance(bias, int | float) \
                    or not -100 <= bias <= 100:
                raise ValueError(bias)
            out[key] = float(bias)
    except (TypeError, ValueError):
        raise bad("logit_bias", "'logit_bias' must map token ids (or token text) to numbers "
                  "from -100 to 100") from None
    return out


def _stop(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list) and all(isinstance(s, str) for s in value) and len(value) <= 4:
        return [s for s in value if s]
    raise bad("stop", "'stop' must be a string or a list of up to 4 strings")


def _content(content: Any, index: int, role: str, media_path: str) -> str | list[Any]:
    """A message's content: a string, or (with images) the engine's list of text and image
    parts. Images come in user and tool messages, as OpenAI takes them."""
    from fireside.core.server.images import image_part

    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise bad(f"messages[{index}].content", "content must be a string or a list of parts")
    parts: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        param = f"messages[{index}].content[{j}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("image_url", "input_image") and isinstance(part, dict):
            if role not in ("user", "tool"):
                raise bad(param, "images may only be sent in user and tool messages")
            parts.append(image_part(part.get("image_url"), param, media_path))
        elif kind in ("text", "input_text", "output_text") and isinstance(part, dict):
            parts.append({"type": "text", "text": str(part.get("text", ""))})
        else:
            raise bad(param, f"content parts of type {kind!r} are not supported "
                      "(text and image_url are)")
    return joined(parts)


def joined(parts: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    """Text parts as one string (every template renders it); the parts as they are when an
    image is among them."""
    if any(p["type"] != "text" for p in parts):
        return parts
    return "".join(p["text"] for p in parts)


def messages(body: dict[str, Any], media_path: str = "") -> list[dict[str, Any]]:
    """Messages with string content, which every chat template can render, or content parts
    where images come (``file://`` ones read under ``media_path``)."""
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw:
        raise bad("messages", "'messages' must be a non-empty list")
    out: list[dict[str, Any]] = []
    for i, message in enumerate(raw):
        if not isinstance(message, dict) or message.get("role") not in (
                "system", "developer", "user", "assistant", "tool", "function"):
            raise bad(f"messages[{i}]", "each message needs a role of system, user, "
                      "assistant or tool")
        clean = dict(message)
        clean["role"] = "system" if message["role"] == "developer" else message["role"]
        clean["content"] = _content(message.get("content"), i, clean["role"], media_path)
        out.append(clean)
    images = sum(isinstance(m["content"], list) and sum(p["type"] == "image"
                                                        for p in m["content"]) for m in out)
    if images > MAX_IMAGES:
        raise bad("messages", f"at most {MAX_IMAGES} images per request ({images} sent)")
    return out


def _token_ids(value: Any) -> bool:
    return (isinstance(value, list) and bool(value)
            and all(isinstance(t, int) and not isinstance(t, bool) for t in value))


def flag(body: dict[str, Any], name: str) -> bool:
    """An optional boolean field (null or absent: false)."""
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise bad(name, f"'{name}' must be a boolean")
    return bool(value)


MAX_PROMPTS = 8  # prompts in one completions request (each is a request on the batch)


def prompts(body: dict[str, Any]) -> list[str | list[int]]:
    """OpenAI's prompt: one (text or token ids), or a list of them, each answered."""
    value = body.get("prompt")
    if isinstance(value, list) and len(value) > 1 and all(
            isinstance(v, str) or (isinstance(v, list) and _token_ids(v)) for v in value):
        if len(value) > MAX_PROMPTS:
            raise bad("prompt", f"at most {MAX_PROMPTS} prompts per request")
        return [prompt({**body, "prompt": v}) for v in value]
    return [prompt(body)]


def prompt(body: dict[str, Any]) -> str | list[int]:
    """One prompt: a string or token ids (OpenAI accepts both, and a list holding one)."""
    value = body.get("prompt")
    if isinstance(value, list) and len(value) == 1 and (isinstance(value[0], str)
                                                        or _token_ids(value[0])):
        value = value[0]
    if not isinstance(value, str) and not _token_ids(value):
        raise bad("prompt", "'prompt' must be a string, a list of token ids, or a list of "
                  "those")
    if not value:
        raise bad("prompt", "'prompt' must not be empty: there is nothing to continue")
    for name in ("suffix", "echo"):
        if body.get(name):
            raise bad(name, f"'{name}' is not supported by this server")
    best_of = body.get("best_of")
    if best_of not in (None, 1):
        raise bad("best_of", "only best_of=1 is supported")
    return value


def _prompt_piece(value: Any) -> str | list[int | str] | None:
    """One embedding input in any form llama-server takes, or None if it is none of them:
    text, token ids mixed with text, ``{"prompt_string": …}``, ``{"content": [text parts]}``."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(
            isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool))
            for v in value):
        return list(value)
    if isinstance(value, dict) and isinstance(value.get("prompt_string"), str):
        return str(value["prompt_string"])
    if isinstance(value, dict) and isinstance(value.get("content"), list) and value["content"] \
            and all(isinstance(p, dict) and p.get("type") == "text"
                    and isinstance(p.get("text"), str) for p in value["content"]):
        return "".join(p["text"] for p in value["content"])
    return None


def embedding_inputs(body: dict[str, Any]) -> list[str | list[int | str]]:
    """Texts or token-id lists (LangChain's OpenAIEmbeddings sends token ids by default), and
    llama-server's forms: ids mixed with text, ``prompt_string`` and ``content`` objects."""
    value = body.get("input")
    # a list holding any token id is one prompt; otherwise a list is several prompts
    one = not isinstance(value, list) or any(
        isinstance(v, int) and not isinstance(v, bool) for v in value)
    items: list[Any] = ([_prompt_piece(value)] if one else
                        [_prompt_piece(v) for v in value] if value else [None])
    if any(item is None for item in items):
        raise bad("input", "'input' must be a string, a list of strings, token ids (a list "
                  "of them, or lists), or llama-server's prompt objects")
    if any(not item for item in items):
        raise bad("input", "'input' must not contain empty strings")
    if len(items) > MAX_EMBEDDING_INPUTS:
        raise bad("input", f"'input' may hold at most {MAX_EMBEDDING_INPUTS} inputs, as at "
                  "OpenAI; send the rest in further requests")
    fmt = body.get("encoding_format", "float")
    if fmt not in ("float", "base64", None):
        raise bad("encoding_format", "'encoding_format' must be 'float' or 'base64'")
    if body.get("dimensions") is not None:
        raise bad("dimensions", "'dimensions' cannot be honoured: the local model's embeddings "
                  "have a fixed size and are not trained to be shortened")
    return items


def stream_flags(body: dict[str, Any]) -> tuple[bool, bool]:
    stream = flag(body, "stream")
    options = body.get("stream_options") or {}
    if not isinstance(options, dict):
        raise bad("stream_options", "'stream_options' must be an object")
    return stream, bool(options.get("include_usage"))


def reasoning_format(body: dict[str, Any]) -> str:
    """llama-server's ``reasoning_format``: "none" keeps <think> text in ``content``."""
    value = body.get("reasoning_format", "auto")
    if value not in ("auto", "deepseek", "none"):
        raise bad("reasoning_format", "'reasoning_format' must be auto, deepseek or none")
    return str(value)

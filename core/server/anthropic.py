"""Anthropic's Messages API (``/v1/messages``, ``/v1/messages/count_tokens``) on the same engine.

So that Claude Code and the ``anthropic`` SDK run against a local model unchanged, as with LM
Studio and Ollama. A request is translated into an OpenAI chat body (system prompt, content
blocks, ``tool_use``/``tool_result`` as tool calls and tool messages, tools and
``tool_choice``) and answered the chat route's way (:class:`compat.Api`); only the answer's
shape is Anthropic's: content blocks, stop reasons, the named stream events and the error
shape ``{"type": "error", "error": {...}}``. A reasoning model's ``<think>`` block comes back as
a ``thinking`` block.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from fireside.core.inference import reasoning
from fireside.core.inference.handle import Handle, Update
from fireside.core.inference.types import Completion
from fireside.core.server import params as P
from fireside.core.server.compat import Api
from fireside.core.server.jobs import as_api_error
from fireside.core.server.openai_format import note_usage
from fireside.core.server.params import ApiError, bad
from fireside.core.server.structured import ToolPlan, parse_tool_calls

PATHS = frozenset({"/v1/messages", "/v1/messages/count_tokens"})
# Anthropic's error types by HTTP status (https://docs.anthropic.com/en/api/errors)
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error",
               403: "permission_error", 404: "not_found_error", 413: "request_too_large",
               429: "rate_limit_error", 500: "api_error", 503: "overloaded_error",
               529: "overloaded_error"}


def error_body(status: int, message: str) -> dict[str, Any]:
    err_type = ERROR_TYPES.get(status, "invalid_request_error" if status < 500 else "api_error")
    return {"type": "error", "error": {"type": err_type, "message": message}}


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def stream_error(err: ApiError) -> str:
    return _event("error", error_body(err.status, err.message))


class AnthropicErrors:
    """Errors on the Anthropic paths in Anthropic's shape, whoever raised them (the key,
    Host, body-size guards answer in OpenAI's). Added outermost, so it sees them all."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") not in PATHS:
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def reshape(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                if message["status"] < 400:
                    await send(message)
                    return
                start.update(message)
                return
            if not start or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            status = start["status"]
            try:
                text = json.loads(b"".join(chunks))["error"]["message"]
            except (ValueError, KeyError, TypeError):
                text = b"".join(chunks).decode("utf-8", "replace")
            body = json.dumps(error_body(status, str(text))).encode()
            headers = [(k, v) for k, v in start.get("headers", [])
                       if k.lower() not in (b"content-length", b"content-type")]
            headers += [(b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode())]
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": False})

        await self.app(scope, receive, reshape)


# -- request ---------------------------------------------------------------------------------
def _text(value: Any, param: str) -> str:
    """A string, or a list of text blocks (the system prompt, a tool result's content)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = []
        for block in value:
            if not isinstance(block, dict) or block.get("type") != "text":
                raise bad(param, _unsupported(block))
            parts.append(str(block.get("text", "")))
        return "\n".join(parts) if len(parts) > 1 else "".join(parts)
    raise bad(param, f"'{param}' must be a string or a list of text blocks")


def _unsupported(block: Any) -> str:
    kind = block.get("type") if isinstance(block, dict) else None
    if kind == "document":
        return "document input is not supported: the local model reads text and images"
    return f"content blocks of type {kind!r} are not supported here"


def _image(block: dict[str, Any], where: str) -> dict[str, Any]:
    """An Anthropic image block as the OpenAI ``image_url`` part the chat route reads."""
    source = block.get("source")
    kind = source.get("type") if isinstance(source, dict) else None
    if kind == "base64" and isinstance(source, dict):
        url = f"data:{source.get('media_type') or 'image/png'};base64,{source.get('data', '')}"
    elif kind == "url" and isinstance(source, dict):
        url = str(source.get("url", ""))
    else:
        raise bad(f"{where}.source", "an image block needs a source of type base64 or url")
    return {"type": "image_url", "image_url": {"url": url}}


def _result(value: Any, where: str) -> str | list[dict[str, Any]]:
    """A tool result's content: a string, or text and image blocks."""
    if not isinstance(value, list):
        return _text(value, where)
    parts = []
    for k, block in enumerate(value):
        if isinstance(block, dict) and block.get("type") == "image":
            parts.append(_image(block, f"{where}[{k}]"))
        else:
            parts.append({"type": "text", "text": _text([block], where)})
    return P.joined(parts)


def _message(message: Any, i: int) -> list[dict[str, Any]]:
    """One Anthropic message → the OpenAI chat messages that say the same."""
    param = f"messages[{i}]"
    if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
        raise bad(param, "each message needs a role of user or assistant")
    role, content = message["role"], message.get("content")
    if isinstance(content, str):
        return [{"role": role, "content": content}]
    if not isinstance(content, list):
        raise bad(f"{param}.content", "content must be a string or a list of content blocks")
    parts: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    thoughts: list[str] = []
    for j, block in enumerate(content):
        kind = block.get("type") if isinstance(block, dict) else None
        where = f"{param}.content[{j}]"
        if kind == "text":
            parts.append({"type": "text", "text": str(block.get("text", ""))})
        elif kind == "image" and role == "user":
            parts.append(_image(block, where))
        elif kind == "thinking" and role == "assistant":
            thoughts.append(str(block.get("thinking", "")))
        elif kind == "redacted_thinking":
            continue
        elif kind == "tool_use" and role == "assistant":
            if not isinstance(block.get("name"), str) or not isinstance(block.get("id"), str):
                raise bad(where, "a tool_use block needs an id and a name")
            calls.append({"id": block["id"], "type": "function", "function": {
                "name": block["name"], "arguments": json.dumps(block.get("input") or {})}})
        elif kind == "tool_result" and role == "user":
            if not isinstance(block.get("tool_use_id"), str):
                raise bad(where, "a tool_result block needs a tool_use_id")
            result = _result(block.get("content") or "", f"{where}.content")
            if block.get("is_error"):
                result = f"Error: {result}" if isinstance(result, str) else \
                    [{"type": "text", "text": "Error: "}, *result]
            results.append({"role": "tool", "tool_call_id": block["tool_use_id"],
                            "content": result})
        else:
            raise bad(where, _unsupported(block))
    out = list(results)
    if calls:
        out.append({"role": "assistant", "content": P.joined(parts), "tool_calls": calls})
    elif parts or thoughts or not results:
        out.append({"role": role, "content": P.joined(parts)})
    if thoughts:
        # interleaved thinking: the template decides (Qwen3 keeps the current turn's)
        out[-1]["reasoning_content"] = "\n".join(thoughts)
    return out


def _tools(body: dict[str, Any], openai: dict[str, Any]) -> None:
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise bad("tools", "'tools' must be a list")
        converted = []
        for i, tool in enumerate(tools):
            if not isinstance(tool, dict) or tool.get("type", "custom") != "custom" or \
                    not isinstance(tool.get("name"), str):
                raise bad(f"tools[{i}]", "only custom tools {name, description, input_schema} "
                          "are supported by a local model")
            function = {"name": tool["name"],
                        "parameters": tool.get("input_schema") or {"type": "object"}}
            if isinstance(tool.get("description"), str):
                function["description"] = tool["description"]
            converted.append({"type": "function", "function": function})
        openai["tools"] = converted
    choice = body.get("tool_choice")
    if choice is None:
        return
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind == "tool":
        openai["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
    elif kind in ("auto", "any", "none"):
        openai["tool_choice"] = {"auto": "auto", "any": "required", "none": "none"}[kind]
    else:
        raise bad("tool_choice", "'tool_choice' must be {type: auto | any | tool | none}")


def to_openai(body: dict[str, Any], *, counting: bool = False) -> dict[str, Any]:
    """An Anthropic request as the OpenAI chat body that the chat route understands."""
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw:
        raise bad("messages", "'messages' must be a non-empty list")
    messages: list[dict[str, Any]] = []
    if "system" in body:
        system = _text(body["system"], "system")
        if system:
            messages.append({"role": "system", "content": system})
    for i, message in enumerate(raw):
        messages.extend(_message(message, i))
    openai: dict[str, Any] = {"messages": messages}
    if "model" in body:
        openai["model"] = body["model"]
    if not counting:
        max_tokens = body.get("max_tokens")
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise bad("max_tokens", "'max_tokens' is required: a positive integer")
        openai["max_tokens"] = max_tokens
        for name in ("temperature", "top_p", "top_k", "grammar"):  # grammar: llama-server's
            if name in body:
                openai[name] = body[name]
    _tools(body, openai)
    return openai


def stop_sequences(body: dict[str, Any]) -> list[str]:
    value = body.get("stop_sequences", [])
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise bad("stop_sequences", "'stop_sequences' must be a list of strings")
    return [s for s in value if s]


# -- answer ----------------------------------------------------------------------------------
class MessageFormat:
    """``message`` bodies and the named stream events for one request."""

    DONE = ""  # the stream ends with its last named event, no [DONE]

    def __init__(self, model: str, plan: ToolPlan | None, info: dict[str, Any],
                 stops: list[str]) -> None:
        self.id = "msg_" + secrets.token_hex(12)
        self.model = model
        self.plan = plan
        self.info = info
        self.stops = stops
        self._prompt_tokens = lambda: 0
        self._opened = lambda: False
        self._reasoning: reasoning.ReasoningStream | None = None
        self._started = False
        self._index = -1  # the open block's index
        self._kind = ""  # its type, "" when none is open

    def attach(self, handle: Handle) -> None:
        self._opened = lambda: handle.opens_thinking
        self._prompt_tokens = lambda: handle.prompt_tokens

    def _content(self, completion: Completion) -> tuple[list[dict[str, Any]], str]:
        note_usage(self.info, completion)
        parts = reasoning.split(completion.text, opened=completion.opens_thinking)
        blocks: list[dict[str, Any]] = []
        if parts.had_reasoning:
            blocks.append({"type": "thinking", "thinking": parts.reasoning, "signature": ""})
        text: str | None = parts.content
        calls: list[dict[str, Any]] = []
        if self.plan is not None:
            text, calls = parse_tool_calls(parts.content, self.plan)
        if text:
            blocks.append({"type": "text", "text": text})
        for call in calls:
            try:
                args = json.loads(call["function"]["arguments"])
            except ValueError:
                args = {}
            blocks.append({"type": "tool_use", "id": "toolu_" + secrets.token_hex(12),
                           "name": call["function"]["name"],
                           "input": args if isinstance(args, dict) else {"value": args}})
        if calls:
            return blocks, "tool_use"
        if completion.finish_reason == "length":
            return blocks, "max_tokens"
        if completion.stop_sequence is not None and completion.stop_sequence in self.stops:
            return blocks, "stop_sequence"
        return blocks, "end_turn"

    def _usage(self, completion: Completion) -> dict[str, int]:
        return {"input_tokens": completion.stats.prompt_tokens,
                "output_tokens": completion.stats.completion_tokens,
                "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}

    def body(self, completion: Completion) -> dict[str, Any]:
        blocks, stop_reason = self._content(completion)
        return {"id": self.id, "type": "message", "role": "assistant", "content": blocks,
                "model": self.model, "stop_reason": stop_reason,
                "stop_sequence": completion.stop_sequence if stop_reason == "stop_sequence"
                else None, "usage": self._usage(completion)}

    # streaming: message_start, then per block content_block_start/delta…/stop, then
    # message_delta (stop reason, usage) and message_stop
    def _start(self) -> str:
        if self._started:
            return ""
        self._started = True
        message: dict[str, Any] = {
            "id": self.id, "type": "message", "role": "assistant", "content": [],
            "model": self.model, "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": self._prompt_tokens(), "output_tokens": 0,
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}
        return (_event("message_start", {"type": "message_start", "message": message})
                + _event("ping", {"type": "ping"}))

    def _close(self) -> str:
        if not self._kind:
            return ""
        self._kind = ""
        return _event("content_block_stop", {"type": "content_block_stop", "index": self._index})

    def _open(self, block: dict[str, Any]) -> str:
        out = self._close()
        self._index += 1
        self._kind = block["type"]
        return out + _event("content_block_start", {"type": "content_block_start",
                                                    "index": self._index,
                                                    "content_block": block})

    def _delta(self, kind: str, text: str) -> str:
        if not text:
            return ""
        out = ""
        if self._kind != kind:
            out = self._open({"type": kind, kind: ""} if kind == "text" else
                             {"type": "thinking", "thinking": "", "signature": ""})
        delta = {"type": "text_delta", "text": text} if kind == "text" else \
            {"type": "thinking_delta", "thinking": text}
        return out + _event("content_block_delta", {"type": "content_block_delta",
                                                    "index": self._index, "delta": delta})

    def chunk(self, news: Update) -> str:
        text = news.text
        if self._reasoning is None:
            self._reasoning = reasoning.ReasoningStream(opened=self._opened())
        thought, answer = self._reasoning.feed(text)
        return self._start() + self._delta("thinking", thought) + self._delta("text", answer)

    def final(self, completion: Completion) -> list[str]:
        out = self._start()
        blocks, stop_reason = self._content(completion)
        if self._reasoning is not None:  # streamed live: only what was held back is left
            thought, answer = self._reasoning.flush()
            out += self._delta("thinking", thought) + self._delta("text", answer)
        else:  # held to the end (tools) or nothing written: every block now
            for block in blocks:
                if block["type"] == "tool_use":
                    out += self._open({**block, "input": {}}) + _event(
                        "content_block_delta", {"type": "content_block_delta",
                                                "index": self._index, "delta": {
                                                    "type": "input_json_delta",
                                                    "partial_json": json.dumps(block["input"])}})
                else:
                    out += self._delta(block["type"], block[block["type"]])
        out += self._close()
        out += _event("message_delta", {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": completion.stop_sequence
                      if stop_reason == "stop_sequence" else None},
            "usage": self._usage(completion)})
        return [out, _event("message_stop", {"type": "message_stop"})]


# -- routes ----------------------------------------------------------------------------------
def register(app: FastAPI, api: Api) -> None:
    @app.post("/v1/messages")
    async def messages(request: Request) -> Response:
        try:
            body = P.parse_json(await request.body())
            openai = to_openai(body)
            stops = stop_sequences(body)
            sampling = P.sampling(openai)
            sampling.stop = stops
            stream = P.flag(body, "stream")

            def make(model: str, plan: ToolPlan | None, info: dict[str, Any]) -> MessageFormat:
                return MessageFormat(model, plan, info, stops)

            return await api.chat(request, openai, make, stream=stream, sampling=sampling,
                                  on_error=stream_error)
        except Exception as exc:
            raise as_api_error(exc) from exc

    @app.post("/v1/messages/count_tokens")
    async def count_tokens(request: Request) -> Response:
        try:
            body = P.parse_json(await request.body())
            tokens = await api.count_tokens(request, to_openai(body, counting=True))
        except Exception as exc:
            raise as_api_error(exc) from exc
        return JSONResponse({"input_tokens": tokens})

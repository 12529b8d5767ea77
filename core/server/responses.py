"""OpenAI's Responses API (``POST /v1/responses``), stateless, on the same engine.

The official client's ``client.responses.create`` and Codex-style clients speak it. The server
keeps no responses, so ``previous_response_id`` is refused (400) and the whole conversation
comes in ``input``: messages, ``function_call`` and ``function_call_output`` items. It is
translated into an OpenAI chat body and answered the chat route's way (:class:`compat.Api`);
the answer is a ``response`` with ``message``, ``function_call`` and ``reasoning`` (a
``<think>`` block) output items, streamed as OpenAI's named ``response.*`` events.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from fireside.core.inference import reasoning
from fireside.core.inference.handle import Handle, Update
from fireside.core.inference.types import Completion
from fireside.core.server import params as P
from fireside.core.server.compat import Api
from fireside.core.server.openai_format import Extras, llama_timings, note_usage
from fireside.core.server.params import ApiError, bad
from fireside.core.server.structured import ToolPlan, parse_tool_calls

TEXT_PARTS = ("input_text", "output_text", "text")


# -- request ---------------------------------------------------------------------------------
def _content(value: Any, param: str) -> str | list[dict[str, Any]]:
    """Text, or (with ``input_image`` parts) the chat route's text and image_url parts."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts: list[dict[str, Any]] = []
        for part in value:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "input_image" and isinstance(part, dict):
                if not part.get("image_url"):
                    raise bad(param, "an input_image needs an image_url (uploaded files are "
                              "not kept by the local server)")
                parts.append({"type": "image_url", "image_url": {"url": part["image_url"]}})
            elif kind in TEXT_PARTS and isinstance(part, dict):
                parts.append({"type": "text", "text": str(part.get("text", ""))})
            else:
                raise bad(param, "only input_text, output_text and input_image content is "
                          "supported by this model")
        return P.joined(parts)
    raise bad(param, f"'{param}' must be a string or a list of content parts")


def _thought(item: dict[str, Any]) -> str:
    parts = item.get("content") or item.get("summary") or []
    return "".join(str(p.get("text", "")) for p in parts if isinstance(p, dict)) \
        if isinstance(parts, list) else ""


def _items(items: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    thought = ""  # a reasoning item's text, for the assistant turn that follows it
    for i, item in enumerate(items):
        param = f"input[{i}]"
        if not isinstance(item, dict):
            raise bad(param, "each input item must be an object")
        kind = item.get("type", "message")
        if kind == "message":
            out.append({"role": item.get("role"),
                        "content": _content(item.get("content", ""), f"{param}.content")})
        elif kind == "function_call":
            if not isinstance(item.get("name"), str) or not isinstance(item.get("call_id"), str):
                raise bad(param, "a function_call item needs a call_id and a name")
            call = {"id": item["call_id"], "type": "function",
                    "function": {"name": item["name"], "arguments": item.get("arguments", "{}")}}
            if out and out[-1]["role"] == "assistant":
                out[-1].setdefault("tool_calls", []).append(call)
            else:
                out.append({"role": "assistant", "content": "", "tool_calls": [call]})
        elif kind == "function_call_output":
            if not isinstance(item.get("call_id"), str):
                raise bad(param, "a function_call_output item needs a call_id")
            out.append({"role": "tool", "tool_call_id": item["call_id"],
                        "content": _content(item.get("output", ""), f"{param}.output")})
        elif kind == "reasoning":
            thought = _thought(item)
            continue
        else:
            raise bad(param, f"input items of type {kind!r} are not supported by this server")
        if thought and out[-1]["role"] == "assistant":
            # the template decides whether past thinking is shown (Qwen3: the current turn's)
            out[-1]["reasoning_content"] = thought
        thought = ""
    return out


def _tools(body: dict[str, Any], openai: dict[str, Any]) -> None:
    tools = body.get("tools")
    if tools:
        if not isinstance(tools, list):
            raise bad("tools", "'tools' must be a list")
        converted = []
        for i, tool in enumerate(tools):
            if not isinstance(tool, dict) or tool.get("type") != "function" or \
                    not isinstance(tool.get("name"), str):
                raise bad(f"tools[{i}]", "only function tools {type: function, name, "
                          "parameters} are supported by a local model")
            function = {k: tool[k] for k in ("name", "description", "parameters") if k in tool}
            converted.append({"type": "function", "function": function})
        openai["tools"] = converted
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "function":
        openai["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
    elif choice is not None:
        openai["tool_choice"] = choice  # auto, none, required; anything else: plan_tools' 400


def _text_format(body: dict[str, Any], openai: dict[str, Any]) -> None:
    text = body.get("text")
    fmt = text.get("format") if isinstance(text, dict) else None
    if not isinstance(fmt, dict) or fmt.get("type") in (None, "text"):
        return
    if fmt.get("type") == "json_schema":
        openai["response_format"] = {"type": "json_schema", "json_schema": {
            "name": fmt.get("name", "answer"), "schema": fmt.get("schema") or {}}}
    else:
        openai["response_format"] = {"type": fmt.get("type")}


def to_openai(body: dict[str, Any]) -> dict[str, Any]:
    """A Responses request as the OpenAI chat body that the chat route understands."""
    for name in ("previous_response_id", "conversation"):
        if name in body:
            raise bad(name, f"'{name}' is not supported: this server is stateless and keeps "
                      "no responses; send the whole conversation in 'input'")
    messages: list[dict[str, Any]] = []
    instructions = body.get("instructions")
    if instructions:
        messages.append({"role": "system", "content": _content(instructions, "instructions")})
    value = body.get("input")
    if isinstance(value, str):
        messages.append({"role": "user", "content": value})
    elif isinstance(value, list):
        messages.extend(_items(value))
    else:
        raise bad("input", "'input' must be a string or a list of input items")
    openai: dict[str, Any] = {"messages": messages}
    for name in ("model", "temperature", "top_p", "top_k", "grammar", "stream"):
        if name in body:
            openai[name] = body[name]
    if "max_output_tokens" in body:
        openai["max_tokens"] = body["max_output_tokens"]
    _tools(body, openai)
    _text_format(body, openai)
    return openai


# -- answer ----------------------------------------------------------------------------------
def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def _message_item(text: str, status: str = "completed") -> dict[str, Any]:
    return {"type": "message", "id": _id("msg"), "status": status, "role": "assistant",
            "content": [_text_part(text)] if status == "completed" else []}


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _reasoning_item(text: str, status: str = "completed") -> dict[str, Any]:
    return {"type": "reasoning", "id": _id("rs"), "status": status, "summary": [],
            "content": [{"type": "reasoning_text", "text": text}] if text else []}


class ResponseFormat:
    """``response`` objects and the ``response.*`` stream events for one request."""

    DONE = ""  # the stream ends with its last named event, no [DONE]

    def __init__(self, model: str, plan: ToolPlan | None, info: dict[str, Any],
                 body: dict[str, Any]) -> None:
        self.id = _id("resp")
        self.created = int(time.time())
        self.model = model
        self.plan = plan
        self.info = info
        self.request = body
        self._opened = lambda: False
        self._handle: Handle | None = None
        self.extras = Extras.of(body)  # llama-server's telemetry: progress, timings
        self.progress = self.extras.progress  # prompt progress is news (jobs.Job)
        self._reasoning: reasoning.ReasoningStream | None = None
        self._seq = 0
        self._started = False
        self._output: list[dict[str, Any]] = []  # items streamed so far
        self._open: dict[str, Any] | None = None  # the item being streamed

    def attach(self, handle: Handle) -> None:
        self._opened = lambda: handle.opens_thinking
        self._handle = handle

    def _timings(self) -> dict[str, Any]:
        if not self.extras.timings or self._handle is None:
            return {}
        return {"timings": llama_timings(self._handle.stats_so_far())}

    def _response(self, status: str, output: list[dict[str, Any]],
                  completion: Completion | None = None) -> dict[str, Any]:
        usage = None
        if completion is not None:
            stats = completion.stats
            usage = {"input_tokens": stats.prompt_tokens,
                     "input_tokens_details": {"cached_tokens": 0},
                     "output_tokens": stats.completion_tokens,
                     "output_tokens_details": {"reasoning_tokens": 0},
                     "total_tokens": stats.prompt_tokens + stats.completion_tokens}
        body = self.request
        return {"id": self.id, "object": "response", "created_at": self.created,
                "status": status, "model": self.model, "output": output, "error": None,
                "incomplete_details": {"reason": "max_output_tokens"}
                if status == "incomplete" else None,
                "instructions": body.get("instructions"),
                "max_output_tokens": body.get("max_output_tokens"),
                "temperature": body.get("temperature"), "top_p": body.get("top_p"),
                "tools": body.get("tools", []), "tool_choice": body.get("tool_choice", "auto"),
                "parallel_tool_calls": body.get("parallel_tool_calls", True),
                "previous_response_id": None, "store": False, "metadata": {},
                "text": body.get("text", {"format": {"type": "text"}}),
                "truncation": "disabled", "usage": usage}

    def _result(self, completion: Completion) -> tuple[list[dict[str, Any]], str]:
        note_usage(self.info, completion)
        parts = reasoning.split(completion.text, opened=completion.opens_thinking)
        items = [_reasoning_item(parts.reasoning)] if parts.had_reasoning else []
        text: str | None = parts.content
        calls: list[dict[str, Any]] = []
        if self.plan is not None:
            text, calls = parse_tool_calls(parts.content, self.plan)
        if text or not calls:
            items.append(_message_item(text or ""))
        for call in calls:
            items.append({"type": "function_call", "id": _id("fc"), "call_id": call["id"],
                          "name": call["function"]["name"],
                          "arguments": call["function"]["arguments"], "status": "completed"})
        status = "incomplete" if completion.finish_reason == "length" and not calls \
            else "completed"
        return items, status

    def body(self, completion: Completion) -> dict[str, Any]:
        items, status = self._result(completion)
        return self._response(status, items, completion)

    # streaming
    def _event(self, kind: str, **data: Any) -> str:
        self._seq += 1
        payload = {"type": kind, "sequence_number": self._seq - 1, **data}
        return f"event: {kind}\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n"

    def _start(self) -> str:
        if self._started:
            return ""
        self._started = True
        created = self._response("in_progress", [])
        return (self._event("response.created", response=created)
                + self._event("response.in_progress", response=created))

    def _where(self) -> dict[str, Any]:
        assert self._open is not None
        return {"item_id": self._open["id"], "output_index": len(self._output)}

    def _begin(self, item: dict[str, Any]) -> str:
        out = self._end()
        self._open = item
        out += self._event("response.output_item.added", output_index=len(self._output),
                           item=item)
        if item["type"] == "message":
            out += self._event("response.content_part.added", **self._where(), content_index=0,
                               part=_text_part(""))
        return out

    def _end(self) -> str:
        item, out = self._open, ""
        if item is None:
            return out
        where = self._where()
        if item["type"] == "message":
            text = item.pop("_text", "")
            item["content"] = [_text_part(text)]
            out += self._event("response.output_text.done", **where, content_index=0,
                               text=text, logprobs=[])
            out += self._event("response.content_part.done", **where, content_index=0,
                               part=item["content"][0])
        elif item["type"] == "reasoning":
            text = item.pop("_text", "")
            item["content"] = [{"type": "reasoning_text", "text": text}]
            out += self._event("response.reasoning_text.done", **where, content_index=0,
                               text=text)
        elif item["type"] == "function_call":
            out += self._event("response.function_call_arguments.delta", **where,
                               delta=item["arguments"])
            out += self._event("response.function_call_arguments.done", **where,
                               name=item["name"], arguments=item["arguments"])
        item["status"] = "completed"
        self._output.append(item)
        self._open = None
        return out + self._event("response.output_item.done", output_index=where["output_index"],
                                 item=item)

    def _delta(self, kind: str, text: str) -> str:
        if not text:
            return ""
        out = ""
        if self._open is None or self._open["type"] != kind:
            out = self._begin(_message_item("", "in_progress") if kind == "message"
                              else _reasoning_item("", "in_progress"))
        assert self._open is not None
        self._open["_text"] = self._open.get("_text", "") + text
        if kind == "message":
            return out + self._event("response.output_text.delta", **self._where(),
                                     content_index=0, delta=text, logprobs=[],
                                     **self._timings())
        return out + self._event("response.reasoning_text.delta", **self._where(),
                                 content_index=0, delta=text)

    def chunk(self, news: Update) -> str:
        text = news.text
        out = self._start()
        if self.progress and news.progress is not None and self._handle is not None:
            done, total = news.progress
            out += self._event("response.in_progress", response=self._response(
                "in_progress", []), prompt_progress={
                    "total": total, "cache": self._handle.cached_tokens, "processed": done})
        if not text:
            return out
        if self._reasoning is None:
            self._reasoning = reasoning.ReasoningStream(opened=self._opened())
        thought, answer = self._reasoning.feed(text)
        return out + self._delta("reasoning", thought) + self._delta("message", answer)

    def final(self, completion: Completion) -> list[str]:
        out = self._start()
        items, status = self._result(completion)
        if self._reasoning is not None:  # streamed live: only what was held back is left
            thought, answer = self._reasoning.flush()
            out += self._delta("reasoning", thought) + self._delta("message", answer)
            if not self._output and self._open is None:
                out += self._begin(_message_item("", "in_progress"))
        else:  # held to the end (tools) or nothing written: every item now
            for item in items:
                text = item["content"][0]["text"] if item["type"] != "function_call" and \
                    item["content"] else ""
                if item["type"] == "function_call":
                    out += self._begin({**item, "status": "in_progress"})
                else:
                    out += self._begin({**item, "status": "in_progress", "content": []})
                    kind = item["type"]
                    out += self._delta(kind, text)
        out += self._end()
        done = self._response(status, self._output, completion)
        kind = "response.completed" if status == "completed" else "response.incomplete"
        timings = {"timings": llama_timings(completion.stats)} if self.extras.timings else {}
        return [out, self._event(kind, response=done, **timings)]

    def error(self, err: ApiError) -> str:
        return self._event("error", code=err.code, message=err.message, param=err.param)


# -- route -----------------------------------------------------------------------------------
def register(app: FastAPI, api: Api) -> None:
    @app.post("/v1/responses")
    async def responses(request: Request) -> Response:
        body = P.parse_json(await request.body())
        openai = to_openai(body)
        stream, _usage = P.stream_flags(openai)
        made: list[ResponseFormat] = []

        def make(model: str, plan: ToolPlan | None, info: dict[str, Any]) -> ResponseFormat:
            made.append(ResponseFormat(model, plan, info, body))
            return made[0]

        def on_error(err: ApiError) -> str:  # the format exists once the stream has begun
            return made[0].error(err)

        return await api.chat(request, openai, make, stream=stream, on_error=on_error)

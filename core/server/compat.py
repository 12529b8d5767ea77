"""What the other protocols' routes (Anthropic Messages, OpenAI Responses) share.

They are translated into an OpenAI chat body and then go the chat route's way: the same
parameter parsing (:mod:`params`), tool planning and parsing (:mod:`structured`), admission
and answer (``admit`` in :mod:`app`, :func:`choices.respond`). So there is one tool parser, one
sampling parser and one submission path, whatever the protocol on the wire.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import Response

from fireside.core.inference.handle import Handle
from fireside.core.inference.types import ChatRequest, SamplingParams
from fireside.core.server import choices, structured
from fireside.core.server import params as P
from fireside.core.server.params import ApiError
from fireside.core.server.structured import ToolPlan

if TYPE_CHECKING:
    from fireside.core.server.app import ServerState

Admit = Callable[[Request, dict[str, Any]], Awaitable[tuple[dict[str, Any], str]]]
MakeFormat = Callable[[str, ToolPlan | None, dict[str, Any]], Any]


@dataclass
class Api:
    """The app's pieces a protocol module needs, handed over by ``create_app``."""

    state: ServerState
    admit: Admit  # queue place + model; the caller owns one ``state.models.end()``
    run: Callable[..., Awaitable[Any]]  # a blocking call on the server's executor

    async def chat(self, request: Request, body: dict[str, Any], make_format: MakeFormat, *,
                   stream: bool, sampling: SamplingParams | None = None,
                   on_error: Callable[[ApiError], str] | None = None) -> Response:
        """Answer an OpenAI-shaped chat ``body`` with ``make_format(model, plan, info)``:
        ``n`` answers (parallel sequences of the batch), each formatted by its own."""
        sampling = sampling or P.sampling(body)
        sampling.max_tokens = sampling.max_tokens or self.state.settings.default_max_tokens or None
        messages = P.messages(body, self.state.settings.media_path)
        continue_final = _continue_final(body, messages)
        n = P.choices(body)
        grammar = structured.response_grammar(body)
        info, name = await self.admit(request, body)
        engine = self.state.engine
        try:
            plan, prepared = _prepare(engine, body, messages)
            fmts = [make_format(name, plan, info) for _ in range(n)]
        except BaseException:
            self.state.models.end()
            raise
        if plan is not None and plan.grammar is not None:
            grammar = plan.grammar
        template_tools = plan.tools if plan is not None and plan.for_template else None

        def submitter(params: SamplingParams) -> Callable[[], Handle]:
            return lambda: engine.submit(ChatRequest(prepared, params, template_tools, grammar,
                                                     continue_final=continue_final))

        submits = [submitter(p) for p in choices.samplings(sampling, n)]
        tail = choices.openai_tail(fmts[0], n, n)  # before shared() takes usage off each
        # tool calls are only known once the answer is complete: they come at the end
        return await choices.respond(request, self.state, submits, choices.shared(fmts),
                                     stream, live=plan is None, on_error=on_error,
                                     combine=choices.openai_combine(n), tail=tail)

    async def count_tokens(self, request: Request, body: dict[str, Any]) -> int:
        """The prompt's length as the model's template renders it (tools included)."""
        messages = P.messages(body, self.state.settings.media_path)
        _info, _name = await self.admit(request, body)
        engine = self.state.engine
        try:
            plan, prepared = _prepare(engine, body, messages)
            tools = plan.tools if plan is not None and plan.for_template else None

            def count() -> int:
                return len(engine.tokenize(engine.render_chat(prepared, tools)))

            return int(await self.run(count))
        finally:
            self.state.models.end()


def _continue_final(body: dict[str, Any], messages: list[dict[str, Any]]) -> bool:
    """vLLM's ``continue_final_message``: the last (assistant) message is continued, not
    answered; it excludes ``add_generation_prompt``."""
    flag = body.get("continue_final_message")
    if flag is None or flag is False:
        return False
    if flag is not True:
        raise P.bad("continue_final_message", "'continue_final_message' must be a boolean")
    if body.get("add_generation_prompt") is True:
        raise P.bad("continue_final_message", "'continue_final_message' and "
                    "'add_generation_prompt' cannot both be true")
    if messages[-1].get("role") != "assistant":
        raise P.bad("continue_final_message", "'continue_final_message' needs the last "
                    "message to be the assistant's")
    return True


def _prepare(engine: Any, body: dict[str, Any], messages: list[dict[str, Any]]
             ) -> tuple[ToolPlan | None, list[dict[str, Any]]]:
    """The tool plan for the loaded model's template, and the history shaped for it."""
    loaded = engine.loaded
    plan = structured.plan_tools(body, loaded.meta.chat_template if loaded else None)
    return plan, structured.prepare_messages(messages, plan)

"""`fireside run MODEL [PROMPT]`: one answer, or a REPL, streamed to the terminal."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from fireside.core import context
from fireside.core.cli.output import emit_json, note
from fireside.core.hardware import offload
from fireside.core.hardware.offload import AUTO, CHOICES_HELP, parse_gpu_layers
from fireside.core.inference.handle import Handle
from fireside.core.inference.types import ChatRequest, LoadSettings, SamplingParams, Stats
from fireside.core.remote.errors import RemoteError

Submit = Callable[[ChatRequest], Handle]


def register(sub: Any) -> None:
    p = sub.add_parser("run", help="chat with a model (a REPL without PROMPT)")
    p.add_argument("model", help="a local model name, a path to a .gguf, `starter`, or "
                   "hf.co/USER/REPO[:QUANT], github:OWNER/REPO[:QUANT], a URL (pulled first), "
                   "or PROVIDER:MODEL_ID for a remote model (`fireside provider ls`)")
    p.add_argument("prompt", nargs="?")
    p.add_argument("--system", default=None, help="system prompt")
    p.add_argument("--temp", type=float, default=0.7, help="temperature")
    p.add_argument("--max-tokens", type=int, default=512)
    p.add_argument("--ctx", type=int, default=4096, help="context length")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--gpu-layers", type=parse_gpu_layers, default=AUTO, metavar="N|max|auto",
                   help=CHOICES_HELP)
    p.add_argument("--verbose", action="store_true", help="print stats after each answer")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object with the text and stats")
    p.set_defaults(handler=cmd_run)


def _print_stats(stats: Stats) -> None:
    note(f"\n[ttft {stats.ttft_s * 1000:.0f} ms · prefill {stats.prefill_tokens_per_s:.1f} tok/s"
         f" · decode {stats.decode_tokens_per_s:.1f} tok/s · prompt {stats.prompt_tokens}"
         f" · completion {stats.completion_tokens}"
         + (f" · context {stats.context_used}/{stats.context_limit}]" if stats.context_limit
            else "]"))


def cmd_run(args: argparse.Namespace) -> int:
    ctx = context.build()
    if ctx.remote.resolve(args.model) is not None:  # PROVIDER:MODEL_ID: nothing to load
        name = args.model

        def submit(request: ChatRequest) -> Handle:
            return ctx.remote.submit(name, request, on_notice=note)
    else:
        name, submit = _load_local(ctx, args), ctx.engine.submit
    params = SamplingParams(temperature=args.temp, max_tokens=args.max_tokens, seed=args.seed)
    messages: list[dict[str, str]] = []
    if args.system:
        messages.append({"role": "system", "content": args.system})
    if args.prompt is not None:
        messages.append({"role": "user", "content": args.prompt})
        return _answer(submit, name, messages, params, args)
    note(f"{name} ready. Type a message; /bye or Ctrl-D to quit, Ctrl-C stops an answer.")
    while True:
        try:
            line = input(">>> ")
        except EOFError:
            return 0
        if line.strip() in ("/bye", "/exit", "/quit"):
            return 0
        if not line.strip():
            continue
        messages.append({"role": "user", "content": line})
        _answer(submit, name, messages, params, args)


def _load_local(ctx: context.AppContext, args: argparse.Namespace) -> str:
    from fireside.core.cli.source_pull import local_or_pull

    model = local_or_pull(ctx, args.model)  # hf.co/…, github:…, URLs: pulled if missing
    if model.error:
        from fireside.core.errors import BadModelFileError

        raise BadModelFileError(f"{model.name}: {model.error}")
    settings = LoadSettings(n_ctx=args.ctx, n_threads=args.threads)
    layers = offload.resolve(args.gpu_layers, model.meta, settings)
    settings.n_gpu_layers = layers.n_gpu_layers
    if layers.message and not layers.obvious:
        note(layers.message)
    ctx.engine.load(model.path, settings, name=model.name)
    ctx.library.touch(model.name)
    return model.name


def _answer(submit: Submit, name: str, messages: list[dict[str, str]], params: SamplingParams,
            args: argparse.Namespace) -> int:
    handle = submit(ChatRequest(list(messages), params))
    try:
        for text in handle.stream():
            if not args.json:
                sys.stdout.write(text)
                sys.stdout.flush()
        result = handle.result()
    except KeyboardInterrupt:
        handle.cancel()
        note("\n[stopped]")
        return 130
    except RemoteError as exc:  # the provider failed: a runtime failure, not bad input
        if not args.json:
            sys.stdout.write("\n")
        note(f"fireside: {exc}")
        return 1
    messages.append({"role": "assistant", "content": result.text})
    if args.json:
        emit_json({"text": result.text, "finish_reason": result.finish_reason,
                   "model": name, "stats": result.stats.to_json()})
        return 1 if result.finish_reason == "cut" else 0
    sys.stdout.write("\n")
    if args.verbose:
        _print_stats(result.stats)
    return 1 if result.finish_reason == "cut" else 0

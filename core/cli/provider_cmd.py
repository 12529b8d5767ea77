"""`fireside provider add | ls | models | rm | test | enable | disable`: remote model providers.

The key never travels on the command line (other users see argv in ``ps``): it comes from the
environment variable ``--api-key-env`` names, or standard input (hidden when a terminal).
Exit codes: 0 done, 2 bad input (unknown provider, bad URL), 1 the provider failed.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from fireside.core import context
from fireside.core.cli.output import emit_json, note
from fireside.core.errors import FiresideError
from fireside.core.remote.errors import RemoteError
from fireside.core.remote.providers import CUSTOM, PRESETS, Provider, preset_url

EXIT_FAILED = 1


def register(sub: Any) -> None:
    p = sub.add_parser("provider", help="remote models: Groq, OpenRouter, vLLM, another Fireside…")
    ps = p.add_subparsers(dest="provider_command", metavar="ACTION", required=True)

    # no abbreviations: `--api-key SECRET` must not pass as `--api-key-env SECRET`
    a = ps.add_parser("add", allow_abbrev=False,
                      help="add (or change) a provider; the key is read from "
                      "--api-key-env or standard input, never the command line")
    a.add_argument("name", help="short name, used as NAME:MODEL_ID")
    a.add_argument("--base-url", default=None, help="the API's base URL (…/v1)")
    a.add_argument("--preset", default=CUSTOM, choices=sorted(PRESETS),
                   help="a known provider (fills in the base URL)")
    a.add_argument("--api-key-env", default=None, metavar="VAR",
                   help="read the API key from this environment variable")
    a.add_argument("--no-key", action="store_true", help="this provider needs no key")
    a.add_argument("--header", action="append", default=[], metavar="'NAME: VALUE'",
                   help="an extra header on every request (repeatable)")
    a.add_argument("--filter", default="", metavar="GLOBS",
                   help="offer only model ids matching these globs (comma-separated)")
    a.add_argument("--disabled", action="store_true", help="add it turned off")
    a.set_defaults(handler=cmd_add)

    ls = ps.add_parser("ls", help="list providers")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=cmd_ls)

    m = ps.add_parser("models", help="the models a provider offers now")
    m.add_argument("name")
    m.add_argument("--json", action="store_true")
    m.add_argument("--refresh", action="store_true", help="ask again, not the cached list")
    m.set_defaults(handler=cmd_models)

    for action, text, handler in (("rm", "remove a provider and its key", cmd_rm),
                                  ("test", "one short request: latency, model count", cmd_test),
                                  ("enable", "offer its models again", cmd_enable),
                                  ("disable", "keep it, offer none of its models", cmd_disable)):
        sp = ps.add_parser(action, help=text)
        sp.add_argument("name")
        sp.set_defaults(handler=handler)


def _read_key(args: argparse.Namespace) -> str | None:
    if args.no_key:
        return ""
    if args.api_key_env:
        value = os.environ.get(args.api_key_env)
        if value is None:
            raise FiresideError(f"the environment variable {args.api_key_env} is not set")
        return value.strip()
    if sys.stdin.isatty():
        return getpass.getpass(f"API key for {args.name} (hidden; empty for none): ").strip()
    return sys.stdin.read().strip()


def _headers(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition(":")
        if not sep or not key.strip():
            raise FiresideError(f"--header {pair!r} should look like 'Name: value'")
        out[key.strip()] = value.strip()
    return out


def cmd_add(args: argparse.Namespace) -> int:
    ctx = context.build()
    base = args.base_url or preset_url(args.preset)
    if not base:
        raise FiresideError("give --base-url URL (or a --preset such as groq)")
    provider = Provider(args.name, base, args.preset, _headers(args.header), args.filter,
                        not args.disabled)
    key = _read_key(args)
    ctx.remote.store.save(provider, key)
    where = ctx.settings.secrets.where() if key else "no key"
    note(f"Added {provider.name} ({provider.base_url}); key: {where}. "
         f"Try: fireside provider test {provider.name}")
    return 0


def cmd_ls(args: argparse.Namespace) -> int:
    ctx = context.build()
    store = ctx.remote.store
    rows = [{**p.to_json(), "headers": sorted(p.headers), "has_key": bool(store.api_key(p.name))}
            for p in store.list()]
    if args.json:
        emit_json(rows)
        return 0
    if not rows:
        note("No providers yet. Try: fireside provider add groq --preset groq "
             "--api-key-env GROQ_API_KEY")
        return 0
    for r in rows:
        state = "on" if r["enabled"] else "off"
        key = "key set" if r["has_key"] else "no key"
        print(f"{r['name']:<16} {state:<4} {key:<8} {r['base_url']}"
              + (f"  filter {r['model_filter']}" if r["model_filter"] else ""))
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    ctx = context.build()
    try:
        models = ctx.remote.models(args.name, refresh=args.refresh)
    except RemoteError as exc:
        note(f"fireside: {exc}")
        return EXIT_FAILED
    if args.json:
        emit_json([m.to_json() for m in models])
        return 0
    for m in models:
        print(m.ref + (f"  (context {m.context_length:,})" if m.context_length else ""))
    if not models:
        note(f"{args.name} offers no models" + (" matching its filter" if
                                                ctx.remote.store.get(args.name).model_filter
                                                else ""))
    return 0


def cmd_rm(args: argparse.Namespace) -> int:
    context.build().remote.store.remove(args.name)
    note(f"Removed {args.name} and its key")
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    result = context.build().remote.test(args.name)
    if not result.ok:
        note(f"fireside: {result.message}")
        return EXIT_FAILED
    print(result.message)
    return 0


def _set_enabled(name: str, enabled: bool) -> int:
    store = context.build().remote.store
    provider = store.get(name)
    provider.enabled = enabled
    store.save(provider)
    note(f"{name} is {'on' if enabled else 'off'}")
    return 0


def cmd_enable(args: argparse.Namespace) -> int:
    return _set_enabled(args.name, True)


def cmd_disable(args: argparse.Namespace) -> int:
    return _set_enabled(args.name, False)

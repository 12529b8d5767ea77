"""`fireside secrets [set|rm NAME]`: the API key and Hub token, without putting them in argv.

A value is read from stdin (hidden when it is a terminal), never from the command line, where
every user of the machine could read it in `ps`.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from fireside.core import context
from fireside.core.cli.output import emit_json, note
from fireside.core.errors import FiresideError

NAMES = {"api-key": ("server", "api_key"), "hub-token": ("hub", "token")}


def register(sub: Any) -> None:
    p = sub.add_parser("secrets", help="where the API key and Hub token are kept; set them")
    p.add_argument("action", nargs="?", choices=["show", "set", "rm"], default="show")
    p.add_argument("name", nargs="?", choices=sorted(NAMES), help="which secret")
    p.add_argument("--json", action="store_true", help="print JSON (show)")
    p.set_defaults(handler=cmd_secrets)


def cmd_secrets(args: argparse.Namespace) -> int:
    ctx = context.build()
    store = ctx.settings
    if args.action == "show":
        settings = store.read()
        present = {name: bool(getattr(getattr(settings, sec), key))
                   for name, (sec, key) in NAMES.items()}
        if args.json:
            emit_json({"backend": store.secrets.backend, "where": store.secrets.where(),
                       "set": present})
        else:
            print(f"Secrets are {store.secrets.where()}.")
            for name, is_set in present.items():
                print(f"  {name:<10} {'set' if is_set else 'not set'}")
        return 0
    if not args.name:
        raise FiresideError(f"say which secret to {args.action}: {' or '.join(sorted(NAMES))}")
    sec, key = NAMES[args.name]
    value = ""
    if args.action == "set":
        value = (getpass.getpass(f"{args.name}: ") if sys.stdin.isatty()
                 else sys.stdin.readline()).strip()
        if not value:
            raise FiresideError(f"no value given for {args.name} (it is read from stdin)")
    store.update(lambda s: setattr(getattr(s, sec), key, value))
    note(f"{args.name} {'saved' if value else 'removed'}; secrets are {store.secrets.where()}")
    return 0

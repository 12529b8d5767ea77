"""`fireside` command line, in the spirit of `ollama` and `lms`.

Each ``*_cmd.py`` module in this package registers its own subcommands, so features add
commands without touching this file. A :class:`FiresideError` prints one line on stderr and
exits 2; no traceback for expected failures.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Callable, Sequence

from fireside.core.errors import FiresideError

log = logging.getLogger("fireside.cli")
Handler = Callable[[argparse.Namespace], int]
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fireside", description="Run open-weight LLMs on your own machine.")
    parser.add_argument("-v", "--log-verbose", action="store_true",
                        help="log debug messages to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    package = importlib.import_module("fireside.core.cli")
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.endswith("_cmd"):
            module = importlib.import_module(f"fireside.core.cli.{info.name}")
            module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(args_list)
    from fireside.core import logs, paths

    logs.configure(paths.resolve(), verbose=args.log_verbose)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        from fireside.core.cli.window import open_window

        return open_window(args_list)
    try:
        return handler(args)
    except FiresideError as exc:
        print(f"fireside: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("fireside: interrupted", file=sys.stderr)
        return 130

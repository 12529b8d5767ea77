"""`fireside` command line, in the spirit of `ollama` and `lms`.

Each ``*_cmd.py`` module in this package registers its own subcommands, so features add
commands without touching this file. A :class:`FiresideError` prints one line on stderr and
exits 2. Anything else (an ``OSError`` from a disk, a bug) also prints one line and exits 2;
its traceback goes to the log file, whose path the line gives. No traceback on the terminal.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from fireside.core.errors import FiresideError

log = logging.getLogger("fireside.cli")
Handler = Callable[[argparse.Namespace], int]
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fireside", description="Run open-weight LLMs on your own machine.")
    parser.add_argument("-v", "--log-verbose", action="store_true",
                        help="log debug messages to stderr")
    parser.add_argument("--version", action="version", version=f"fireside {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    package = importlib.import_module("fireside.core.cli")
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.endswith("_cmd"):
            module = importlib.import_module(f"fireside.core.cli.{info.name}")
            module.register(sub)
    return parser


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("fireside")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(args_list)
    from fireside.core import logs, paths

    log_path: Path | None = None
    try:
        log_path = logs.configure(paths.resolve(), verbose=args.log_verbose)
        handler: Handler | None = getattr(args, "handler", None)
        if handler is None:
            from fireside.core.cli.window import open_window

            return open_window(args_list)
        return handler(args)
    except FiresideError as exc:
        print(f"fireside: {exc}", file=sys.stderr)
        return int(getattr(exc, "exit_code", EXIT_USAGE))  # 1: a runtime failure, not input
    except KeyboardInterrupt:
        print("fireside: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `fireside ls --json | head -1`: the reader left; not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the exit-time flush cannot raise again
        return 0
    except Exception as exc:
        return _unexpected(exc, args_list, log_path)


def _unexpected(exc: Exception, args_list: list[str], log_path: Path | None) -> int:
    """One line for the person, the traceback for the log file."""
    from fireside.core.logs import CONSOLE

    command = args_list[0] if args_list else "(window)"
    log.error("unexpected error in `fireside %s`", command, exc_info=exc,
              extra={CONSOLE: False})
    where = f"the traceback is in {log_path}" if log_path else "no log file could be opened"
    print(f"fireside: {describe(exc)} ({where})", file=sys.stderr)
    return EXIT_USAGE


def describe(exc: BaseException) -> str:
    """An exception as one line a person can act on (errno text and file, not a repr)."""
    if isinstance(exc, OSError) and exc.strerror:
        names = " -> ".join(str(n) for n in (exc.filename, exc.filename2) if n)
        return f"{exc.strerror}" + (f": {names}" if names else "")
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__

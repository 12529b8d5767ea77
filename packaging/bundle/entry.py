"""The bundle's entry point: the same `fireside` command a pip install gets.

Fireside starts helper processes as ``sys.executable -m MODULE`` (the GGUF vocabulary
pre-flight, fresh-process measurements) or ``-c CODE`` (the window's Qt probe). A frozen
executable is not a Python interpreter, so it answers those two forms itself, as Python would.
"""

import runpy
import sys


def _as_python(argv: list[str]) -> bool:
    if len(argv) >= 3 and argv[1] == "-m":
        sys.argv = [argv[2], *argv[3:]]
        runpy.run_module(argv[2], run_name="__main__", alter_sys=True)
        return True
    if len(argv) >= 3 and argv[1] == "-c":
        sys.argv = ["-c", *argv[3:]]
        exec(compile(argv[2], "<string>", "exec"), {"__name__": "__main__"})
        return True
    return False


if __name__ == "__main__":
    if getattr(sys, "frozen", False) and _as_python(sys.argv):
        sys.exit(0)
    from fireside.core.cli.main import main

    sys.exit(main())

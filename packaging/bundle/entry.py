"""The bundle's entry point: the same `fireside` command a pip install gets.

A frozen executable has no ``python -c``; the window's start-up probe (core/cli/window.py)
runs this executable with FIRESIDE_QT_PROBE=1 instead, which runs the probe's code.
"""

import os
import sys

if __name__ == "__main__":
    from fireside.core.cli import window

    if os.environ.get(window.PROBE_ENV) == "1":
        exec(window.PROBE)  # noqa: S102 - a constant of ours, not input
        sys.exit(0)
    from fireside.core.cli.main import main

    sys.exit(main())

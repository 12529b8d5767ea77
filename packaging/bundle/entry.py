"""The bundle's entry point: the same `fireside` command a pip install gets."""

import sys

from fireside.core.cli.main import main

if __name__ == "__main__":
    sys.exit(main())

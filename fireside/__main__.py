"""`python -m fireside`: the same entry point as the `fireside` console script."""

from fireside.core.cli.main import main

raise SystemExit(main())

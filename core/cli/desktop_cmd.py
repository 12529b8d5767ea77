"""`fireside install-desktop`: the menu entry, icons and AppStream metainfo for this user."""

from __future__ import annotations

import argparse
from typing import Any

from fireside.core.cli.output import note


def register(sub: Any) -> None:
    p = sub.add_parser("install-desktop",
                       help="add Fireside to this user's application menu (XDG paths)")
    p.add_argument("--uninstall", action="store_true", help="remove what it installed")
    p.set_defaults(handler=cmd_install_desktop)


def cmd_install_desktop(args: argparse.Namespace) -> int:
    from fireside.core import desktop

    if args.uninstall:
        for path in desktop.uninstall():
            note(f"removed {path}")
        return 0
    done = desktop.install()
    for path in done.paths:
        print(path)
    note(f"Fireside is in the application menu (starts {desktop.launcher()})")
    return 0

"""mess gui: open the desktop application (Qt is imported only when the command runs)."""

from __future__ import annotations

import argparse

from core.cli.commands import COMMANDS, Command


def configure(parser: argparse.ArgumentParser) -> None:
    from app.main import add_arguments

    add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from app.main import run_app

    return run_app(args)


COMMANDS.add("gui", Command("gui", "open the desktop application on a model (default: the bundled one)",
                            configure, run=run))

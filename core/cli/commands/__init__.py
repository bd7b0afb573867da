"""The registry of `mess` subcommands: each module adds one Command."""

from __future__ import annotations

import argparse
from dataclasses import KW_ONLY, dataclass
from typing import Callable

from core.registry import Registry


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    _: KW_ONLY
    run: Callable[[argparse.Namespace], int]


COMMANDS: Registry[Command] = Registry("command")


def load_commands() -> Registry[Command]:
    """Import the command modules (each registers itself) and return the registry."""
    from core.cli.commands import (convert, evaluate, export, gui, inspect, profile, quantize, run,  # noqa: F401
                                   search, train)

    return COMMANDS

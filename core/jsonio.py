"""JSON files: read with limits (``read_json``), written all or nothing (``write_json_atomic``).

Reading a JSON file a user gave: size and depth limits, no NaN or Infinity, one-line errors naming it.

Every JSON file the engine reads from a user (exit configurations, model.json, latency
tables, recipes, run configs, class sets) goes through ``read_json``: a huge file, a
100,000-deep nesting, a NaN, bad UTF-8 or bad JSON is refused with one line that names
the file, raised as the caller's error type; never a RecursionError or a traceback.
Every JSON file the engine writes goes through ``write_json_atomic`` (core.fileio's atomic
bytes writer: a temporary beside the target, renamed into place).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.errors import ConfigError, MessError
from core.fileio import write_bytes_atomic

MAX_BYTES = 64 * 2**20
MAX_DEPTH = 64


class _NotANumber(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NotANumber(name)


def depth_of(value: Any) -> int:
    """Nesting depth of lists and objects (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def read_json(path: str | Path, what: str = "JSON file", error: type[MessError] = ConfigError,
              max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """The parsed contents of ``path``; ``error`` (one line naming the file) for anything wrong with it."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise error(f"{path}: is not a file ({what})")
        if size > max_bytes:
            raise error(f"{path}: {size:,} bytes, larger than the {max_bytes:,} allowed for a valid {what}")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: {what} not found") from None
    except OSError as exc:
        raise error(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte {exc.start}), so not a valid {what}") from None
    return parse_json(text, str(path), what, error=error, max_depth=max_depth)


def parse_json(text: str, source: str, what: str = "JSON file", error: type[MessError] = ConfigError,
               max_depth: int = MAX_DEPTH) -> Any:
    """``read_json`` for text already read (``source`` names it in errors)."""
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except _NotANumber as exc:
        raise error(f"{source}: {exc.args[0]} is not a number ({what}s hold finite numbers only)") from None
    except RecursionError:
        raise error(f"{source}: nested more than {max_depth} levels deep (not a valid {what})") from None
    except json.JSONDecodeError as exc:
        raise error(f"{source}: not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})") from None
    if depth_of(data) > max_depth:
        raise error(f"{source}: nested more than {max_depth} levels deep (not a valid {what})")
    return data


def json_bytes(data: dict) -> bytes:
    """The bytes ``write_json_atomic`` writes: indented JSON and a newline."""
    return (json.dumps(data, indent=2) + "\n").encode()


def write_json_atomic(path: str | Path, data: dict) -> None:
    """Write ``data`` to ``path`` all or nothing (WriteError, one line, the previous file unchanged)."""
    write_bytes_atomic(Path(path), json_bytes(data))

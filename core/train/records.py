"""The run folder's small files read back defensively: metrics.jsonl lines and the class-weight cache.

A line torn by a kill, or a cache damaged on disk, is never fatal: the line is skipped and the
weights are counted again."""

from __future__ import annotations

import json
from pathlib import Path

from core.errors import MessError
from core.jsonio import read_json


def parse_record(line: str) -> dict | None:
    """One metrics.jsonl line as a record; None for a blank, torn or foreign line (a run killed mid-write)."""
    try:
        record = json.loads(line) if line.strip() else None
    except (json.JSONDecodeError, RecursionError):
        return None
    return record if isinstance(record, dict) else None


def read_records(path: str | Path) -> list[dict]:
    """The records of a metrics.jsonl, oldest first ([] when there is none); bad lines skipped."""
    path = Path(path)
    if not path.is_file():
        return []
    return [record for record in map(parse_record, path.read_text().splitlines()) if record is not None]


def read_class_weights(path: str | Path, num_classes: int) -> list[float] | None:
    """A run's class-weight cache (class_weights.json), or None when it is missing or not valid for
    ``num_classes`` classes (then the weights are counted again)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        data = read_json(path, "class-weight cache", max_bytes=1 << 20)
    except MessError:
        return None
    weights = data.get("weights") if isinstance(data, dict) else None
    if (not isinstance(weights, list) or len(weights) != num_classes
            or not all(isinstance(w, (int, float)) and not isinstance(w, bool) and w >= 0 for w in weights)):
        return None
    return [float(w) for w in weights]

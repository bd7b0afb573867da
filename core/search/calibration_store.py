"""Several calibration caches per model: one slot per calibration set, the few most recent kept.

A slot is ``<model>/calibration/<key>.npz``, the key a short digest of the calibration images (their
paths, or a video's path and frame indices) and the reference (labels, or the final exit). So
calibrating on CamVid, then on a video, then on CamVid again reuses the first cache instead of
recalibrating. A slot whose model, exits or input size changed is stale and rebuilt in place; a
slot that cannot be read is rebuilt with one warning. Writes are atomic (core.fileio); after each
write only the ``MAX_SLOTS`` most recently used slots are kept (using one counts as recent).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from core.errors import MessError
from core.search.calibration import CalibrationCache, dataset_fingerprint

CALIBRATION_DIR = "calibration"
MAX_SLOTS = 4


def slot_key(image_paths: list[str], reference: str, precision: str = "fp32") -> str:
    """16 hex digits naming the slot of these images calibrated against ``reference`` at ``precision``."""
    text = json.dumps({"images": dataset_fingerprint(image_paths), "reference": reference,
                       **({"precision": precision} if precision != "fp32" else {})})
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class CalibrationStore:
    """The calibration slots of one model folder."""

    folder: Path
    max_slots: int = MAX_SLOTS

    @classmethod
    def of_model(cls, model_dir: str | Path, max_slots: int = MAX_SLOTS) -> "CalibrationStore":
        return cls(Path(model_dir) / CALIBRATION_DIR, max_slots)

    def slot(self, image_paths: list[str], reference: str, precision: str = "fp32") -> Path:
        return self.folder / f"{slot_key(image_paths, reference, precision)}.npz"

    def slots(self) -> list[Path]:
        """The slots on disk, most recently used first."""
        if not self.folder.is_dir():
            return []
        found = [(p.stat().st_mtime_ns, p.name, p) for p in self.folder.glob("*.npz") if p.is_file()]
        return [p for *_, p in sorted(found, reverse=True)]

    def find(self, *, weights_sha256: str, exit_ids: list[str], input_size: tuple[int, int],
             image_paths: list[str], reference: str, precision: str = "fp32",
             warn: Callable[[str], None] | None = None) -> CalibrationCache | None:
        """The cache of this calibration set when its slot is valid for the model, else None (a stale
        or unreadable slot is reported to ``warn``, one line, and will be rebuilt)."""
        path = self.slot(image_paths, reference, precision)
        if not path.is_file():
            return None
        warn = warn or (lambda message: None)
        try:
            cache = CalibrationCache.load(path)
        except MessError as exc:
            warn(f"{exc}; rebuilding")
            return None
        if not cache.is_valid_for(weights_sha256, exit_ids, input_size, policy=cache.policy, image_paths=image_paths,
                                  reference=reference, precision=precision):
            warn(f"{path}: stale (model, exits or size changed); rebuilding")
            return None
        _touch(path)
        return cache

    def store(self, cache: CalibrationCache) -> Path:
        """Write ``cache`` to its slot (atomically), then drop the least recently used beyond the bound.
        A failed write raises core.fileio.WriteError."""
        path = self.slot(cache.image_paths, cache.reference, cache.precision)
        cache.save(path)
        _touch(path)
        for old in self.slots()[self.max_slots:]:
            try:
                old.unlink()
            except OSError:
                pass          # another process removed it, or a read-only folder: the bound is best effort
        return path


def _touch(path: Path) -> None:
    """Mark ``path`` as just used (its modification time orders the slots)."""
    now = time.time_ns()
    try:
        os.utime(path, ns=(now, now))
    except OSError:
        pass                  # a read-only model folder: the slot is still used, only not marked

"""One dataset item on disk: an image and, when labelled, its mask."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Sample:
    image: Path
    mask: Path | None

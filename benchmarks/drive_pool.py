"""The command-line options the leave-one-drive-out benchmarks share (heldout_search, temperature_calibration)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.cli.common import BUNDLED_MODEL  # noqa: E402

CAMVID = Path(__file__).resolve().parents[2] / "shared" / "data" / "camvid"


def drive_pool_parser(description: str, *, out: str) -> argparse.ArgumentParser:
    """--model, --data, --split (the pool: CamVid train+val), --max-drop, --backend, --threads, --out."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--model", default=str(BUNDLED_MODEL))
    parser.add_argument("--data", default=str(CAMVID))
    parser.add_argument("--split", default="train+val")
    parser.add_argument("--max-drop", type=float, default=1.0)
    parser.add_argument("--backend", default=None, help="default: the default backend")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=out)
    return parser

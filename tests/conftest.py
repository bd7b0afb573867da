"""Shared fixtures: where ../shared/data is, and skipping when it is absent."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Exported graphs go to one temporary cache for the whole run, not to the user's ~/.cache.
os.environ.setdefault("MESS_CACHE_DIR", tempfile.mkdtemp(prefix="mess-test-cache-"))

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """../shared/data beside the checkout, or $MESS_SHARED_DATA when set."""
    env = os.environ.get("MESS_SHARED_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def camvid_root() -> Path:
    root = shared_data_dir() / "camvid"
    if not (root / "val").is_dir():
        pytest.skip(f"real-data test: CamVid not found at {root} (../shared/data is absent on this machine)")
    return root


@pytest.fixture(scope="session")
def videos_root() -> Path:
    root = shared_data_dir() / "videos"
    if not root.is_dir():
        pytest.skip(f"real-data test: videos not found at {root} (../shared/data is absent on this machine)")
    return root

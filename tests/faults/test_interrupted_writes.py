"""Interrupted writers: a Ctrl-C or SIGTERM during the fsync of an atomic write, and what a killed writer
left behind (moved here from tests/test_fileio.py)."""

from __future__ import annotations

import json
import os
import time

import pytest

from core.fileio import clean_stale_temps, write_json_atomic


def test_stale_temporaries_of_a_killed_writer_are_removed(tmp_path):
    stale, fresh, other = tmp_path / ".last.safetensors.ab12.tmp", tmp_path / ".x.json.cd34.tmp", tmp_path / "keep.tmp"
    for path in (stale, fresh, other):
        path.write_bytes(b"")
    past = time.time() - 3600
    os.utime(stale, (past, past))
    os.utime(other, (past, past))
    assert clean_stale_temps(tmp_path) == [stale]
    assert not stale.exists() and fresh.exists() and other.exists()
    assert clean_stale_temps(tmp_path / "absent") == []


def test_ctrl_c_during_the_fsync_leaves_no_temporary_file(tmp_path, monkeypatch):
    """A stop (Ctrl-C, SIGTERM) while the new file is flushed: the old file stays, no .tmp is left."""
    import core.fileio

    target = tmp_path / "state.json"
    write_json_atomic(target, {"old": True})

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(core.fileio.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_json_atomic(target, {"new": True})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]
    assert json.loads(target.read_text()) == {"old": True}

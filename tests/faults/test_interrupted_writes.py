"""Interrupted writers: a Ctrl-C or SIGTERM during the fsync of an atomic write, and what a killed writer
left behind (moved here from tests/test_fileio.py)."""

from __future__ import annotations

import json
import os
import time

import pytest

from core.fileio import clean_stale_temps
from core.jsonio import write_json_atomic


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


def _dead_pid() -> int:
    """The id of a process that has ended."""
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_fresh_temporary_of_a_dead_writer_is_removed_at_once_a_live_ones_stays(tmp_path):
    """The writer's pid is in the name: a file a SIGKILLed writer left a second ago is known stale
    (the age rule alone kept it for a minute), one a running writer is about to rename is kept."""
    from core.fileio import temp_beside

    mine = temp_beside(tmp_path / "last.safetensors")
    assert f".{os.getpid()}-" in mine.name
    dead = tmp_path / f".last.safetensors.{_dead_pid()}-k3x9q_.tmp"
    alive = tmp_path / f".model.json.{os.getppid()}-a1b2c3.tmp"
    for path in (dead, alive):
        path.write_bytes(b"")
    assert clean_stale_temps(tmp_path) == [dead]
    assert mine.exists() and alive.exists() and not dead.exists()


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

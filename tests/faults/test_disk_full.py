"""A full disk: one line naming the file, exit 2, the previous file as it was, no partial file left.

A 64 KiB tmpfs where root can mount one (moved here from tests/test_fileio.py), else skipped; the
patched-writer cases (fsync failing with ENOSPC) run everywhere.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess

import pytest

from core.fileio import WriteError, write_bytes_atomic
from core.jsonio import write_json_atomic
from tests.faults.conftest import hidden_files, mess_argv, mess_env, one_line, write_clip


def test_a_full_disk_is_one_line_and_the_previous_file_stays(tiny_disk):
    target = tiny_disk / "report.json"
    write_json_atomic(target, {"old": True})
    with pytest.raises(WriteError) as err:
        write_bytes_atomic(target, b"x" * (1 << 20))
    message = str(err.value)
    assert message.startswith(f"{target}: cannot write (No space left on device)") and "\n" not in message
    assert target.read_text().strip().startswith("{") and '"old": true' in target.read_text()
    assert [p.name for p in tiny_disk.iterdir()] == ["report.json"], "no temporary file left"


def test_a_video_recorded_onto_a_full_disk_stops_at_the_frame_that_finds_it_full(tiny_disk):
    import numpy as np

    from core.errors import MessError
    from core.runtime.video.recorder import VideoRecorder

    recorder = VideoRecorder(tiny_disk / "o.mp4", 10.0, (96, 128))
    rng = np.random.default_rng(0)
    full = r"o.mp4: its disk is full \(.* bytes free\) after \d+ frames?; nothing was kept"
    with pytest.raises(MessError, match=full):
        for _ in range(40):
            recorder.write(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8))
    assert 0 < recorder.frames < 40, "stopped when the disk filled, not at the end"
    assert recorder.close() is None and list(tiny_disk.iterdir()) == []


def test_a_video_the_disk_cannot_finish_is_refused_not_reported_as_saved(tmp_path, monkeypatch):
    """Without root: a writer that leaves a file OpenCV cannot open (no index) is caught at close."""
    import numpy as np

    from core.errors import MessError
    from core.runtime.video import recorder as recording

    monkeypatch.setattr(recording, "_readable", lambda path: False)
    recorder = recording.VideoRecorder(tmp_path / "o.mp4", 10.0, (96, 128))
    recorder.write(np.zeros((96, 128, 3), np.uint8))
    with pytest.raises(MessError, match=r"o.mp4: the video could not be written completely \(.* bytes free"):
        recorder.close()
    assert list(tmp_path.iterdir()) == []


def test_mess_run_onto_a_full_disk_writes_one_line_to_the_real_stderr(tiny_disk, tmp_path, model_dir):
    """OpenCV writes its per-frame warnings to file descriptor 2, which capsys does not see: a child."""
    clip = write_clip(tmp_path / "clip.mp4", 300)
    done = subprocess.run(mess_argv("run", "--model", str(model_dir), "--source", str(clip), "--backend", "torch",
                                    "--quiet", "--out", str(tiny_disk / "o.mp4")),
                          capture_output=True, text=True, env=mess_env(), timeout=300)
    line = one_line(done.stderr)
    assert done.returncode == 2 and "o.mp4: its disk is full" in line, done.stderr
    assert list(tiny_disk.iterdir()) == []


def test_mess_run_and_eval_on_a_full_disk_say_so_in_one_line(tiny_disk, tmp_path, capsys, model_dir):
    from core.cli.main import main

    model = model_dir
    clip = write_clip(tmp_path / "clip.mp4", 300)     # noise: its overlay video is far more than 64 KiB
    capsys.readouterr()
    code = main(["run", "--model", str(model), "--source", str(clip), "--backend", "torch", "--quiet",
                 "--out", str(tiny_disk / "o.mp4"), "--stats", str(tiny_disk / "s.jsonl")])
    err = capsys.readouterr().err.strip()
    said = ("disk is full", "could not be written completely", "cannot write")
    assert code == 2 and err.count("\n") == 0 and any(words in err for words in said)
    left = sorted(p.name for p in tiny_disk.iterdir())
    assert left in ([], ["s.jsonl"]), "no video, no hidden partial file"
    if left:   # the stats were finished before the video failed: complete, ending with the summary
        assert '"summary"' in (tiny_disk / "s.jsonl").read_text().splitlines()[-1]
    code = main(["convert", "--backbone", "mobilenet_v3_large", "--out", str(tiny_disk / "m"), "--heads", "light"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and "No space left on device" in err


# --- a patched writer: the disk fills up during the flush (runs without root) -------------------

def fill_the_disk(monkeypatch) -> None:
    """From now on every fsync of an atomic write fails as on a full disk."""
    import core.fileio

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(core.fileio.os, "fsync", no_space)


def test_a_json_report_on_a_full_disk_keeps_the_previous_one(tmp_path, monkeypatch):
    target = tmp_path / "report.json"
    target.write_text('{"old": true}\n')
    fill_the_disk(monkeypatch)
    with pytest.raises(WriteError) as err:
        write_json_atomic(target, {"new": True})
    assert str(err.value) == (f"{target}: cannot write (No space left on device); "
                              "the previous file, if any, is unchanged")
    assert json.loads(target.read_text()) == {"old": True} and hidden_files(tmp_path) == []


def test_mess_convert_over_a_model_on_a_full_disk_keeps_the_old_model(tmp_path, capsys, monkeypatch):
    from core.cli.main import main

    out = tmp_path / "m"
    argv = ["convert", "--backbone", "mobilenet_v3_large", "--out", str(out), "--heads", "light", "--force"]
    assert main(argv + ["--seed", "1"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    fill_the_disk(monkeypatch)
    code = main(argv + ["--seed", "2"])
    line = one_line(capsys.readouterr().err)
    assert code == 2 and "No space left on device" in line, line
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before, "the old model folder is unchanged"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"] and hidden_files(tmp_path) == []


def test_a_model_folder_whose_model_json_finds_the_disk_full_changes_nothing(tmp_path, capsys, monkeypatch):
    """The weights fit, model.json does not: before, the new weights were already renamed into place
    (new weights beside the old model.json, or weights and no model.json in a new folder)."""
    import core.models.io
    from core.cli.main import main
    from core.fileio import stage_bytes

    def full_at_model_json(path, data):
        if path.name == "model.json":
            raise WriteError(f"{path}: cannot write (No space left on device); the previous file, if any, "
                             "is unchanged")
        return stage_bytes(path, data)

    out = tmp_path / "m"
    argv = ["convert", "--backbone", "mobilenet_v3_large", "--heads", "light", "--force"]
    assert main(argv + ["--out", str(out), "--seed", "1"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    monkeypatch.setattr(core.models.io, "stage_bytes", full_at_model_json)
    assert main(argv + ["--out", str(out), "--seed", "2"]) == 2
    assert "model.json: cannot write (No space left on device)" in one_line(capsys.readouterr().err)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before, "the old model folder is unchanged"
    assert main(argv + ["--out", str(tmp_path / "new"), "--seed", "2"]) == 2
    one_line(capsys.readouterr().err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"], "the new folder is not left behind"
    assert hidden_files(tmp_path) == []


def test_mess_convert_onto_a_full_disk_leaves_no_empty_folder(tiny_disk, capsys):
    from core.cli.main import main

    code = main(["convert", "--backbone", "mobilenet_v3_large", "--out", str(tiny_disk / "m"), "--heads", "light"])
    assert code == 2 and "No space left on device" in one_line(capsys.readouterr().err)
    assert list(tiny_disk.iterdir()) == []


def test_a_training_checkpoint_that_finds_the_disk_full_is_one_line_and_the_previous_one_stays(
        tmp_path, capsys, monkeypatch):
    """Epoch 1's checkpoint is written; the disk fills before epoch 2's: one line, exit 2, epoch 1's
    checkpoint as it was, no temporary file, and --resume (with space again) finishes the run."""
    import core.fileio
    from core.cli.main import main
    from core.train.checkpoint import read_info
    from tests.train.conftest import one_thread, tiny_argv, write_tiny_camvid

    data = write_tiny_camvid(tmp_path / "data")
    out = tmp_path / "run"
    argv = ["train", *tiny_argv(data, out, epochs=2), "--stage", "1"]
    real_fsync = core.fileio.os.fsync
    checkpoints = {"written": 0}

    def full_at_the_second_checkpoint(fd):
        if "checkpoints" in os.readlink(f"/proc/self/fd/{fd}"):
            checkpoints["written"] += 1
            if checkpoints["written"] == 2:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(core.fileio.os, "fsync", full_at_the_second_checkpoint)
    with one_thread():
        code = main(argv)
    line = one_line(capsys.readouterr().err)
    assert code == 2 and line.endswith("stage1.safetensors: cannot write (No space left on device); the previous "
                                       "file, if any, is unchanged"), line
    saved = sorted((out / "checkpoints").iterdir())
    assert [p.name for p in saved] == ["stage1.safetensors"] and hidden_files(out) == []
    assert read_info(saved[0])["epoch"] == 0, "epoch 1's checkpoint, as it was"
    monkeypatch.setattr(core.fileio.os, "fsync", real_fsync)
    with one_thread():
        assert main(argv + ["--resume"]) == 0, capsys.readouterr().err
    assert (out / "stage1-model" / "model.json").is_file()

"""All-or-nothing outputs: permissions as the umask says, one line on a full disk, stale temporaries removed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import pytest

from core.fileio import WriteError, clean_stale_temps, write_bytes_atomic, write_json_atomic


def test_outputs_get_the_umasks_permissions_not_mkstemps_0600(tmp_path):
    old = os.umask(0o022)
    try:
        write_json_atomic(tmp_path / "a.json", {"x": 1})
    finally:
        os.umask(old)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644


@pytest.fixture
def tiny_disk(tmp_path):
    """A 64 KiB tmpfs (root only), else skip."""
    folder = tmp_path / "full"
    folder.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield folder
    subprocess.run(["umount", str(folder)], capture_output=True)


def test_a_full_disk_is_one_line_and_the_previous_file_stays(tiny_disk):
    target = tiny_disk / "report.json"
    write_json_atomic(target, {"old": True})
    with pytest.raises(WriteError) as err:
        write_bytes_atomic(target, b"x" * (1 << 20))
    message = str(err.value)
    assert message.startswith(f"{target}: cannot write (No space left on device)") and "\n" not in message
    assert target.read_text().strip().startswith("{") and '"old": true' in target.read_text()
    assert [p.name for p in tiny_disk.iterdir()] == ["report.json"], "no temporary file left"


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


def test_a_video_recorded_onto_a_full_disk_is_refused_not_reported_as_saved(tiny_disk):
    import numpy as np

    from core.errors import MessError
    from core.runtime.recorder import VideoRecorder

    recorder = VideoRecorder(tiny_disk / "o.mp4", 10.0, (96, 128))
    rng = np.random.default_rng(0)
    for _ in range(40):
        recorder.write(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8))
    with pytest.raises(MessError, match=r"o.mp4: the video could not be written completely \(.* bytes free"):
        recorder.close()
    assert list(tiny_disk.iterdir()) == []


def test_mess_run_and_eval_on_a_full_disk_say_so_in_one_line(tiny_disk, tmp_path, capsys):
    import cv2
    import numpy as np

    from core.cli.main import main
    from core.data.classes import CLASS_SETS
    from core.models import HeadConfig, convert_backbone, save_model

    net = convert_backbone("mobilenet_v3_large", CLASS_SETS.get("camvid"), [HeadConfig("fcn", "64", 0)],
                           points=["features.6"], input_size=(48, 64))
    model = tmp_path / "model"
    save_model(net, model)
    clip = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (128, 96))
    for i in range(300):
        writer.write(np.random.default_rng(i).integers(0, 256, (96, 128, 3), dtype=np.uint8))
    writer.release()
    capsys.readouterr()
    code = main(["run", "--model", str(model), "--source", str(clip), "--backend", "torch", "--quiet",
                 "--out", str(tiny_disk / "o.mp4"), "--stats", str(tiny_disk / "s.jsonl")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and ("could not be written completely" in err or "cannot write" in err)
    left = sorted(p.name for p in tiny_disk.iterdir())
    assert left in ([], ["s.jsonl"]), "no video, no hidden partial file"
    if left:   # the stats were finished before the video failed: complete, ending with the summary
        assert '"summary"' in (tiny_disk / "s.jsonl").read_text().splitlines()[-1]
    code = main(["convert", "--backbone", "mobilenet_v3_large", "--out", str(tiny_disk / "m"), "--heads", "light"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and "No space left on device" in err


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

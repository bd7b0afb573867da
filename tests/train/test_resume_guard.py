"""--out after a failed start, and --resume with changed settings: refused in one line, or overridden on request."""

from __future__ import annotations

import json

from core.cli.main import main
from tests.train.conftest import one_thread, tiny_argv


def test_a_run_that_failed_before_saving_anything_leaves_out_reusable(tiny_data, tmp_path, capsys):
    out = tmp_path / "run"
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"not safetensors")
    with one_thread():
        code = main(["train", *tiny_argv(tiny_data, out, "--pretrained", str(bad), epochs=1), "--stage", "1"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and "broken.safetensors" in err
    assert not out.exists(), "the failed start (after run.json was written) leaves --out as it was: absent"
    with one_thread():
        code = main(["train", *tiny_argv(tiny_data, out, epochs=1), "--stage", "1"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "holds another run" not in captured.err
    assert json.loads((out / "run.json").read_text())["pretrained"] is None


def test_a_bad_validation_frame_is_found_before_the_first_checkpoint(tiny_data, tmp_path, capsys):
    """The first validation runs after the first epoch's checkpoint: a bad val image found there left
    that checkpoint, and --out 'held another run' for the corrected command."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    bad = sorted((data / "val").iterdir())[0]
    bad.write_bytes(b"not a PNG")
    out = tmp_path / "run"
    with one_thread():
        code = main(["train", *tiny_argv(data, out, epochs=1), "--stage", "1"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and bad.name in err, err
    assert not out.exists(), "nothing was trained or kept"


def test_a_resume_removes_what_a_killed_writer_left_in_the_model_folders(tiny_data, tmp_path, capsys):
    from tests.faults.test_interrupted_writes import _dead_pid

    out = tmp_path / "run"
    with one_thread():
        assert main(["train", *tiny_argv(tiny_data, out, epochs=1), "--stage", "1"]) == 0
    left = [out / "stage1-model" / f".weights.{_dead_pid()}-zz9x_1.tmp",
            out / "checkpoints" / f".x.{_dead_pid()}-q.tmp"]
    for path in left:
        path.write_bytes(b"")
    with one_thread():
        assert main(["train", *tiny_argv(tiny_data, out, epochs=1), "--stage", "1", "--resume"]) == 0
    assert not any(path.exists() for path in left)


def test_resume_refuses_changed_settings_unless_told_to_override(tiny_data, tmp_path, capsys):
    out = tmp_path / "run"
    with one_thread():
        assert main(["train", *tiny_argv(tiny_data, out, epochs=1), "--stage", "1"]) == 0
    moved = tmp_path / "moved"
    tiny_data_copy = moved / "tiny"
    import shutil

    shutil.copytree(tiny_data, tiny_data_copy)
    capsys.readouterr()
    code = main(["train", "--data", str(tiny_data_copy), "--out", str(out), "--resume"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0
    assert f"the stored run has --data {str(tiny_data)!r}, not {str(tiny_data_copy)!r}" in err and "--override" in err
    with one_thread():
        code = main(["train", "--data", str(tiny_data_copy), "--out", str(out), "--resume", "--override"])
    assert code == 0, capsys.readouterr().err
    assert json.loads((out / "run.json").read_text())["data"] == str(tiny_data_copy)
    with one_thread():
        assert main(["train", "--out", str(out), "--resume"]) == 0, "no setting given: resumes as stored"

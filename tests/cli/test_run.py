"""`mess run` end to end on a tiny model and a tiny video made here: the JSONL contract, --out, errors."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from core.cli.common import BUNDLED_MODEL
from core.cli.main import main
from core.errors import SourceError
from core.models import FINAL_EXIT
from core.runtime.config import ExitConfig
from core.runtime.live import LiveRunner
from core.runtime.video.player import WARMUP_FRAMES
from core.runtime.video.sources import FrameSource
from tests.data.builders import noise_frames, write_image_folder, write_tiny_model, write_video

SIZE = (48, 64)
FRAMES = 12
FRAME_KEYS = {"frame": int, "exit": str, "latency_ms": float, "confidence": float}
SUMMARY_KEYS = {"frames": int, "fps": float, "median_latency_ms": float, "p95_latency_ms": float,
                "exit_histogram": dict}


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one error line on stderr, got: {err!r}"
    return lines[0]


def read_frames(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while (item := capture.read())[0]:
        frames.append(item[1])
    capture.release()
    return frames


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return write_tiny_model(tmp_path_factory.mktemp("run") / "model", SIZE)


@pytest.fixture(scope="module")
def exits(model_dir) -> list[str]:
    from core.models import load_model

    return load_model(model_dir)[0].exit_ids()


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    """12 frames of 96x128 (twice the model's size) at 10 fps."""
    path = tmp_path_factory.mktemp("run") / "clip.mp4"
    return write_video(path, noise_frames(FRAMES, (96, 128), seed=3))


@pytest.fixture()
def out(tmp_path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def mess_run(capsys, model_dir, source, *extra) -> tuple[int, str, str]:
    code = main(["run", "--model", str(model_dir), "--source", str(source), "--device", "cpu", "--quiet", *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def read_stats(path: Path) -> tuple[list[dict], dict]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert "summary" in lines[-1] and all("summary" not in line for line in lines[:-1])
    return lines[:-1], lines[-1]["summary"]


def check_contract(frames: list[dict], summary: dict) -> None:
    for line in frames:
        for key, kind in FRAME_KEYS.items():
            assert isinstance(line[key], kind), (key, line)
        assert line["latency_ms"] > 0 and 0.0 <= line["confidence"] <= 1.0
    for key, kind in SUMMARY_KEYS.items():
        assert isinstance(summary[key], kind), (key, summary)
    assert summary["frames"] == len(frames)
    assert sum(summary["exit_histogram"].values()) == len(frames)
    assert summary["fps"] > 0 and 0 < summary["median_latency_ms"] <= summary["p95_latency_ms"]


# --- the contract ------------------------------------------------------------------------------

def test_stats_jsonl_contract(capsys, model_dir, video, out):
    code, stdout, err = mess_run(capsys, model_dir, video, "--max-frames", "5", "--stats", str(out / "s.jsonl"))
    assert code == 0, err
    frames, summary = read_stats(out / "s.jsonl")
    assert len(frames) == 5 and summary["frames"] == 5
    assert [f["frame"] for f in frames] == [0, 1, 2, 3, 4]
    assert all(f["exit"] == FINAL_EXIT for f in frames)  # no --config: the full network
    check_contract(frames, summary)
    assert summary["exit_histogram"] == {FINAL_EXIT: 5}
    assert sorted(p.name for p in out.iterdir()) == ["s.jsonl"]  # no temporary left
    assert "5 frames" in stdout and "fps" in stdout


def test_every_frame_of_a_file_and_the_overlay_video(capsys, model_dir, video, out):
    code, _, err = mess_run(capsys, model_dir, video, "--stats", str(out / "s.jsonl"), "--out", str(out / "o.mp4"))
    assert code == 0, err
    frames, summary = read_stats(out / "s.jsonl")
    assert [f["frame"] for f in frames] == list(range(FRAMES))
    check_contract(frames, summary)
    recorded = read_frames(out / "o.mp4")
    assert len(recorded) == FRAMES
    assert recorded[0].shape == (*SIZE, 3)  # the processing size


def test_out_video_frame_count_is_max_frames(capsys, model_dir, video, out):
    code, _, err = mess_run(capsys, model_dir, video, "--max-frames", "4", "--out", str(out / "o.avi"),
                            "--size", "32x48")
    assert code == 0, err
    recorded = read_frames(out / "o.avi")
    assert len(recorded) == 4 and recorded[0].shape == (32, 48, 3)


def test_a_config_changes_the_exits_taken(tmp_path, capsys, model_dir, video, out, exits):
    config = tmp_path / "early.json"
    ExitConfig([exits[0], FINAL_EXIT], th_pix=[0.0, 0.0], th_img=[0.0, 0.0]).save(config)
    code, _, err = mess_run(capsys, model_dir, video, "--config", str(config), "--max-frames", "3",
                            "--stats", str(out / "s.jsonl"))
    assert code == 0, err
    frames, summary = read_stats(out / "s.jsonl")
    assert [f["exit"] for f in frames] == [exits[0]] * 3
    assert summary["exit_histogram"] == {exits[0]: 3, FINAL_EXIT: 0}
    check_contract(frames, summary)


def test_a_folder_of_images(tmp_path, capsys, model_dir, out):
    folder = write_image_folder(tmp_path / "frames", (np.full((40, 50, 3), 40 * i, np.uint8) for i in range(3)),
                                names="{i:03d}.png")
    code, _, err = mess_run(capsys, model_dir, folder, "--stats", str(out / "s.jsonl"))
    assert code == 0, err
    frames, summary = read_stats(out / "s.jsonl")
    assert summary["frames"] == 3 and summary["kind"] == "folder"


def test_progress_line_and_summary(capsys, model_dir, video):
    code = main(["run", "--model", str(model_dir), "--source", str(video), "--device", "cpu", "--max-frames", "2"])
    captured = capsys.readouterr()
    assert code == 0
    assert "frame 2/2" in captured.err and "fps" in captured.err and "exit final" in captured.err
    assert "2 frames" in captured.out and "median" in captured.out


def test_ctrl_c_finishes_the_stats_with_the_frames_so_far(capsys, model_dir, video, out, monkeypatch):
    process = LiveRunner.process
    calls = []

    def interrupted(self, rgb, index=0, dropped=0):
        calls.append(index)
        if len(calls) == WARMUP_FRAMES + 4:          # the 4th frame of the video, after the blank warm-up ones
            raise KeyboardInterrupt
        return process(self, rgb, index=index, dropped=dropped)

    monkeypatch.setattr(LiveRunner, "process", interrupted)
    code, _, err = mess_run(capsys, model_dir, video, "--stats", str(out / "s.jsonl"), "--out", str(out / "o.mp4"))
    assert code == 130 and "interrupted" in err
    frames, summary = read_stats(out / "s.jsonl")
    assert len(frames) == 3 and summary["frames"] == 3 and summary["interrupted"] is True
    assert len(read_frames(out / "o.mp4")) == 3
    assert sorted(p.name for p in out.iterdir()) == ["o.mp4", "s.jsonl"]


# --- bad inputs: exit 2, one line, nothing written ---------------------------------------------

def bad_run(capsys, out: Path, argv: list[str]) -> str:
    code = main(["run", "--device", "cpu", "--quiet", "--stats", str(out / "s.jsonl"), "--out", str(out / "o.mp4"),
                 *argv])
    assert code == 2
    line = one_error_line(capsys)
    assert list(out.iterdir()) == [], "a failed run wrote something"
    return line


def test_missing_source(capsys, model_dir, out, tmp_path):
    missing = tmp_path / "absent.mp4"
    assert str(missing) in bad_run(capsys, out, ["--model", str(model_dir), "--source", str(missing)])


def test_not_a_video(capsys, model_dir, out, tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("hello")
    assert str(text) in bad_run(capsys, out, ["--model", str(model_dir), "--source", str(text)])


def test_webcam_that_does_not_exist(capsys, model_dir, out):
    assert "webcam 99" in bad_run(capsys, out, ["--model", str(model_dir), "--source", "99"])


def test_unreachable_stream(capsys, model_dir, out):
    assert "rtsp://127.0.0.1:9/x" in bad_run(capsys, out, ["--model", str(model_dir), "--source", "rtsp://127.0.0.1:9/x"])


def test_unknown_source_scheme(capsys, model_dir, out):
    assert "ftp://h/x.mp4" in bad_run(capsys, out, ["--model", str(model_dir), "--source", "ftp://h/x.mp4"])


def test_config_with_an_unknown_exit(tmp_path, capsys, model_dir, video, out, exits):
    config = tmp_path / "bad.json"
    ExitConfig([exits[0], "features.99:fcn-c64-b0", FINAL_EXIT]).save(config)
    line = bad_run(capsys, out, ["--model", str(model_dir), "--source", str(video), "--config", str(config)])
    assert "features.99:fcn-c64-b0" in line


def test_missing_config(tmp_path, capsys, model_dir, video, out):
    config = tmp_path / "absent.json"
    assert str(config) in bad_run(capsys, out, ["--model", str(model_dir), "--source", str(video),
                                                "--config", str(config)])


def test_missing_model(tmp_path, capsys, video, out):
    missing = tmp_path / "no_model"
    assert str(missing) in bad_run(capsys, out, ["--model", str(missing), "--source", str(video)])


def test_unsupported_video_extension(capsys, model_dir, video, out):
    code = main(["run", "--model", str(model_dir), "--source", str(video), "--device", "cpu", "--quiet",
                 "--stats", str(out / "s.jsonl"), "--out", str(out / "o.gif")])
    assert code == 2
    assert "o.gif" in one_error_line(capsys)
    assert list(out.iterdir()) == []


def test_a_source_that_fails_mid_run_leaves_nothing(capsys, model_dir, out, monkeypatch):
    class Unplugged(FrameSource):
        name, kind, live, fps = "webcam 0", "webcam", True, 30.0

        def __init__(self):
            self.reads = 0

        def read(self):
            self.reads += 1
            if self.reads > 3:
                raise SourceError("webcam 0: stopped delivering frames (unplugged, or the stream ended)")
            return np.zeros((*SIZE, 3), np.uint8)

    monkeypatch.setattr("core.runtime.video.player.open_source", lambda spec, kind=None, timeout_s=None: Unplugged())
    line = bad_run(capsys, out, ["--model", str(model_dir), "--source", "0"])
    assert "webcam 0" in line and "stopped" in line


def test_the_overlay_style_of_the_out_video(capsys, model_dir, video, out):
    videos = {}
    for style in ("plain", "high-contrast"):
        code, _, err = mess_run(capsys, model_dir, video, "--max-frames", "2", "--opacity", "1",
                                "--overlay", style, "--out", str(out / f"{style}.avi"))
        assert code == 0, err
        videos[style] = read_frames(out / f"{style}.avi")
    plain, vivid = (np.stack(v).astype(float) for v in videos.values())
    assert np.abs(plain - vivid).mean() > 10, "the high-contrast palette is another picture"
    with pytest.raises(SystemExit) as info:
        main(["run", "--model", str(model_dir), "--source", str(video), "--overlay", "neon"])
    assert info.value.code == 2


def test_max_frames_must_be_positive(capsys, model_dir, video):
    with pytest.raises(SystemExit) as info:
        main(["run", "--model", str(model_dir), "--source", str(video), "--max-frames", "0"])
    assert info.value.code == 2


# --- real data ---------------------------------------------------------------------------------

@pytest.mark.shared_data
def test_highway_with_the_bundled_model(capsys, videos_root, out):
    if not (BUNDLED_MODEL / "model.json").is_file():
        pytest.skip(f"no bundled model at {BUNDLED_MODEL}")
    code = main(["run", "--source", str(videos_root / "highway.mp4"), "--device", "cpu", "--quiet",
                 "--max-frames", "3", "--stats", str(out / "s.jsonl"), "--out", str(out / "o.mp4")])
    assert code == 0, capsys.readouterr().err
    frames, summary = read_stats(out / "s.jsonl")
    assert [f["frame"] for f in frames] == [0, 1, 2]
    check_contract(frames, summary)
    assert summary["size"] == [360, 480]  # the bundled model's input size
    recorded = read_frames(out / "o.mp4")
    assert len(recorded) == 3 and recorded[0].shape == (360, 480, 3)


def test_compare_full_measures_the_full_network_on_the_same_frames(capsys, model_dir, video, out, exits):
    config = out / "early.json"
    ExitConfig([exits[0], "final"], th_pix=[0.0, 0.0], th_img=[0.0, 0.0]).save(config)   # every frame leaves early
    code, stdout, err = mess_run(capsys, model_dir, video, "--max-frames", "4", "--config", str(config),
                                 "--compare-full", "--stats", str(out / "s.jsonl"))
    assert code == 0, err
    frames, summary = read_stats(out / "s.jsonl")
    assert all(line["full_latency_ms"] > 0 for line in frames)
    assert summary["full_median_latency_ms"] > 0
    assert summary["speedup"] == pytest.approx(summary["full_median_latency_ms"] / summary["median_latency_ms"])
    assert "full network on the same frames" in stdout
    code, _, _ = mess_run(capsys, model_dir, video, "--max-frames", "2", "--stats", str(out / "plain.jsonl"))
    plain_frames, plain = read_stats(out / "plain.jsonl")
    assert "speedup" not in plain and "full_latency_ms" not in plain_frames[0]


def test_a_truncated_video_says_how_many_frames_were_missing(capsys, model_dir, video, tmp_path):
    """An AVI cut short keeps its header's frame count (an MP4 cut short loses its index: refused on open)."""
    whole, cut = tmp_path / "whole.avi", tmp_path / "cut.avi"
    write_video(whole, noise_frames(20, (96, 128), seed=3), codec="MJPG")
    blob = whole.read_bytes()
    cut.write_bytes(blob[: int(len(blob) * 0.6)])
    announced = int(cv2.VideoCapture(str(cut)).get(cv2.CAP_PROP_FRAME_COUNT))
    code, stdout, err = mess_run(capsys, model_dir, cut, "--stats", str(tmp_path / "s.jsonl"))
    frames, summary = read_stats(tmp_path / "s.jsonl")
    if announced <= summary["frames"]:
        pytest.skip(f"this OpenCV announces {announced} frames for the cut file and reads them all")
    assert code == 0
    assert f"the video announced {announced} frames but only {summary['frames']} could be read" in err
    code, _, err = mess_run(capsys, model_dir, video, "--max-frames", "3")
    assert "announced" not in err, "stopping at --max-frames is no truncation"


# --- deadline ----------------------------------------------------------------------------------

def test_a_deadline_run_reports_its_deadline_and_depth(capsys, model_dir, video, out):
    table = out.parent / "table.json"
    assert main(["profile", "--model", str(model_dir), "--out", str(table), "--repeats", "2", "--warmup", "1",
                 "--backend", "torch"]) == 0
    code, printed, err = mess_run(capsys, model_dir, video, "--deadline-ms", "100000", "--latency-table", str(table),
                                  "--backend", "torch", "--stats", str(out / "s.jsonl"))
    assert code == 0, err
    frames, summary = read_stats(out / "s.jsonl")
    assert summary["deadline_ms"] == 100000 and summary["mean_exit_depth"] == 1.0       # time for everything
    assert {f["exit"] for f in frames} == {"final"} and "deadline 100000 ms" in printed
    code, _, err = mess_run(capsys, model_dir, video, "--deadline-ms", "0.001", "--latency-table", str(table),
                            "--backend", "torch", "--stats", str(out / "s.jsonl"))
    frames, summary = read_stats(out / "s.jsonl")
    assert code == 0 and {f["exit"] for f in frames} == {"features.6:fcn-c64-b0"}      # the first rung always
    assert summary["mean_exit_depth"] < 1.0
    assert "older mess" not in err
    old = out.parent / "old.json"
    old.write_text(json.dumps(dict(json.loads(table.read_text()), format_version=2)))
    code, _, err = mess_run(capsys, model_dir, video, "--deadline-ms", "100000", "--latency-table", str(old),
                            "--backend", "torch", "--max-frames", "2")
    assert code == 0 and f"warning: {old}: measured by an older mess (latency-table version 2)" in err


def test_a_latency_table_without_a_deadline_is_refused(capsys, model_dir, video, out):
    code, _, err = mess_run(capsys, model_dir, video, "--latency-table", str(out / "t.json"))
    assert code == 2 and "--latency-table is for a deadline" in err


# --- threads on a busy machine -----------------------------------------------------------------

@pytest.fixture()
def restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_without_threads_run_uses_the_cores_other_processes_leave_free(capsys, monkeypatch, model_dir, video,
                                                                       restore_threads):
    import core.threads

    monkeypatch.setattr(core.threads, "available_cores", lambda: 2)
    monkeypatch.setattr(core.threads, "free_cores", lambda: (1, 1.2))
    code = main(["run", "--model", str(model_dir), "--source", str(video), "--device", "cpu", "--max-frames", "2"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "note: other processes keep 1.2 of 2 cores busy: running on 1 thread (--threads N to choose)" in err
    assert torch.get_num_threads() == 1


def test_threads_given_are_used_without_looking_at_the_load(capsys, monkeypatch, model_dir, video, restore_threads):
    import core.threads

    def looked():
        raise AssertionError("the load was sampled although --threads was given")

    monkeypatch.setattr(core.threads, "free_cores", looked)
    code, _, err = mess_run(capsys, model_dir, video, "--max-frames", "2", "--threads", "1")
    assert code == 0, err
    assert torch.get_num_threads() == 1 and "cores busy" not in err


# --- anytime mode ------------------------------------------------------------------------------

def test_anytime_mode_records_every_refinement_s_time(tmp_path, capsys, model_dir, video, out, exits):
    config = tmp_path / "two.json"
    ExitConfig([exits[0], FINAL_EXIT], th_pix=[0.0, 0.0], th_img=[0.0, 0.0]).save(config)   # would leave early
    code, stdout, err = mess_run(capsys, model_dir, video, "--config", str(config), "--max-frames", "3",
                                 "--mode", "anytime", "--stats", str(out / "s.jsonl"))
    assert code == 0, err
    frames, summary = read_stats(out / "s.jsonl")
    check_contract(frames, summary)
    for frame in frames:
        steps = frame["refinements"]
        assert [s["exit"] for s in steps] == [exits[0], FINAL_EXIT] and frame["exit"] == FINAL_EXIT
        assert steps[0]["latency_ms"] < steps[1]["latency_ms"] <= frame["latency_ms"]
        assert steps[0]["confident"] is True
    assert summary["mode"] == "anytime" and set(summary["refinements"]) == {exits[0], FINAL_EXIT}
    assert summary["refinements"][exits[0]]["confident_fraction"] == 1.0
    assert "anytime:" in stdout and "ready at" in stdout


def test_anytime_mode_refuses_a_deadline_or_the_full_network_comparison(capsys, model_dir, video, out):
    for extra in (["--deadline-ms", "20"], ["--compare-full"]):
        line = bad_run(capsys, out, ["--model", str(model_dir), "--source", str(video), "--mode", "anytime", *extra])
        assert "--mode anytime" in line

"""mess export: graphs and manifest, the torch-free run.py (torch made unimportable), tampering, versions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from core.cli.main import main as mess
from core.data.classes import CLASS_SETS
from core.data.transforms import preprocess_frame
from core.deploy.export import MANIFEST, export_model
from core.models.io import sha256_of
from core.errors import ConfigError
from core.jobs import run_job
from core.models import HeadConfig, convert_backbone, save_model
from core.runtime.backends import BACKENDS
from core.runtime.live import LiveRunner
from tests.data.builders import flat_frames, noise_frames, write_image_folder, write_video
from tests.runtime.test_early_exit import SIZE, three_exit_config, trained_like
from tests.processes import default_sigint

FORMATS = {"onnx": "onnxruntime", "openvino": "openvino"}
NO_TORCH = ("import sys, runpy; sys.modules['torch'] = None; sys.argv = sys.argv[1:]; "
            "runpy.run_path(sys.argv[0], run_name='__main__')")


def need(fmt: str) -> None:
    reason = BACKENDS.get(FORMATS[fmt]).unavailable_reason()
    if reason:
        pytest.skip(f"format {fmt}: {reason}")


def frames() -> list[np.ndarray]:
    """Three RGB frames that a trained-like network tells apart: flat, a ramp, noise."""
    rng = np.random.default_rng(1)
    flat = np.full((*SIZE, 3), 110, np.uint8)
    ramp = np.broadcast_to(np.linspace(0, 255, SIZE[1]).astype(np.uint8)[None, :, None], (*SIZE, 3)).copy()
    noise = rng.integers(0, 256, (*SIZE, 3), dtype=np.uint8)
    return [flat, ramp, noise]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    net = convert_backbone("mobilenet_v3_large", CLASS_SETS.get("camvid"), heads=[HeadConfig("fcn", "64", 0)], seed=3)
    images = torch.stack([preprocess_frame(f, net.spec.mean, net.spec.std) for f in frames()]).contiguous()
    net = trained_like(net.eval(), images)
    config = three_exit_config(net, images)
    folder = tmp_path_factory.mktemp("model")
    save_model(net, folder / "m")
    config.save(folder / "config.json")
    frames_dir = write_image_folder(folder / "frames", (cv2.cvtColor(frame, cv2.COLOR_RGB2BGR) for frame in frames()),
                                    names="f{i}.png")
    expected = [LiveRunner(net, config, size=SIZE).process(f).exit_id for f in frames()]
    assert len(set(expected)) == 3, "each frame should leave at its own exit"
    return {"net": net, "config": config, "folder": folder, "frames": frames_dir, "expected": expected}


def run_exported(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", NO_TORCH, str(folder / "run.py"), *args],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("fmt", ["onnx", "openvino"])
def test_exported_runner_without_torch_takes_the_engines_exits(model, fmt, tmp_path):
    need(fmt)
    out = tmp_path / "export"
    code = mess(["export", "--model", str(model["folder"] / "m"), "--config", str(model["folder"] / "config.json"),
                 "--format", fmt, "--input", f"{SIZE[0]}x{SIZE[1]}", "--out", str(out), "--quiet"])
    assert code == 0
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["format_version"] == 1 and manifest["input_size"] == list(SIZE)
    assert manifest["config"]["exits"] == model["config"].exits
    kinds = [(g["kind"], g["exit"]) for g in manifest["graphs"]]
    assert kinds.count(("segments", None)) == 3 and len(kinds) == 6, "a backbone run per kept exit, and its head"
    for graph in manifest["graphs"]:
        assert sha256_of(out / graph["file"]) == graph["sha256"]
    done = run_exported(out, "--source", str(model["frames"]), "--stats", str(tmp_path / "s.jsonl"), "--quiet")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in (tmp_path / "s.jsonl").read_text().splitlines()]
    assert [line["exit"] for line in lines[:-1]] == model["expected"]
    assert {"frame", "exit", "latency_ms", "confidence"} <= set(lines[0])
    summary = lines[-1]["summary"]
    assert summary["frames"] == 3 and {"fps", "median_latency_ms", "p95_latency_ms", "exit_histogram"} <= set(summary)


def test_export_without_a_configuration_holds_every_segment_and_head(model, tmp_path):
    need("onnx")
    net = model["net"]
    manifest = run_job(export_model(net, tmp_path / "all", fmt="onnx", input_size=SIZE))
    segments = [g for g in manifest["graphs"] if g["kind"] == "segments"]
    heads = [g["exit"] for g in manifest["graphs"] if g["kind"] == "head"]
    assert [(g["start"], g["stop"]) for g in segments] == [(k, k) for k in range(len(net.segments))]
    assert heads == net.exit_ids() and manifest["configured"] is False
    done = run_exported(tmp_path / "all", "--source", str(model["frames"] / "f2.png"), "--stats",
                        str(tmp_path / "s.jsonl"))
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "s.jsonl").read_text().splitlines()[0])["exit"] == "final"


def test_tampered_graph_and_unknown_manifest_version_give_one_line(model, tmp_path):
    need("onnx")
    out = tmp_path / "e"
    run_job(export_model(model["net"], out, fmt="onnx", input_size=SIZE, config=model["config"]))
    graph = next(out.glob("head-*.onnx"))
    data = bytearray(graph.read_bytes())
    data[-10] ^= 0xFF
    graph.write_bytes(bytes(data))
    done = run_exported(out, "--source", str(model["frames"]))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "SHA-256 does not match the manifest" in done.stderr
    assert graph.name in done.stderr
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["format_version"] = 99
    (out / MANIFEST).write_text(json.dumps(manifest))
    done = run_exported(out, "--source", str(model["frames"]))
    assert done.returncode == 2 and "unknown manifest version 99" in done.stderr
    assert done.stderr.strip().count("\n") == 0


def test_export_refuses_a_used_folder_and_bad_requests(model, tmp_path, capsys):
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match="exists and is not an empty folder"):
        run_job(export_model(model["net"], tmp_path / "used", fmt="onnx", input_size=SIZE))
    assert (tmp_path / "used" / "keep.txt").read_text() == "mine"
    with pytest.raises(ConfigError, match="format onnx exports precision fp32, int8, not 'bf16'"):
        run_job(export_model(model["net"], tmp_path / "x", fmt="onnx", precision="bf16"))
    with pytest.raises(ConfigError, match="unknown export format 'tflite'"):
        run_job(export_model(model["net"], tmp_path / "x", fmt="tflite"))
    assert not (tmp_path / "x").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no partial export left behind"


def test_cancelled_export_leaves_nothing(model, tmp_path):
    need("onnx")
    from core.jobs import CancelToken, Cancelled

    token = CancelToken()
    job = export_model(model["net"], tmp_path / "c", fmt="onnx", input_size=SIZE, cancel=token)
    next(job)
    token.cancel()
    with pytest.raises(Cancelled):
        for _ in job:
            pass
    assert not list(tmp_path.iterdir())


def test_exported_runner_stops_early_on_a_video_and_exits_cleanly(model, tmp_path):
    """--max-frames below the clip's length: the decoding thread is stopped, not left inside OpenCV."""
    need("onnx")
    out = tmp_path / "e"
    run_job(export_model(model["net"], out, fmt="onnx", input_size=SIZE, config=model["config"]))
    video = write_video(tmp_path / "clip.mp4", flat_frames(12, (48, 64), step=20))
    done = run_exported(out, "--source", str(video), "--max-frames", "3", "--stats", str(tmp_path / "s.jsonl"))
    assert done.returncode == 0, done.stderr
    assert "terminate called" not in done.stderr
    assert len((tmp_path / "s.jsonl").read_text().splitlines()) == 4
    missing = run_exported(out, "--source", str(tmp_path / "nothing.mp4"))
    assert missing.returncode == 2 and "nothing.mp4: no such file or folder" in missing.stderr


def test_ctrl_c_finishes_the_stats_and_a_malformed_manifest_is_one_line(model, tmp_path):
    need("onnx")
    import signal
    import time

    out = tmp_path / "e"
    run_job(export_model(model["net"], out, fmt="onnx", input_size=SIZE, config=model["config"]))
    video = tmp_path / "long.mp4"
    write_video(video, noise_frames(2000, SIZE))
    stats = tmp_path / "s.jsonl"
    process = subprocess.Popen([sys.executable, "-c", NO_TORCH, str(out / "run.py"), "--source", str(video),
                                "--stats", str(stats), "--quiet"], stderr=subprocess.PIPE, text=True,
                               preexec_fn=default_sigint)
    part = tmp_path / ".s.jsonl.part"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (part.exists() and part.stat().st_size > 0):
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130 and err.strip() == "run.py: interrupted"
    lines = [json.loads(line) for line in stats.read_text().splitlines()]
    summary = lines[-1]["summary"]
    assert summary["interrupted"] is True and 0 < summary["frames"] < 2000
    assert summary["frames"] == len(lines) - 1 and not part.exists()
    manifest = json.loads((out / MANIFEST).read_text())
    del manifest["tap_segments"]
    (out / MANIFEST).write_text(json.dumps(manifest))
    done = run_exported(out, "--source", str(model["frames"]))
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0
    assert "malformed manifest (KeyError: 'tap_segments')" in done.stderr


@pytest.mark.parametrize("hostile, said", [
    ("deep", "not a manifest (JSON nested too deeply)"),
    ("no graphs", "malformed manifest ('graphs' must be a list of objects)"),
    ("outside", "is not a name in the export"),
    ("nan", "not JSON (NaN is not a number JSON allows)"),
])
def test_a_hostile_manifest_is_one_line_before_anything_runs(model, tmp_path, hostile, said):
    """The runner read the manifest with a plain json.loads: a deep one gave a RecursionError
    traceback, one without 'graphs' a KeyError traceback."""
    need("onnx")
    out = tmp_path / "e"
    run_job(export_model(model["net"], out, fmt="onnx", input_size=SIZE, config=model["config"]))
    manifest = json.loads((out / MANIFEST).read_text())
    if hostile == "deep":
        text = '{"format": "mess-export", "format_version": 1, "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    elif hostile == "no graphs":
        del manifest["graphs"]
        text = json.dumps(manifest)
    elif hostile == "outside":
        manifest["graphs"][0]["file"] = "../" + manifest["graphs"][0]["file"]
        text = json.dumps(manifest)
    else:
        text = json.dumps(manifest).replace('"input_size": [', '"input_size": [NaN, ', 1)
    (out / MANIFEST).write_text(text)
    done = run_exported(out, "--source", str(model["frames"]))
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0, done.stderr
    assert said in done.stderr

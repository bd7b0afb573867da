"""mess inspect and core.inspect: every exit on one frame, and the decision the runtime takes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from core.cli.main import main
from core.data.metrics import ConfusionMatrix
from core.data.transforms import preprocess_frame
from core.inspect import depth_order, inspect_frame, render_grid
from core.models import FINAL_EXIT
from core.runtime.config import ExitConfig
from core.runtime.early_exit import EarlyExitRunner, all_exit_labels
from core.runtime.backends.torch_backend import TorchPieces
from tests.data.builders import write_video
from tests.inspect.conftest import SIZE

REPO = Path(__file__).resolve().parents[2]


def frame(seed: int) -> np.ndarray:
    """A smooth random picture (confidences then vary from exit to exit)."""
    small = np.random.default_rng(seed).integers(0, 256, (4, 6, 3), dtype=np.uint8)
    return cv2.resize(small, (SIZE[1], SIZE[0]), interpolation=cv2.INTER_CUBIC)


def test_exits_come_shallow_to_deep_with_final_last(net):
    order = depth_order(net)
    assert order[-1] == FINAL_EXIT and sorted(order) == sorted(net.exit_ids())
    assert [net.exit_segment(e) for e in order[:-1]] == sorted(net.exit_segment(e) for e in order[:-1])


@pytest.mark.parametrize("seed", range(4))
def test_the_frame_leaves_where_the_runtime_makes_it_leave(net, seed):
    image = frame(seed)
    tensor = preprocess_frame(image, net.spec.mean, net.spec.std)
    early = [e for e in depth_order(net) if e != FINAL_EXIT]
    rng = np.random.default_rng(seed)
    for trial in range(6):
        kept = sorted(rng.choice(early, size=2, replace=False).tolist(), key=net.exit_segment)
        th_pix = [float(rng.uniform(0.3, 0.9)) for _ in kept] + [0.5]
        th_img = [float(rng.uniform(0.05, 0.95)) for _ in kept] + [0.0]
        config = ExitConfig([*kept, FINAL_EXIT], th_pix=th_pix, th_img=th_img)
        result = EarlyExitRunner(net, config).run(tensor.unsqueeze(0))
        inspection = inspect_frame(net, image, tensor, config=config)
        assert inspection.leaves_at == result.exit_ids[0]
        leaving = inspection.view(inspection.leaves_at)
        assert leaving.leaves and leaving.image_confidence == pytest.approx(result.confidence[0], abs=1e-12)
        assert np.array_equal(leaving.labels, result.labels[0].numpy())
        assert sum(v.leaves for v in inspection.exits) == 1
        for view in inspection.exits:
            assert view.kept == (view.exit_id in config.exits)
            assert (view.th_img is None) == (not view.kept)


def test_with_a_label_every_exit_has_its_image_miou_and_error_map(net):
    image = frame(7)
    tensor = preprocess_frame(image, net.spec.mean, net.spec.std)
    label = np.random.default_rng(3).integers(0, 11, SIZE).astype(np.uint8)
    label[:5] = 11                                     # void
    inspection = inspect_frame(net, image, tensor, label=label)
    labels = all_exit_labels(net, TorchPieces(net), tensor.unsqueeze(0))
    for view in inspection.exits:
        cm = ConfusionMatrix(11, 11)
        cm.update(labels[view.exit_id], torch.from_numpy(label.astype(np.int64))[None])
        assert view.miou == pytest.approx(100 * cm.mean_iou())
        assert np.array_equal(view.labels, labels[view.exit_id][0].numpy())
    assert inspection.view(FINAL_EXIT).agreement == 100.0
    assert inspection.leaves_at == FINAL_EXIT                 # no configuration: the full network
    grid = render_grid(inspection, net.spec.classes)
    unlabelled = render_grid(inspect_frame(net, image, tensor), net.spec.classes)
    assert grid.shape[0] == unlabelled.shape[0] and grid.shape[1] > unlabelled.shape[1]   # one more column
    record = inspection.to_json()
    assert [e["exit"] for e in record["exits"]] == depth_order(net)
    assert all(set(e) >= {"exit", "image_confidence", "leaves", "miou", "th_img"} for e in record["exits"])


def test_the_bundled_model_makes_a_grid_of_more_than_a_megapixel(tmp_path, capsys):
    picture = tmp_path / "frame.png"
    assert cv2.imwrite(str(picture), cv2.resize(frame(1), (480, 360)))
    out, report = tmp_path / "grid.png", tmp_path / "grid.json"
    assert main(["inspect", "--image", str(picture), "--out", str(out), "--json", str(report),
                 "--backend", "torch", "--device", "cpu"]) == 0
    grid = cv2.imread(str(out))
    data = json.loads(report.read_text())
    assert len(data["exits"]) == 16 and grid.shape[0] * grid.shape[1] >= 1_000_000
    assert data["leaves_at"] == FINAL_EXIT and data["exits"][-1]["leaves"] is True
    assert "the frame leaves at final" in capsys.readouterr().out


def test_a_video_frame_is_inspected_as_the_live_pipeline_sees_it(model_dir, net, tmp_path, capsys):
    video = tmp_path / "clip.mp4"
    write_video(video, (cv2.resize(frame(i), (2 * SIZE[1], 2 * SIZE[0])) for i in range(5)))
    config = tmp_path / "config.json"
    ExitConfig(["features.6:fcn-c64-b0", FINAL_EXIT], th_pix=[0.5, 0.5], th_img=[0.5, 0.0]).save(config)
    report = tmp_path / "r.json"
    assert main(["inspect", "--model", str(model_dir), "--image", str(video), "--frame", "3", "--config", str(config),
                 "--out", str(tmp_path / "g.jpg"), "--json", str(report), "--device", "cpu", "--backend", "torch"]) == 0
    data = json.loads(report.read_text())
    from core.runtime.live import LiveRunner

    capture = cv2.VideoCapture(str(video))
    for _ in range(4):
        ok, bgr = capture.read()
    capture.release()
    live = LiveRunner(net, ExitConfig.load(config), size=SIZE, device="cpu")
    result = live.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    assert data["leaves_at"] == result.exit_id and data["frame"] == 3
    assert (tmp_path / "g.jpg").stat().st_size > 0


@pytest.mark.parametrize("case", ["suffix", "missing", "label-size", "frame-of-image", "frame-past-end"])
def test_bad_input_is_one_line_and_writes_nothing(case, model_dir, tmp_path, capsys):
    picture = tmp_path / "f.png"
    assert cv2.imwrite(str(picture), frame(0))
    args = ["inspect", "--model", str(model_dir), "--image", str(picture), "--out", str(tmp_path / "g.png"),
            "--json", str(tmp_path / "g.json"), "--device", "cpu", "--backend", "torch"]
    expected = {"suffix": "name it .png or .jpg", "missing": "file is missing", "label-size": "mask is 10x10",
                "frame-of-image": "--frame is for a video file", "frame-past-end": "frame 99 is outside 0..1"}[case]
    if case == "suffix":
        args[args.index(str(tmp_path / "g.png"))] = str(tmp_path / "g.txt")
    elif case == "missing":
        args[args.index(str(picture))] = str(tmp_path / "absent.png")
    elif case == "label-size":
        assert cv2.imwrite(str(tmp_path / "l.png"), np.zeros((10, 10), np.uint8))
        args += ["--label", str(tmp_path / "l.png")]
    elif case == "frame-of-image":
        args += ["--frame", "2"]
    else:
        video = tmp_path / "v.mp4"
        write_video(video, (frame(i) for i in range(2)))
        args[args.index(str(picture))] = str(video)
        args += ["--frame", "99"]
    assert main(args) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and expected in err[0], err
    assert not (tmp_path / "g.png").exists() and not (tmp_path / "g.json").exists()


def test_a_closed_pipe_on_stdout_ends_the_command_quietly():
    """`mess ... | head`: the reader is gone before the command prints (closed here before it starts up)."""
    child = subprocess.Popen([sys.executable, "-m", "core.cli", "convert", "--list"], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    child.stdout.close()
    _, err = child.communicate(timeout=120)
    assert child.returncode == 1
    assert "Traceback" not in err and "BrokenPipe" not in err, err

"""Label-free calibration: `mess search --unlabelled FOOTAGE` scores every exit against the final exit."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from core.cli.main import main
from core.data import CLASS_SETS
from core.data.video_frames import VideoFrames, evenly_spaced_indices
from core.errors import DataError
from core.jobs import run_job
from core.models import HeadConfig, convert_backbone, save_model
from core.models.io import load_model
from core.profile.costs import measure_costs
from core.runtime.config import ExitConfig
from core.search.calibration import FINAL_EXIT_REFERENCE, LABELS, CalibrationCache
from core.search.calibration_store import CalibrationStore
from core.search.search import SearchSpace, search
from core.data.footage import DEFAULT_VIDEO_FRAMES
from core.search.session import (SearchRequest, calibration_cache, calibration_size,
                                 open_calibration_set, open_unlabelled_calibration_set, search_job)
from tests.data.builders import write_horizon_camvid, write_video

SIZE = (48, 64)


def banded_frames(n: int, size=(72, 96)):
    for i in range(n):
        image = np.zeros((*size, 3), np.uint8)
        image[: 8 + 3 * i] = (40 * (i % 6), 200, 90)      # a frame number you can see in the pixels
        yield image


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("unlabelled")
    torch.manual_seed(0)
    net = convert_backbone("mobilenet_v3_large", CLASS_SETS.get("camvid"), [HeadConfig("fcn", "64", 0)],
                           points=["features.3", "features.10"], input_size=SIZE)
    save_model(net, root / "model")
    net, info = load_model(root / "model")
    video = root / "clip.mp4"
    write_video(video, banded_frames(12))
    return root, net, info, video


def test_evenly_spaced_indices_keep_both_ends():
    assert evenly_spaced_indices(5, None) == [0, 1, 2, 3, 4]
    assert evenly_spaced_indices(5, 10) == [0, 1, 2, 3, 4]
    assert evenly_spaced_indices(221, 3) == [0, 110, 220]


def test_video_frames_keep_the_picked_frames_resized(setup):
    _, net, _, video = setup
    frames = VideoFrames(video, lambda image, mask, rng: (image, mask), (24, 32), picks=[1, 5, 11])
    assert frames.indices == [1, 5, 11] and len(frames) == 3
    assert frames[1]["path"] == f"{video}#5" and frames[1]["image"].shape == (24, 32, 3)


def test_a_video_calibrates_at_the_model_input_size_on_evenly_spaced_frames(setup):
    _, net, _, video = setup
    dataset = open_unlabelled_calibration_set(video, net, limit=4)
    assert dataset.indices == [0, 4, 7, 11]
    assert calibration_size(dataset) == SIZE
    assert len(open_unlabelled_calibration_set(video, net)) == min(12, DEFAULT_VIDEO_FRAMES)
    assert calibration_size(open_unlabelled_calibration_set(video, net, input_size=(32, 40), limit=2)) == (32, 40)


def test_bad_footage_is_a_one_line_data_error(setup, tmp_path):
    _, net, _, _ = setup
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    for path in (broken, tmp_path / "missing", tmp_path):
        with pytest.raises(DataError) as caught:
            open_unlabelled_calibration_set(path, net)
        assert "\n" not in str(caught.value)


def test_the_final_exit_is_the_reference_and_agrees_with_itself(setup, tmp_path):
    _, net, info, video = setup
    dataset = open_unlabelled_calibration_set(video, net, limit=5)
    cache = run_job(calibration_cache(net, info, dataset, torch.device("cpu"), tmp_path,
                                      reference=FINAL_EXIT_REFERENCE))
    assert cache.reference == FINAL_EXIT_REFERENCE and cache.images == 5
    final = cache.confusion[:, cache.exit_ids.index("final")]
    off_diagonal = final.sum() - np.trace(final, axis1=-2, axis2=-1).sum()
    assert off_diagonal == 0 and final.sum() == 5 * SIZE[0] * SIZE[1]      # every pixel counted, all agree
    early = cache.confusion[:, 0]
    assert early.sum() == final.sum()
    table = measure_costs(net, SIZE, latency=True, warmup=0, repeats=1)
    result = search(net, cache, table, SearchSpace(max_early=2, th_pix=(0.5,), th_img=(0.5,)))
    assert result.summary(result.full_index)["miou"] == pytest.approx(100.0)


def test_the_same_images_label_free_have_their_own_cache(setup, tmp_path):
    _, net, info, _ = setup
    data = write_horizon_camvid(tmp_path / "data", 4, size=SIZE)
    labelled = open_calibration_set(data, "val", net)
    cache = run_job(calibration_cache(net, info, labelled, torch.device("cpu"), tmp_path))
    assert cache.reference == LABELS
    warnings: list[str] = []
    images = open_unlabelled_calibration_set(data / "val", net)
    assert [str(s.image) for s in images.samples] == cache.image_paths       # the very same images
    again = run_job(calibration_cache(net, info, images, torch.device("cpu"), tmp_path, warn=warnings.append,
                                      reference=FINAL_EXIT_REFERENCE))
    assert again.reference == FINAL_EXIT_REFERENCE and warnings == []
    assert len(CalibrationStore.of_model(tmp_path).slots()) == 2, "one slot per reference"
    events: list = []
    reused = run_job(calibration_cache(net, info, labelled, torch.device("cpu"), tmp_path), events.append)
    assert reused.reference == LABELS and events == []


def test_search_job_with_unlabelled_footage(setup):
    root, net, info, video = setup
    outcome = run_job(search_job(net, info, root / "model", SearchRequest(None, limit=3, unlabelled=video)))
    assert outcome.reference == FINAL_EXIT_REFERENCE and outcome.images == 3
    assert outcome.result.summary(outcome.result.full_index)["miou"] == pytest.approx(100.0)


def test_cli_search_on_a_video_writes_a_config_that_says_so(setup, tmp_path, capsys):
    root, _, _, video = setup
    model = tmp_path / "model"
    shutil.copytree(root / "model", model)
    out, pareto = tmp_path / "config.json", tmp_path / "pareto.json"
    assert main(["search", "--model", str(model), "--unlabelled", str(video), "--limit", "4", "--max-drop", "100",
                 "--out", str(out), "--pareto", str(pareto), "--device", "cpu", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "label-free calibration" in printed and "agreement with the final exit" in printed
    document = json.loads(out.read_text())
    assert document["calibration_reference"] == FINAL_EXIT_REFERENCE and document["images"] == 4
    assert document["full_network"]["miou"] == pytest.approx(100.0)
    assert json.loads(pareto.read_text())["calibration_reference"] == FINAL_EXIT_REFERENCE
    ExitConfig.load(out)
    newest = CalibrationCache.load(CalibrationStore.of_model(model).slots()[0])
    assert newest.reference == FINAL_EXIT_REFERENCE and newest.images == 4


def test_cli_refuses_both_or_neither_source_and_bad_footage(setup, tmp_path, capsys):
    root, _, _, video = setup
    base = ["search", "--model", str(root / "model"), "--budget-ms", "50", "--out", str(tmp_path / "c.json")]
    with pytest.raises(SystemExit) as caught:
        main([*base, "--data", str(tmp_path), "--unlabelled", str(video)])
    assert caught.value.code == 2
    with pytest.raises(SystemExit) as caught:
        main(base)
    assert caught.value.code == 2
    capsys.readouterr()
    code = main([*base, "--unlabelled", str(tmp_path / "missing.mp4")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "missing.mp4" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "c.json").exists()

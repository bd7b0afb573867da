"""The chosen configuration's measured speed-up (core.search.measure): the images the search did not calibrate on,
the loop `mess eval --config` runs, and the words the Search page shows."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from core.errors import ConfigError
from core.evaluation import evaluate
from core.jobs import CancelToken, Cancelled, Progress, run_job
from core.models.io import load_model
from core.search.calibration import FINAL_EXIT_REFERENCE
from core.search.measure import MeasuredSpeedup, measure_chosen, measurement_set
from core.search.page_text import NOT_MEASURED, measured_text
from core.search.session import SearchRequest, search_job
from tests.data.builders import noise_frames, write_camvid, write_tiny_model, write_video

SIZE = (48, 64)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = write_tiny_model(tmp_path_factory.mktemp("measure") / "model", SIZE)
    net, info = load_model(folder)
    return folder, net.eval(), info


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("measure-data")
    write_camvid(root, n=8, size=SIZE)
    return root


def searched(model, request: SearchRequest):
    folder, net, info = model
    return run_job(search_job(net, info, folder, request=request))


def cascade(outcome) -> int:
    """A configuration with an early exit (and a threshold), so the two networks differ."""
    result = outcome.result
    return next(i for i in range(result.count) if len(result.config(i).exits) > 1)


def test_held_out_images_are_the_split_s_images_the_calibration_left_out(model, data):
    outcome = searched(model, SearchRequest(data, "val", limit=3))
    dataset, held_out = measurement_set(model[1], outcome.request, outcome.image_paths, size=outcome.input_size)
    measured = {str(s.image) for s in dataset.samples}
    assert held_out and len(measured) == 5 and not measured & set(outcome.image_paths)
    assert len(measured | set(outcome.image_paths)) == 8
    few, _ = measurement_set(model[1], outcome.request, outcome.image_paths, size=outcome.input_size, max_images=2)
    assert len(few) == 2


def test_measure_runs_the_configuration_and_the_full_network_as_mess_eval_does(model, data):
    _, net, _ = model
    outcome = searched(model, SearchRequest(data, "val", limit=3))
    index = cascade(outcome)
    events: list[Progress] = []
    measured = run_job(measure_chosen(net, outcome, index), events.append)
    assert isinstance(measured, MeasuredSpeedup) and measured.index == index
    assert measured.held_out and measured.images == 5 and measured.backend == "torch"
    assert measured.mean_latency_ms > 0 and measured.full_mean_latency_ms > 0
    assert measured.speedup == pytest.approx(measured.full_mean_latency_ms / measured.mean_latency_ms)
    assert sum(measured.exit_fractions.values()) == pytest.approx(1.0)
    assert [e.done for e in events if e.stage == "config"] == [1, 2, 3, 4, 5], "progress per image"
    # The same images through mess eval's job: the same mIoU for the configuration and the full network.
    dataset, _ = measurement_set(net, outcome.request, outcome.image_paths, size=outcome.input_size)
    report = run_job(evaluate(net, dataset, torch.device("cpu"), config=outcome.result.config(index),
                              costs=outcome.table))
    assert measured.miou == pytest.approx(report["config"]["miou"])
    assert measured.full_miou == pytest.approx(report["final"]["miou"])
    assert measured.full_miou == pytest.approx(report["config"]["full_miou"])
    assert measured.exit_fractions == report["config"]["exit_fractions"]


def test_without_held_out_images_the_calibration_images_are_measured(model, data):
    outcome = searched(model, SearchRequest(data, "val"))
    measured = run_job(measure_chosen(model[1], outcome, cascade(outcome)))
    assert not measured.held_out and measured.images == 8
    text = measured_text(measured, outcome.result, measured.index)
    assert text.startswith("measured on 8 calibration images (none held out: the search calibrated on every image)")


def test_label_free_on_a_video_measures_the_other_frames_against_the_full_network(model, tmp_path):
    clip = write_video(tmp_path / "clip.mp4", noise_frames(10, SIZE, seed=2, high=255))
    outcome = searched(model, SearchRequest(None, unlabelled=clip, limit=4))
    assert outcome.reference == FINAL_EXIT_REFERENCE and outcome.images == 4
    dataset, held_out = measurement_set(model[1], outcome.request, outcome.image_paths, size=outcome.input_size)
    calibrated = {int(p.rsplit("#", 1)[1]) for p in outcome.image_paths}
    assert held_out and len(dataset) == 6 and not set(dataset.indices) & calibrated
    measured = run_job(measure_chosen(model[1], outcome, cascade(outcome)))
    assert measured.reference == FINAL_EXIT_REFERENCE and measured.full_miou == pytest.approx(100.0)
    assert 0 <= measured.miou <= 100
    assert "% agreement with the full network" in measured_text(measured, outcome.result, measured.index)


def test_a_cancelled_measurement_stops(model, data):
    outcome = searched(model, SearchRequest(data, "val", limit=3))
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        run_job(measure_chosen(model[1], outcome, cascade(outcome), cancel=token))


def test_the_text_gives_both_latencies_the_measured_and_the_predicted_speed_up(model, data):
    outcome = searched(model, SearchRequest(data, "val", limit=3))
    result, index = outcome.result, cascade(outcome)
    measured = MeasuredSpeedup(index, 71, held_out=True, reference="labels", mean_latency_ms=29.04,
                               full_mean_latency_ms=35.13, speedup=35.13 / 29.04, miou=61.2, full_miou=63.0,
                               exit_fractions={}, backend="torch", precision="fp32")
    predicted = result.summary(result.full_index)["mean_latency_ms"] / result.summary(index)["mean_latency_ms"]
    assert measured_text(measured, result, index) == (
        f"measured on 71 held-out images, same run: 29.0 ms against 35.1 ms for the full network, x1.21 "
        f"(predicted x{predicted:.2f}); mIoU 61.20 % against 63.00 %; torch fp32")
    assert "from board.json" in measured_text(measured, result, index, predicted_from="board.json")
    assert measured_text(None, result, index) == NOT_MEASURED
    assert measured_text(replace(measured, index=index + 1), result, index).startswith("stale: x1.21")


def test_a_search_without_its_request_cannot_be_measured(model, data):
    outcome = replace(searched(model, SearchRequest(data, "val", limit=3)), request=None)
    with pytest.raises(ConfigError, match="search again"):
        run_job(measure_chosen(model[1], outcome, 0))

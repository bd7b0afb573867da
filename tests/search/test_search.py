"""Calibration cache and exhaustive search: predictions equal what the early-exit runtime really does."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest
import torch

from core.data import CLASS_SETS, ConfusionMatrix, eval_transform, open_dataset
from core.errors import ConfigError, ModelFormatError
from core.models import HeadConfig, convert_backbone
from core.profile.costs import measure_costs
from core.runtime.config import ExitConfig
from core.runtime.early_exit import EarlyExitRunner
from core.runtime.policy import PolicySettings
from core.search.calibration import CalibrationCache, calibrate
from core.search.search import SearchSpace, search, simulate
from core.jobs import run_job
from tests.runtime.test_early_exit import trained_like

SIZE = (64, 96)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Eight CamVid-style images: sky, road, a car; different layouts and noise per image."""
    root = tmp_path_factory.mktemp("calib")
    (root / "val").mkdir()
    (root / "valannot").mkdir()
    rng = np.random.default_rng(0)
    for i in range(8):
        label = np.full(SIZE, 3, np.uint8)
        horizon = 16 + 4 * i
        label[:horizon] = 0
        label[horizon + 4: horizon + 14, 8 * i: 8 * i + 30] = 8
        label[-2:] = 11
        palette = {0: (128, 128, 128), 3: (128, 64, 128), 8: (64, 0, 128), 11: (0, 0, 0)}
        image = np.zeros((*SIZE, 3), np.uint8)
        for value, colour in palette.items():
            image[label == value] = colour
        image = np.clip(image + rng.normal(0, 10 + 8 * i, image.shape), 0, 255).astype(np.uint8)
        cv2.imwrite(str(root / "val" / f"{i:03d}.png"), image[..., ::-1])
        cv2.imwrite(str(root / "valannot" / f"{i:03d}.png"), label)
    net = model()
    return open_dataset(root, "val", transform=eval_transform(net.spec.mean, net.spec.std))


def model():
    net = convert_backbone("mobilenet_v3_large", CLASS_SETS.get("camvid"),
                           [HeadConfig("fcn", "64", 0), HeadConfig("fcn", "half", 1, rdi=True)],
                           points=["features.3", "features.6", "features.10"], seed=4).eval()
    images = torch.rand(3, 3, *SIZE) * 4 - 2
    return trained_like(net, images)


@pytest.fixture(scope="module")
def setup(dataset):
    net = model()
    cache = run_job(calibrate(net, dataset, torch.device("cpu"), weights_sha256="test"))
    costs = measure_costs(net, SIZE, latency=True, warmup=1, repeats=2)
    result = search(net, cache, costs, SearchSpace(max_early=2, th_pix=(0.3, 0.5, 0.7, 0.9),
                                                    th_img=(0.2, 0.5, 0.8, 0.95)))
    return net, cache, costs, result


def run_for_real(net, dataset, config):
    runner = EarlyExitRunner(net, config)
    classes = net.spec.classes
    cm = ConfusionMatrix(classes.num_classes, classes.ignore_index)
    taken = []
    for i in range(len(dataset)):
        item = dataset[i]
        result = runner.run(item["image"].unsqueeze(0))
        cm.update(result.labels, item["mask"].unsqueeze(0))
        taken.append(result.exit_index[0])
    return taken, 100.0 * cm.mean_iou()


def test_predicted_exits_and_miou_equal_the_real_runtime(setup, dataset):
    net, cache, costs, result = setup
    rng = np.random.default_rng(1)
    mixed_configs = [i for i in range(result.count) if sum(f > 0 for f in result.fractions(i).values()) > 1]
    picks = (list(rng.choice(mixed_configs, size=8, replace=False)) + list(rng.choice(result.count, size=6))
             + [result.full_index])
    mixed = 0
    for index in picks:
        config = result.config(int(index))
        predicted_exits, predicted_miou = simulate(cache, config)
        real_exits, real_miou = run_for_real(net, dataset, config)
        assert predicted_exits == real_exits, config.to_json()
        assert abs(predicted_miou - real_miou) < 1e-6
        assert abs(result.miou[index] - real_miou) < 1e-6
        assert result.fractions(int(index)) == pytest.approx(
            {e: real_exits.count(k) / len(real_exits) for k, e in enumerate(config.exits)})
        mixed += len(set(real_exits)) > 1
    assert mixed >= 8, "the sample should include configurations where images leave at different exits"


def test_vectorised_search_matches_simulation_everywhere(setup):
    net, cache, costs, result = setup
    for index in range(0, result.count, max(1, result.count // 300)):
        _, miou = simulate(cache, result.config(index))
        assert abs(result.miou[index] - miou) < 1e-9


def test_costs_add_the_prefix_and_every_head_evaluated(setup):
    net, cache, costs, result = setup
    index = next(i for i in range(result.count) if result.config(i).mode == "dynamic"
                 and len(set(result.fractions(i).values()) - {0.0}) > 1)
    config = result.config(index)
    fractions = result.fractions(index)
    expected = 0.0
    for k, exit_id in enumerate(config.exits):
        prefix = sum(s.gflops for s in costs.segments[: net.exit_segment(exit_id) + 1])
        heads = sum(costs.heads[e].gflops for e in config.exits[: k + 1])
        expected += fractions[exit_id] * (prefix + heads)
    assert result.mean_gflops[index] == pytest.approx(expected)
    expected_ms = costs.output_ms  # once per image, at the exit taken
    for k, exit_id in enumerate(config.exits):
        prefix = sum(s.latency_ms for s in costs.segments[: net.exit_segment(exit_id) + 1])
        expected_ms += fractions[exit_id] * (prefix + sum(costs.heads[e].latency_ms for e in config.exits[: k + 1]))
    assert costs.output_ms > 0
    assert result.mean_latency_ms[index] == pytest.approx(expected_ms)


def test_pareto_front_is_exactly_the_non_dominated_set(setup):
    _, _, _, result = setup
    front = set(result.pareto_front("gflops").tolist())
    cost, miou = result.mean_gflops, result.miou
    for i in range(result.count):
        dominated = np.any(((cost <= cost[i]) & (miou > miou[i])) | ((cost < cost[i]) & (miou >= miou[i])))
        if i in front:
            assert not dominated
        else:
            # off the front: dominated, or a tie with a front member (same cost and mIoU)
            assert dominated or any(cost[j] == cost[i] and miou[j] == miou[i] for j in front)


def test_budget_selection(setup):
    _, _, _, result = setup
    full_cost = result.mean_gflops[result.full_index]
    best = result.most_accurate_within(full_cost, "gflops")
    assert result.mean_gflops[best] <= full_cost
    assert result.miou[best] == result.miou[result.mean_gflops <= full_cost].max()
    cheap = result.cheapest_within_drop(1.0, "gflops")
    assert result.miou[cheap] >= result.miou[result.full_index] - 1.0
    assert result.mean_gflops[cheap] == result.mean_gflops[result.miou >= result.miou[result.full_index] - 1.0].min()
    with pytest.raises(ConfigError, match="no configuration fits 0.0001 GFLOPs; the cheapest"):
        result.most_accurate_within(1e-4, "gflops")


def test_space_size(setup):
    net, cache, _, result = setup
    heads, points, pairs = 2, 3, 16
    dynamic = sum(len(list(itertools.combinations(range(points), k))) * heads ** k for k in (1, 2))
    truncated = len(list(itertools.combinations(range(points), 2))) * heads ** 2
    static = len(cache.exit_ids)
    assert result.count == static + (dynamic + truncated) * pairs * 2


def test_cache_round_trip_and_staleness(setup, dataset, tmp_path):
    net, cache, _, _ = setup
    path = tmp_path / "calibration.npz"
    cache.save(path)
    loaded = CalibrationCache.load(path)
    assert np.array_equal(loaded.confusion, cache.confusion)
    assert all(np.array_equal(loaded.histograms[m], cache.histograms[m]) for m in cache.histograms)
    paths = [str(s.image) for s in dataset.samples]
    assert loaded.is_valid_for("test", cache.exit_ids, SIZE, PolicySettings(), loaded.image_paths)
    assert not loaded.is_valid_for("other-weights", cache.exit_ids, SIZE, PolicySettings(), loaded.image_paths)
    assert not loaded.is_valid_for("test", cache.exit_ids[1:], SIZE, PolicySettings(), loaded.image_paths)
    assert not loaded.is_valid_for("test", cache.exit_ids, (32, 48), PolicySettings(), loaded.image_paths)
    assert not loaded.is_valid_for("test", cache.exit_ids, SIZE, PolicySettings(edge_smoothing=False), loaded.image_paths)
    assert not loaded.is_valid_for("test", cache.exit_ids, SIZE, PolicySettings(), paths[:-1])
    path.write_bytes(b"not an npz")
    with pytest.raises(ModelFormatError, match="calibration.npz: not a readable calibration cache"):
        CalibrationCache.load(path)


def test_cost_table_of_another_model_is_refused(setup):
    net, cache, costs, _ = setup
    other = convert_backbone("mobilenet_v3_large", CLASS_SETS.get("camvid"), [HeadConfig("dlb", "64", 0)],
                             points=["features.3"])
    with pytest.raises(ConfigError, match="measured on another model"):
        search(net, cache, measure_costs(other, SIZE, latency=False))

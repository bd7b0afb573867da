"""Calibration cache and exhaustive search: predictions equal what the early-exit runtime really does."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from core.data import CLASS_SETS, ConfusionMatrix
from core.errors import ConfigError, ModelFormatError
from core.models import HeadConfig, convert_backbone
from core.profile.costs import measure_costs
from core.runtime.early_exit import EarlyExitRunner
from core.runtime.policy import PolicySettings
from core.search.calibration import CalibrationCache
from core.search.search import search, simulate
from tests.search.calibrated import SIZE



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
    assert not loaded.is_valid_for("test", cache.exit_ids, SIZE, PolicySettings(edge_smoothing=False),
                                   loaded.image_paths)
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

"""The in-memory cost cache and the per-structure cost breakdown the Model page draws."""

from __future__ import annotations

import threading

import pytest
import torch

from core.data.classes import CLASS_SETS
from core.jobs import Cancelled
from core.models import FINAL_EXIT, HeadConfig, convert_backbone
from core.profile.breakdown import cost_breakdown
from core.profile.cache import CostCache, cost_key
from core.profile.costs import cascade_cost, measure_costs

SIZE = (48, 64)


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return convert_backbone("mobilenet_v3_large", CLASS_SETS.get("camvid"),
                            [HeadConfig("fcn", "64", 0), HeadConfig("dlb", "64", 1)],
                            points=["features.3", "features.10"], input_size=SIZE).eval()


def test_the_cache_measures_once_per_key(net, monkeypatch):
    calls = []
    from core.profile import cache as cache_module

    real = cache_module.measure_costs
    monkeypatch.setattr(cache_module, "measure_costs", lambda *a, **k: calls.append(a) or real(*a, **k))
    cache = CostCache()
    first = cache.measure(net, "sha", SIZE, "cpu", latency=False)
    assert cache.measure(net, "sha", SIZE, "cpu", latency=False) is first and len(calls) == 1
    assert first.weights_sha256 == "sha"
    cache.measure(net, "sha", (32, 48), "cpu", latency=False)
    cache.measure(net, "other", SIZE, "cpu", latency=False)
    assert len(calls) == 3
    assert cache.get(cost_key(net, "sha", SIZE, "cpu")) is first
    cache.clear()
    assert cache.get(cost_key(net, "sha", SIZE, "cpu")) is None


def test_concurrent_requests_measure_once(net, monkeypatch):
    from core.profile import cache as cache_module

    calls = []
    real = cache_module.measure_costs
    monkeypatch.setattr(cache_module, "measure_costs", lambda *a, **k: calls.append(1) or real(*a, **k))
    cache = CostCache()
    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.measure(net, "s", SIZE, latency=False)))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and all(r is results[0] for r in results)


def test_a_cancelled_measurement_keeps_nothing(net):
    cache = CostCache()

    def stop(done, total):
        raise Cancelled("cancelled")

    with pytest.raises(Cancelled):
        cache.measure(net, "sha", SIZE, latency=False, progress=stop)
    assert cache.get(cost_key(net, "sha", SIZE, "cpu")) is None


def test_breakdown_follows_the_structure_and_adds_up(net):
    table = measure_costs(net, SIZE, latency=True, warmup=0, repeats=1)
    miou = {"features.3:fcn-c64-b0": 30.0, FINAL_EXIT: 50.0}
    view = cost_breakdown(net, table, miou)
    assert [s.name for s in view.segments] == net.segment_names
    assert [p.name for p in view.points] == list(net.exit_points)
    by_name = {p.name: p for p in view.points}
    assert [h.head for h in by_name["features.3"].heads] == ["fcn-c64-b0", "dlb-c64-b1"]
    assert by_name["features.6"].heads == []
    head = by_name["features.3"].heads[0]
    assert head.miou == 30.0 and by_name["features.3"].heads[1].miou is None
    assert head.exit_gflops == pytest.approx(cascade_cost(net, table, [head.exit_id], 0, "gflops"))
    assert view.final.miou == 50.0
    assert view.total_gflops == pytest.approx(sum(s.gflops for s in view.segments) + view.final.gflops)
    assert view.has_latency and view.total_latency_ms > 0
    assert view.points_after(net.exit_points["features.10"].segment)[0].name == "features.10"
    flops_only = cost_breakdown(net, measure_costs(net, SIZE, latency=False))
    assert not flops_only.has_latency and flops_only.final.exit_latency_ms is None
    assert flops_only.segments[0].latency_ms is None


def test_a_new_int8_calibration_forgets_the_int8_tables_of_its_model_and_size(net):
    """A new calibration replaces one model's int8 graphs: the tables that timed them are forgotten, and
    only those (another model's int8 tables, at the same size, timed graphs that did not change)."""
    cache = CostCache()
    table = measure_costs(net, SIZE, "cpu", latency=False)
    keys = {(sha, precision, size): cost_key(net, sha, size, device="cpu", backend="onnxruntime", precision=precision)
            for sha in ("sha", "other") for precision in ("fp32", "int8") for size in (SIZE, (32, 48))}
    for key in keys.values():
        cache.put(key, table)
    assert cache.forget(weights_sha256="sha", precision="int8", input_size=SIZE) == 1
    assert cache.get(keys["sha", "int8", SIZE]) is None
    assert all(cache.get(key) is table for name, key in keys.items() if name != ("sha", "int8", SIZE))

"""Per-piece costs: one entry per segment and per exit, FLOPs that add up, medians, cascades."""

from __future__ import annotations

import itertools
import json
from types import SimpleNamespace

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from core.data.classes import CLASS_SETS
from core.errors import ConfigError
from core.models import FINAL_EXIT, ExitHeadSpec, HeadConfig, convert_backbone
from core.profile import costs as costs_module
from core.profile.costs import CostTable, PieceCost, cascade_cost, measure_costs
from core.runtime.backends.torch_backend import TorchPieces

SIZE = (64, 96)
HEAD_A = "features.6:fcn-c64-b0"
HEAD_B = "features.12:dlb-c64-b1-rdi"


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    net = convert_backbone("mobilenet_v3_large", CLASS_SETS.get("camvid"), [HeadConfig("fcn", "64", 0)],
                           points=["features.6"], input_size=SIZE)
    net.add_heads([ExitHeadSpec("features.12", HeadConfig("dlb", "64", 1, rdi=True))])
    return net.eval()


@pytest.fixture(scope="module")
def table(net) -> CostTable:
    return measure_costs(net, SIZE, "cpu", latency=False)


def counted_gflops(net, exits, size=SIZE) -> float:
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        net(torch.rand(1, 3, *size), exits=exits)
    return counter.get_total_flops() / 1e9


def test_one_piece_per_segment_and_per_exit(net, table):
    assert net.exit_ids() == [HEAD_A, HEAD_B, FINAL_EXIT]
    assert len(table.segments) == len(net.segments) > 1
    assert list(table.heads) == net.exit_ids()
    assert all(isinstance(p, PieceCost) for p in table.segments + list(table.heads.values()))
    assert all(p.gflops > 0 for p in table.segments + list(table.heads.values()))
    assert table.input_size == SIZE
    assert table.device == "cpu"
    # latency=False measures nothing
    assert all(p.latency_ms is None and p.latency_p10_ms is None and p.latency_p90_ms is None
               for p in table.segments + list(table.heads.values()))


def test_total_gflops_match_the_flop_counter(net, table):
    total = sum(s.gflops for s in table.segments) + table.heads[FINAL_EXIT].gflops
    reference = counted_gflops(net, [FINAL_EXIT])
    assert reference > 0
    assert total == pytest.approx(reference, rel=0.01)


@pytest.mark.parametrize("exit_id", [HEAD_A, HEAD_B])
def test_early_exit_gflops_match_the_flop_counter(net, table, exit_id):
    prefix = sum(s.gflops for s in table.segments[: net.exit_segment(exit_id) + 1])
    assert prefix + table.heads[exit_id].gflops == pytest.approx(counted_gflops(net, [exit_id]), rel=0.01)
    assert cascade_cost(net, table, [exit_id], 0, "gflops") == pytest.approx(prefix + table.heads[exit_id].gflops)


def test_deeper_exits_cost_more(net, table):
    a = cascade_cost(net, table, [HEAD_A], 0, "gflops")
    b = cascade_cost(net, table, [HEAD_B], 0, "gflops")
    final = cascade_cost(net, table, [FINAL_EXIT], 0, "gflops")
    assert a < b < final


def test_bigger_input_costs_more(net, table):
    big = measure_costs(net, (128, 192), "cpu", latency=False)
    assert big.input_size == (128, 192)
    small_total = sum(p.gflops for p in table.segments + list(table.heads.values()))
    big_total = sum(p.gflops for p in big.segments + list(big.heads.values()))
    assert big_total > 3 * small_total  # 4x the pixels
    assert all(b.gflops > s.gflops for b, s in zip(big.segments, table.segments))


def test_measured_latency_is_ordered_median(net):
    measured = measure_costs(net, SIZE, "cpu", latency=True, warmup=1, repeats=5)
    for piece in measured.segments + list(measured.heads.values()):
        assert piece.latency_ms is not None and piece.latency_ms > 0
        assert piece.latency_p10_ms <= piece.latency_ms <= piece.latency_p90_ms


class FakeClock:
    """perf_counter whose consecutive (start, stop) pairs last the given durations (ms), cyclically."""

    def __init__(self, durations_ms):
        self.durations = itertools.cycle(durations_ms)
        self.now = 100.0
        self.started = False

    def perf_counter(self) -> float:
        if self.started:
            self.now += next(self.durations) / 1000.0
        self.started = not self.started
        return self.now


def test_latency_is_the_median_not_the_mean(net, monkeypatch):
    # per piece, 5 timings of 3, 1, 2, 50, 4 ms: median 3, mean 12
    clock = FakeClock([3.0, 1.0, 2.0, 50.0, 4.0])
    monkeypatch.setattr(costs_module, "time", SimpleNamespace(perf_counter=clock.perf_counter))
    measured = measure_costs(net, SIZE, "cpu", latency=True, warmup=2, repeats=5)
    for piece in measured.segments + list(measured.heads.values()):
        assert piece.latency_ms == pytest.approx(3.0)
        assert 1.0 <= piece.latency_p10_ms <= 3.0
        assert 3.0 <= piece.latency_p90_ms <= 50.0
        assert piece.latency_p10_ms < piece.latency_p90_ms


def test_progress_reports_every_piece(net):
    calls = []
    measure_costs(net, SIZE, "cpu", latency=False, progress=lambda done, total: calls.append((done, total)))
    total = len(net.segments) + len(net.exit_ids())
    assert calls == [(i, total) for i in range(1, total + 1)]


def test_cascade_cost_adds_every_head_on_the_way(net, table):
    segments_to_final = sum(s.gflops for s in table.segments)
    left_at_final = cascade_cost(net, table, [HEAD_A, FINAL_EXIT], 1, "gflops")
    assert left_at_final == pytest.approx(segments_to_final + table.heads[HEAD_A].gflops
                                          + table.heads[FINAL_EXIT].gflops)
    left_at_a = cascade_cost(net, table, [HEAD_A, FINAL_EXIT], 0, "gflops")
    prefix_a = sum(s.gflops for s in table.segments[: net.exit_segment(HEAD_A) + 1])
    assert left_at_a == pytest.approx(prefix_a + table.heads[HEAD_A].gflops)
    three = cascade_cost(net, table, [HEAD_A, HEAD_B, FINAL_EXIT], 2, "gflops")
    assert three == pytest.approx(left_at_final + table.heads[HEAD_B].gflops)


def test_cascade_cost_of_latency():
    # a hand-made table: the sum must pick exactly the right pieces
    table = CostTable(
        input_size=SIZE, device="cpu",
        segments=[PieceCost(1.0, 10.0), PieceCost(2.0, 20.0), PieceCost(4.0, 40.0)],
        heads={"a": PieceCost(0.1, 1.0), "b": PieceCost(0.2, 2.0), FINAL_EXIT: PieceCost(0.4, 4.0)},
    )
    fake = SimpleNamespace(exit_segment=lambda e: {"a": 0, "b": 1, FINAL_EXIT: 2}[e])
    assert cascade_cost(fake, table, ["a", FINAL_EXIT], 1, "latency_ms") == pytest.approx(10 + 20 + 40 + 1 + 4)
    assert cascade_cost(fake, table, ["a", "b", FINAL_EXIT], 1, "latency_ms") == pytest.approx(10 + 20 + 1 + 2)
    assert cascade_cost(fake, table, ["b", FINAL_EXIT], 0, "gflops") == pytest.approx(1 + 2 + 0.2)


def test_cost_table_json(table):
    data = table.to_json()
    assert data["input_size"] == list(SIZE)
    assert len(data["segments"]) == len(table.segments)
    assert set(data["heads"]) == set(table.heads)
    assert set(data["segments"][0]) == {"gflops", "latency_ms", "latency_p10_ms", "latency_p90_ms"}


def test_each_heads_policy_is_timed_apart_on_that_heads_real_output(net, monkeypatch):
    calls = []
    real = costs_module.confident_fraction

    def recording(logits, size, stride, *, th_pix, settings):
        calls.append((type(logits).__name__, tuple(logits.shape), stride))
        return real(logits, size, stride, th_pix=th_pix, settings=settings)

    monkeypatch.setattr(costs_module, "confident_fraction", recording)
    measured = measure_costs(net, SIZE, "cpu", latency=True, warmup=0, repeats=2)
    for exit_id in net.exit_ids():
        piece = measured.heads[exit_id]
        assert piece.policy_ms is not None and 0 < piece.policy_ms
        assert piece.latency_ms > 0
    assert all(s.policy_ms is None for s in measured.segments)
    # the policy alone ran (twice: repeats) on each head's own logits as numpy, with that exit's stride;
    # head + policy ran on the head's torch output
    _, heads, _ = TorchPieces(net).timing_callables(torch.rand(1, 3, *SIZE))
    with torch.no_grad():
        expected = [(tuple(heads[e]().shape), net.exit_stride(e)) for e in net.exit_ids()]
    assert [(shape, stride) for kind, shape, stride in calls if kind == "ndarray"] == [x for x in expected
                                                                                       for _ in range(2)]
    assert [(shape, stride) for kind, shape, stride in calls if kind == "Tensor"] == [x for x in expected
                                                                                      for _ in range(2)]


def test_policy_ms_round_trips_and_a_version_1_table_loads_with_the_split_unknown(net, tmp_path):
    measured = measure_costs(net, SIZE, "cpu", latency=True, warmup=0, repeats=2)
    path = tmp_path / "table.json"
    measured.save(path)
    data = json.loads(path.read_text())
    assert data["format_version"] == 3
    assert "policy_ms" not in data["segments"][0] and data["heads"][HEAD_A]["policy_ms"] > 0
    assert CostTable.load(path).heads[HEAD_A].policy_ms == pytest.approx(measured.heads[HEAD_A].policy_ms)
    old = dict(data, format_version=1, heads={k: {f: v for f, v in p.items() if f != "policy_ms"}
                                              for k, p in data["heads"].items()})
    path.write_text(json.dumps(old))
    loaded = CostTable.load(path)
    assert loaded.heads[HEAD_A].policy_ms is None, "unknown, not zero"
    assert loaded.heads[HEAD_A].latency_ms == pytest.approx(measured.heads[HEAD_A].latency_ms)


@pytest.mark.parametrize("version", [1, 2])
def test_a_table_from_before_the_runtime_policy_was_timed_says_so_and_keeps_its_version(tmp_path, version):
    """Tables of versions 1 and 2 may have timed the histogram form of the exit policy (up to ~0.3 ms more per
    exit than the runtime pays): they load, say so (``version_note``, which the CLI and the Model page show),
    and, saved again, keep their version. A table measured now, or one without latencies, has no note."""
    piece = {"gflops": 0.1, "latency_ms": 1.0, "latency_p10_ms": 0.9, "latency_p90_ms": 1.1}
    new = CostTable((48, 64), "cpu", [PieceCost(1.0, 1.0, 0.9, 1.1)], heads={HEAD_A: PieceCost(0.1, 1.0, 0.9, 1.1)})
    assert new.version_note() is None and new.warnings() == []
    path = tmp_path / "old.json"
    path.write_text(json.dumps(dict(new.to_json(), format_version=version, heads={HEAD_A: piece})))
    old = CostTable.load(path)
    assert old.version_note() == (f"measured by an older mess (latency-table version {version}), which may have "
                                  "timed a slower form of the exit policy than the runtime's")
    assert old.warnings() == [], "the machine's figures are not in doubt, the policy's timing is"
    old.save(path)
    assert json.loads(path.read_text())["format_version"] == version
    path.write_text(json.dumps(dict(new.to_json(), format_version=version, heads={HEAD_A: {"gflops": 0.1}})))
    assert CostTable.load(path).version_note() is None, "FLOPs only: no latency to doubt"


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(format_version=4), "unknown latency-table format version 4"),
    (lambda d: d["heads"][HEAD_A].update(policy_seconds=1.0), "unknown key 'policy_seconds'"),
    (lambda d: d["heads"][HEAD_A].update(policy_ms="fast"), "policy_ms must be a number"),
    (lambda d: d["heads"][HEAD_A].update(policy_ms=-1.0), "policy_ms must be a number"),
    (lambda d: d.update(format_version=1), "unknown key 'policy_ms'"),     # version 1 had no policy_ms
])
def test_a_bad_latency_table_is_refused_in_one_line_naming_the_file(net, tmp_path, change, message):
    data = CostTable((48, 64), "cpu", [PieceCost(1.0, 1.0)],
                     heads={HEAD_A: PieceCost(0.1, 1.0, policy_ms=0.2)}).to_json()
    change(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=message) as caught:
        CostTable.load(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)

"""What a miss costs at an exit (head + exit policy), from a latency table, in numbers and words."""

from __future__ import annotations

import pytest

from core.models.spec import FINAL_EXIT
from core.profile.costs import CostTable, PieceCost
from core.profile.miss_cost import UNKNOWN_SPLIT, MissCost, miss_cost, miss_costs, profile_lines

A, B = "features.6:fcn-c64-b0", "features.12:fcn-c128-b2-rdi"


def table(policy: bool = True) -> CostTable:
    """Segments 10 + 20 ms, output 1 ms; heads with their policy: A 2.1 (0.4), B 3.0 (0.6), final 4.0 (0.5)."""
    def head(gflops, ms, policy_ms):
        return PieceCost(gflops, ms, ms, ms, policy_ms=policy_ms if policy else None)

    return CostTable((48, 64), "cpu", [PieceCost(1.0, 10.0, 10.0, 10.0), PieceCost(2.0, 20.0, 20.0, 20.0)],
                     heads={A: head(0.1, 2.1, 0.4), B: head(0.2, 3.0, 0.6), FINAL_EXIT: head(0.3, 4.0, 0.5)},
                     output_ms=1.0)


def test_a_miss_costs_the_head_plus_the_policy_and_its_share_of_the_full_network():
    miss = miss_cost(table(), A)
    assert miss == MissCost(A, 2.1, policy_ms=0.4, full_network_ms=35.0)   # 10 + 20 + 4 + 1
    assert miss.head_ms == pytest.approx(1.7) and miss.policy_share == pytest.approx(0.4 / 2.1)
    assert miss.share_of_full_network == pytest.approx(2.1 / 35.0)
    assert miss.to_json() == {"exit": A, "miss_cost_ms": 2.1, "head_ms": pytest.approx(1.7), "policy_ms": 0.4,
                              "share_of_full_network": pytest.approx(0.06)}
    assert miss.sentence() == f"a miss at {A} costs 2.1 ms (head 1.7 + policy 0.4), 6 % of the full network"
    assert miss.short() == "miss 2.1 ms · policy 19 %"


def test_only_kept_early_exits_can_miss():
    assert [m.exit_id for m in miss_costs(table(), [A, B, FINAL_EXIT])] == [A, B]
    assert [m.exit_id for m in miss_costs(table(), [A, B])] == [A], "a truncated cascade's last exit answers"
    assert miss_costs(table(), [B]) == []


def test_an_older_table_knows_the_miss_cost_but_not_the_split():
    miss = miss_cost(table(policy=False), B)
    assert miss.miss_cost_ms == 3.0 and miss.policy_ms is None
    assert miss.head_ms is None and miss.policy_share is None, "unknown, not zero"
    assert miss.to_json()["policy_ms"] is None and miss.to_json()["head_ms"] is None
    assert UNKNOWN_SPLIT in miss.sentence() and miss.short() == "miss 3.0 ms · policy ?"


def test_without_latencies_there_is_no_miss_cost():
    flops_only = CostTable((48, 64), "cpu", [PieceCost(1.0)], heads={A: PieceCost(0.1), FINAL_EXIT: PieceCost(0.2)})
    assert miss_cost(flops_only, A) is None and miss_costs(flops_only, [A, FINAL_EXIT]) == []
    assert profile_lines(flops_only) == []


def test_profile_lines_say_each_early_exits_miss_and_the_final_exits_split():
    lines = profile_lines(table())
    assert lines[:2] == [miss_cost(table(), A).sentence(), miss_cost(table(), B).sentence()]
    assert lines[2] == "the final exit (which always answers) costs 4.0 ms (head 3.5 + policy 0.5)"

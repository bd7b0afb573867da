"""The search says what a miss costs at each kept early exit of a configuration (head + exit policy)."""

from __future__ import annotations

import json

import pytest

from core.cli.commands import search as search_command
from core.cli.main import main
from core.models.spec import FINAL_EXIT
from core.profile.miss_cost import UNKNOWN_SPLIT


def dynamic_index(result, early: int = 2) -> int:
    """A configuration keeping ``early`` early exits before the final exit."""
    return next(i for i in range(result.count)
                if result.config(i).mode == "dynamic" and len(result.config(i).exits) == early + 1
                and result.config(i).exits[-1] == FINAL_EXIT)


def test_each_kept_early_exit_has_its_miss_cost_in_the_summary(setup):
    _, _, costs, result = setup
    index = dynamic_index(result)
    config = result.config(index)
    full_ms = result.summary(result.full_index)["mean_latency_ms"]
    found = result.summary(index)["miss_costs"]
    assert [m["exit"] for m in found] == config.exits[:-1]
    for m in found:
        head = costs.heads[m["exit"]]
        assert m["miss_cost_ms"] == pytest.approx(head.latency_ms)
        assert m["policy_ms"] == pytest.approx(head.policy_ms) and m["policy_ms"] > 0
        assert m["head_ms"] == pytest.approx(max(head.latency_ms - head.policy_ms, 0.0))
        assert m["share_of_full_network"] == pytest.approx(head.latency_ms / full_ms)
    json.dumps(found)
    assert result.summary(result.full_index)["miss_costs"] == [], "a static configuration never misses"


def test_mess_search_writes_and_prints_the_miss_cost_of_each_kept_early_exit(setup, dataset, tmp_path, monkeypatch,
                                                                            capsys):
    net, _, costs, _ = setup
    from core.models import save_model

    save_model(net, tmp_path / "model")
    table_path = tmp_path / "table.json"
    costs.save(table_path)
    chosen_early = []

    def choose_two_early_exits(*args, result, **kwargs):
        chosen_early.append(dynamic_index(result))
        return chosen_early[-1], None, "chose a configuration with two early exits (test)"

    monkeypatch.setattr(search_command, "choose_checked", choose_two_early_exits)
    out = tmp_path / "config.json"
    data = dataset.samples[0].image.parent.parent
    assert main(["search", "--model", str(tmp_path / "model"), "--data", str(data), "--latency-table", str(table_path),
                 "--max-drop", "100", "--max-early", "2", "--out", str(out), "--device", "cpu", "--quiet"]) == 0
    saved = json.loads(out.read_text())
    found = saved["predicted"]["miss_costs"]
    assert len(found) == 2 and [m["exit"] for m in found] == saved["exits"][:-1]
    assert set(found[0]) == {"exit", "miss_cost_ms", "head_ms", "policy_ms", "share_of_full_network"}
    printed = [line.strip() for line in capsys.readouterr().out.splitlines() if line.strip().startswith("a miss at")]
    assert printed == [f"a miss at {m['exit']} costs {m['miss_cost_ms']:.1f} ms (head {m['head_ms']:.1f} + policy "
                       f"{m['policy_ms']:.1f}), {100 * m['share_of_full_network']:.0f} % of the full network"
                       for m in found]


def test_an_older_latency_table_gives_miss_costs_with_the_split_unknown(setup):
    net, cache, costs, result = setup
    from dataclasses import replace

    from core.search.search import search
    from tests.search.calibrated import SPACE

    old = replace(costs, heads={e: replace(p, policy_ms=None) for e, p in costs.heads.items()})
    again = search(net, cache, old, SPACE)
    index = dynamic_index(again)
    found = again.miss_costs(index)
    assert found and all(m.policy_ms is None and m.head_ms is None for m in found)
    assert all(UNKNOWN_SPLIT in m.sentence() for m in found)
    assert again.summary(index)["miss_costs"][0]["policy_ms"] is None

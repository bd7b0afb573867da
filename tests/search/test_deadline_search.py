"""Deadline configurations predicted from the cache and the latency table."""

from __future__ import annotations

import pytest

from core.errors import ConfigError
from core.models.spec import FINAL_EXIT
from core.profile.costs import cascade_cost
from core.runtime.config import ExitConfig
from core.search.deadline import best_deadline_config, deadline_exit, predict_deadline
from core.search.search import simulate


def test_the_answer_is_the_deepest_rung_the_table_fits(setup):
    net, cache, costs, result = setup
    rungs = [e for e in cache.exit_ids if e.endswith("fcn-c64-b0")] + [FINAL_EXIT]
    assert deadline_exit(net, costs, ExitConfig.deadline(rungs, 1e5)) == len(rungs) - 1
    assert deadline_exit(net, costs, ExitConfig.deadline(rungs, 1e-3)) == 0
    for k in range(len(rungs)):
        reach = cascade_cost(net, costs, rungs, k, "latency_ms")
        assert deadline_exit(net, costs, ExitConfig.deadline(rungs, reach + 1e-6)) >= k
    final = predict_deadline(net, cache, costs, ExitConfig.deadline(rungs, 1e5))
    assert final["exit"] == FINAL_EXIT
    assert final["miou"] == pytest.approx(result.miou[result.full_index])      # the final exit's mIoU on the cache


def test_the_best_deadline_configuration_is_the_most_accurate_exit_that_fits(setup):
    net, cache, costs, result = setup
    full_ms = cascade_cost(net, costs, [FINAL_EXIT], 0, "latency_ms")
    config, predicted = best_deadline_config(net, cache, costs, full_ms * 0.8)
    assert config.mode == "deadline" and predicted["exit"] == config.exits[-1]
    assert predicted["mean_latency_ms"] <= full_ms * 0.8
    assert predicted["miou"] == pytest.approx(simulate(cache, ExitConfig.static(predicted["exit"]))[1])
    with pytest.raises(ConfigError, match="deadline configuration's exit follows from the latency table"):
        simulate(cache, config)

"""Deadline configurations from the calibration cache: which exit answers, and how accurately.

At run time a deadline configuration answers with the deepest kept exit that the latency table
says can finish in time (core.runtime.host.run_deadline). When the frame's timing follows the
table, that is the same exit for every frame; so the predicted mIoU is that exit's mIoU on the
calibration images, and the predicted latency is the cascade's cost to it. A frame slower than the
table answers from a shallower rung; the first rung always answers.
"""

from __future__ import annotations

import numpy as np

from core.data.metrics import mean_iou_batch
from core.errors import ConfigError
from core.models.network import MultiExitNet
from core.profile.costs import CostTable, cascade_cost
from core.runtime.config import ExitConfig
from core.runtime.early_exit import config_steps, deadline_step_costs
from core.search.calibration import CalibrationCache


def deadline_exit(net: MultiExitNet, costs: CostTable, config: ExitConfig) -> int:
    """Index of the kept exit that answers when every piece takes what the table says."""
    step_ms = deadline_step_costs(net, config_steps(net, config), costs)
    spent, answer = 0.0, 0
    for k, cost in enumerate(step_ms):
        if k and spent + cost + (costs.output_ms or 0.0) > config.deadline_ms:
            break
        spent += cost
        answer = k
    return answer


def _exit_miou(cache: CalibrationCache, exit_id: str) -> float:
    if exit_id not in cache.exit_ids:
        raise ConfigError(f"the calibration cache has no exit '{exit_id}'")
    summed = cache.confusion[:, cache.exit_ids.index(exit_id)].sum(axis=0).astype(np.float64)
    return 100.0 * float(mean_iou_batch(summed[None])[0])


def predict_deadline(net: MultiExitNet, cache: CalibrationCache, costs: CostTable, config: ExitConfig) -> dict:
    """The exit a deadline configuration answers with, its mIoU on the cache and its latency."""
    if config.mode != "deadline":
        raise ConfigError(f"predict_deadline needs a deadline configuration, not mode '{config.mode}'")
    k = deadline_exit(net, costs, config)
    return {"exit": config.exits[k], "miou": _exit_miou(cache, config.exits[k]),
            "mean_latency_ms": cascade_cost(net, costs, config.exits, taken=k, key="latency_ms"),
            "mean_gflops": cascade_cost(net, costs, config.exits, taken=k, key="gflops"),
            "exit_fractions": {e: float(i == k) for i, e in enumerate(config.exits)}}


def best_deadline_config(net: MultiExitNet, cache: CalibrationCache, costs: CostTable,
                         deadline_ms: float) -> tuple[ExitConfig, dict]:
    """The most accurate deadline configuration of two rungs: the cheapest exit (what a slow frame
    answers with) and the most accurate exit that fits behind it by the table."""
    ids = cache.exit_ids
    cheapest = min(ids, key=lambda e: cascade_cost(net, costs, [e], taken=0, key="latency_ms"))
    best = ExitConfig.deadline([cheapest], deadline_ms)
    best_prediction = predict_deadline(net, cache, costs, config=best)
    for exit_id in ids:
        if exit_id == cheapest or net.exit_segment(exit_id) < net.exit_segment(cheapest):
            continue
        candidate = ExitConfig.deadline([cheapest, exit_id], deadline_ms)
        prediction = predict_deadline(net, cache, costs, config=candidate)
        if prediction["exit"] == exit_id and prediction["miou"] > best_prediction["miou"]:
            best, best_prediction = candidate, prediction
    return best, best_prediction

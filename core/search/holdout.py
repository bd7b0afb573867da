"""Held-out-checked search: choose a configuration on some calibration folds, measure it on the others.

The calibration images are split into folds: by sequence when their file names carry more than
one (CamVid's drives, core.data.sequences), otherwise into contiguous blocks of time (a video's
frames, an image folder of one sequence). Every configuration is evaluated on each fold alone
from the cache (``search`` on the fold's images: no network runs), so a configuration's figures
on any fold, and on any union of folds, come out in the same order.

Two selection rules are checked the same way (leave one fold out, choose on the rest, measure
on it):
- ``plain``: the budget rule on all the calibration images pooled (what the search did before);
- ``robust``: the budget rule applied to each configuration's *worst* fold: the highest
  worst-fold mIoU among the configurations whose every fold fits a latency or FLOPs budget, or,
  for an accuracy floor, the cheapest (worst fold) whose every fold stays within the drop of the
  full network on that fold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.data.sequences import NO_SEQUENCE, sequence_of
from core.errors import ConfigError
from core.models.network import MultiExitNet
from core.profile.costs import CostTable
from core.search.calibration import CalibrationCache
from core.search.budget import Budget
from core.search.search import SearchResult, SearchSpace, search

RULES = ("robust", "plain")
DEFAULT_RULE = "robust"
TIME_BLOCKS = 3
MIN_FOLD_IMAGES = 2


@dataclass(frozen=True)
class Folds:
    by: str                      # "sequence" or "time blocks"
    names: list[str]
    members: list[np.ndarray]    # image indices of each fold

    @property
    def unit(self) -> str:
        """One fold, in words: 'sequence' or 'time block'."""
        return "sequence" if self.by == "sequence" else "time block"

    def others(self, k: int) -> np.ndarray:
        return np.sort(np.concatenate([m for j, m in enumerate(self.members) if j != k]))


def make_folds(image_paths: list[str], blocks: int = TIME_BLOCKS) -> Folds:
    """Folds by sequence when the images come from two or more, else ``blocks`` contiguous blocks."""
    sequences = [sequence_of(p.split("#", 1)[0]) for p in image_paths]
    names = sorted(set(sequences))
    if len(names) >= 2 and NO_SEQUENCE not in names:
        members = [np.flatnonzero(np.asarray(sequences) == n) for n in names]
        if all(len(m) >= MIN_FOLD_IMAGES for m in members):
            return Folds("sequence", names, members)
    n = len(image_paths)
    if n < blocks * MIN_FOLD_IMAGES:
        raise ConfigError(f"a held-out check needs at least {blocks * MIN_FOLD_IMAGES} calibration images "
                          f"({blocks} folds of {MIN_FOLD_IMAGES}), got {n}")
    edges = np.linspace(0, n, blocks + 1).round().astype(int)
    members = [np.arange(a, b) for a, b in zip(edges[:-1], edges[1:])]
    return Folds("time blocks", [f"frames {a + 1}-{b}" for a, b in zip(edges[:-1], edges[1:])], members)


def subset(cache: CalibrationCache, rows: np.ndarray) -> CalibrationCache:
    """The cache restricted to some of its images."""
    return CalibrationCache(cache.exit_ids, cache.confusion[rows], {m: h[rows] for m, h in cache.histograms.items()},
                            image_paths=[cache.image_paths[i] for i in rows], input_size=cache.input_size,
                            policy=cache.policy, weights_sha256=cache.weights_sha256, reference=cache.reference)


def _costs(result: SearchResult, axis: str) -> np.ndarray:
    return result.mean_latency_ms if axis == "latency" else result.mean_gflops


def choose_robust(per_fold: list[SearchResult], kind: str, value: float, cost: str = "latency") -> int:
    """The budget rule on each configuration's worst fold (see the module's docstring)."""
    axis = kind if kind in ("latency", "gflops") else cost
    worst_cost = np.max([_costs(r, axis) for r in per_fold], axis=0)
    if kind == "drop":
        margins = np.min([r.miou - r.miou[r.full_index] for r in per_fold], axis=0)
        feasible = np.flatnonzero(margins >= -value - 1e-9)
        if feasible.size == 0:
            raise ConfigError(f"no configuration is within {value:g} pp of the full network on every fold")
        best = feasible[worst_cost[feasible] == worst_cost[feasible].min()]
        return int(best[np.argmax(margins[best])])
    worst_miou = np.min([r.miou for r in per_fold], axis=0)
    feasible = np.flatnonzero(worst_cost <= value)
    if feasible.size == 0:
        cheapest = int(np.argmin(worst_cost))
        unit = "ms" if axis == "latency" else "GFLOPs"
        raise ConfigError(f"no configuration fits {value:g} {unit} on every fold; the cheapest, "
                          f"{per_fold[0].describe(cheapest)}, needs {worst_cost[cheapest]:.3g} {unit} "
                          "on its worst fold")
    best = feasible[worst_miou[feasible] == worst_miou[feasible].max()]
    return int(best[np.argmin(worst_cost[best])])


def _check_record(name: str, images: int, index: int, chosen_on: SearchResult, held: SearchResult) -> dict:
    """One held-out fold: the configuration chosen on the other folds, there and on this fold."""
    predicted, predicted_full = chosen_on.summary(index), chosen_on.summary(chosen_on.full_index)
    held_out, held_out_full = held.summary(index), held.summary(held.full_index)
    return {"fold": name, "images": images, "index": int(index), "config": held.describe(index).rsplit(":", 1)[0],
            "predicted": predicted, "predicted_full": predicted_full,
            "held_out": held_out, "held_out_full": held_out_full,
            "predicted_drop_pp": predicted_full["miou"] - predicted["miou"],
            "held_out_drop_pp": held_out_full["miou"] - held_out["miou"],
            "predicted_speedup": predicted_full["mean_latency_ms"] / predicted["mean_latency_ms"],
            "held_out_speedup": held_out_full["mean_latency_ms"] / held_out["mean_latency_ms"]}


def _met(record: dict, kind: str, value: float) -> bool:
    if kind == "drop":
        return record["held_out_drop_pp"] <= value + 1e-9
    key = "mean_latency_ms" if kind == "latency" else "mean_gflops"
    return record["held_out"][key] <= value + 1e-9


@dataclass
class HeldOutReport:
    folds: Folds
    rule: str
    kind: str
    value: float
    per_fold: list[SearchResult]          # every configuration on each fold alone
    checks: dict[str, list[dict]]         # rule -> one record per held-out fold
    notes: list[str] = field(default_factory=list)

    def summary(self, rule: str) -> dict:
        checks = [c for c in self.checks[rule] if c["config"] is not None]
        if not checks:
            return {"folds": len(self.checks[rule]), "budget_met_folds": 0, "feasible_folds": 0}
        mean = lambda key: float(np.mean([c[key] for c in checks]))  # noqa: E731
        return {"mean_predicted_drop_pp": mean("predicted_drop_pp"), "mean_held_out_drop_pp": mean("held_out_drop_pp"),
                "worst_held_out_drop_pp": float(max(c["held_out_drop_pp"] for c in checks)),
                "mean_predicted_speedup": mean("predicted_speedup"), "mean_held_out_speedup": mean("held_out_speedup"),
                "worst_held_out_speedup": float(min(c["held_out_speedup"] for c in checks)),
                "budget_met_folds": sum(_met(c, self.kind, self.value) for c in checks),
                "feasible_folds": len(checks), "folds": len(self.checks[rule])}

    def to_json(self) -> dict:
        return {"folds_by": self.folds.by, "rule": self.rule, "budget": {"kind": self.kind, "value": self.value},
                "folds": [{"fold": name, "images": int(len(m))} for name, m in zip(self.folds.names,
                                                                                 self.folds.members)],
                "checks": self.checks, "summary": {rule: self.summary(rule) for rule in self.checks},
                "notes": self.notes}


@dataclass
class FoldResults:
    """Every configuration on each fold alone and on each fold's complement: computed once per search
    (2 x folds searches of the cache), after which any budget is checked with array operations."""

    folds: Folds
    per_fold: list[SearchResult]
    others: list[SearchResult]


def fold_results(net: MultiExitNet, cache: CalibrationCache, costs: CostTable, space: SearchSpace,
                 folds: Folds) -> FoldResults:
    return FoldResults(folds, [search(net, subset(cache, m), costs, space=space) for m in folds.members],
                       [search(net, subset(cache, folds.others(k)), costs, space=space)
                        for k in range(len(folds.names))])


def held_out_choice(results: FoldResults, everything: SearchResult, *, kind: str, value: float,
                    cost: str = "latency", rule: str = DEFAULT_RULE) -> tuple[int, HeldOutReport]:
    """The configuration ``rule`` chooses on every calibration image (``everything``: the search on
    them all), and the leave-one-fold-out check of both rules (chosen on the other folds, measured
    on the held-out one). With two folds the robust rule has one fold to choose on: it is the plain one."""
    if rule not in RULES:
        raise ConfigError(f"unknown selection rule '{rule}' (known: {', '.join(RULES)})")
    folds, per_fold = results.folds, results.per_fold
    budget = Budget(kind, value, cost)
    checks: dict[str, list[dict]] = {r: [] for r in RULES}
    for k, name in enumerate(folds.names):
        rest = [r for j, r in enumerate(per_fold) if j != k]
        pooled = results.others[k]
        rules = {"plain": lambda: budget.choose(pooled),
                 "robust": (lambda: choose_robust(rest, kind, value, cost=cost)) if len(rest) >= 2 else
                 (lambda: budget.choose(pooled))}
        for r, pick in rules.items():
            try:
                index = pick()
            except ConfigError as exc:      # nothing fits on the other folds
                checks[r].append({"fold": name, "images": int(len(folds.members[k])), "config": None,
                                  "error": str(exc)})
                continue
            checks[r].append(_check_record(name, int(len(folds.members[k])), index, chosen_on=pooled, held=per_fold[k]))
    notes = []
    if rule == "robust":
        try:
            chosen = choose_robust(per_fold, kind, value, cost=cost)
        except ConfigError as exc:
            chosen, rule = budget.choose(everything), "plain"
            notes.append(f"{exc}: chosen on all images pooled instead")
    else:
        chosen = budget.choose(everything)
    return chosen, HeldOutReport(folds, rule, kind, value=value, per_fold=per_fold, checks=checks, notes=notes)


def held_out_check(net: MultiExitNet, cache: CalibrationCache, costs: CostTable, space: SearchSpace,
                   everything: SearchResult, *, kind: str, value: float, cost: str = "latency",
                   rule: str = DEFAULT_RULE, folds: Folds | None = None) -> tuple[int, HeldOutReport]:
    """``fold_results`` then ``held_out_choice``, in one call."""
    if rule not in RULES:
        raise ConfigError(f"unknown selection rule '{rule}' (known: {', '.join(RULES)})")
    results = fold_results(net, cache, costs, space=space, folds=folds or make_folds(cache.image_paths))
    return held_out_choice(results, everything, kind=kind, value=value, cost=cost, rule=rule)

"""Exhaustive exit-configuration search over a calibration cache (method sections 5 and 6).

The space (choices made here):
- kept early exits: any 1..``max_early`` candidate points in depth order, one
  head each, followed by the final exit ("dynamic"), or with the deepest kept
  early exit answering every image that reaches it ("truncated");
- thresholds: ONE pixel threshold and ONE image threshold shared by all the
  early exits of a configuration, from the grids below, and one confidence
  measure (top-1 or entropy) for the whole configuration;
- every single exit alone ("static": the network truncated at that exit).

For each configuration, each image's exit follows from the cached histograms
(no network runs), its mIoU from the summed confusion matrices of the exits
taken, and its cost from a cost table (latency or GFLOPs per segment and
head). Work is vectorised over all threshold pairs of one tuple of exits.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import numpy as np

from core.data.metrics import mean_iou_batch
from core.errors import ConfigError
from core.models.network import MultiExitNet
from core.models.spec import FINAL_EXIT
from core.profile.costs import CostTable
from core.runtime.config import ExitConfig
from core.runtime.policy import PolicySettings, image_confidence
from core.search.calibration import CalibrationCache

DEFAULT_TH_PIX = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98)
DEFAULT_TH_IMG = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99)


@dataclass(frozen=True)
class SearchSpace:
    max_early: int = 3
    th_pix: tuple[float, ...] = DEFAULT_TH_PIX
    th_img: tuple[float, ...] = DEFAULT_TH_IMG
    measures: tuple[str, ...] = ("top1", "entropy")
    truncated: bool = True


@dataclass
class SearchResult:
    """Every evaluated configuration (parallel arrays) and how to rebuild each one."""

    miou: np.ndarray           # percent
    mean_latency_ms: np.ndarray
    p95_latency_ms: np.ndarray
    mean_gflops: np.ndarray
    exit_fractions: list[np.ndarray]   # per block of configurations: (T, k)
    blocks: list[tuple[tuple[str, ...], str, int]] = field(default_factory=list)  # (exits, measure, start index)
    space: SearchSpace = field(default_factory=SearchSpace)
    policy: PolicySettings = field(default_factory=PolicySettings)
    seconds: float = 0.0
    full_index: int = -1

    @property
    def count(self) -> int:
        return int(self.miou.shape[0])

    def _block_of(self, index: int) -> tuple[int, tuple[str, ...], str, int]:
        starts = [b[2] for b in self.blocks]
        b = int(np.searchsorted(starts, index, side="right")) - 1
        exits, measure, start = self.blocks[b]
        return b, exits, measure, index - start

    def config(self, index: int) -> ExitConfig:
        _, exits, measure, offset = self._block_of(index)
        policy = PolicySettings(measure, self.policy.edge_smoothing, self.policy.scale, self.policy.edge_dilation)
        if len(exits) == 1:
            return ExitConfig(list(exits), mode="static", policy=policy)
        n_img = len(self.space.th_img)
        th_pix = self.space.th_pix[offset // n_img]
        th_img = self.space.th_img[offset % n_img]
        k = len(exits)
        return ExitConfig(list(exits), [th_pix] * k, [th_img] * (k - 1) + [0.0], policy=policy)

    def fractions(self, index: int) -> dict[str, float]:
        b, exits, _, offset = self._block_of(index)
        return {e: float(f) for e, f in zip(exits, self.exit_fractions[b][offset])}

    def summary(self, index: int) -> dict:
        return {
            "miou": float(self.miou[index]),
            "mean_latency_ms": float(self.mean_latency_ms[index]),
            "p95_latency_ms": float(self.p95_latency_ms[index]),
            "mean_gflops": float(self.mean_gflops[index]),
            "exit_fractions": self.fractions(index),
        }

    def pareto_front(self, cost: str = "latency") -> np.ndarray:
        """Indices of the non-dominated configurations (higher mIoU, lower cost), cheapest first."""
        values = self._cost(cost)
        order = np.lexsort((-self.miou, values))
        front, best = [], -np.inf
        for i in order:
            if self.miou[i] > best:
                front.append(i)
                best = self.miou[i]
        return np.asarray(front, dtype=np.int64)

    def _cost(self, cost: str) -> np.ndarray:
        if cost == "latency":
            return self.mean_latency_ms
        if cost == "gflops":
            return self.mean_gflops
        raise ConfigError(f"unknown cost '{cost}' (latency or gflops)")

    def most_accurate_within(self, budget: float, cost: str) -> int:
        values = self._cost(cost)
        feasible = np.flatnonzero(values <= budget)
        if feasible.size == 0:
            cheapest = int(np.argmin(values))
            unit = "ms" if cost == "latency" else "GFLOPs"
            raise ConfigError(f"no configuration fits {budget:g} {unit}; the cheapest, {self.describe(cheapest)}, "
                              f"needs {values[cheapest]:.3g} {unit}")
        best = feasible[self.miou[feasible] == self.miou[feasible].max()]
        return int(best[np.argmin(values[best])])

    def cheapest_within_drop(self, drop_pp: float, cost: str) -> int:
        floor = self.miou[self.full_index] - drop_pp
        values = self._cost(cost)
        feasible = np.flatnonzero(self.miou >= floor - 1e-9)
        best = feasible[values[feasible] == values[feasible].min()]
        return int(best[np.argmax(self.miou[best])])

    def describe(self, index: int) -> str:
        config = self.config(index)
        text = " > ".join(config.exits)
        if config.mode == "dynamic":
            text += f" (th_pix {config.th_pix[0]:g}, th_img {config.th_img[0]:g}, {config.policy.confidence})"
        return f"{text}: mIoU {self.miou[index]:.2f} %"


def _exit_tuples(net: MultiExitNet, cache: CalibrationCache, space: SearchSpace) -> list[tuple[str, ...]]:
    """Every kept-exit tuple of the space, shallow to deep."""
    by_point: dict[str, list[str]] = {}
    for exit_id in cache.exit_ids[:-1]:
        by_point.setdefault(exit_id.split(":", 1)[0], []).append(exit_id)
    points = [p for p in net.exit_points if p in by_point]
    tuples: list[tuple[str, ...]] = [(e,) for e in cache.exit_ids]
    for k in range(1, space.max_early + 1):
        for chosen in itertools.combinations(points, k):
            for heads in itertools.product(*(by_point[p] for p in chosen)):
                tuples.append(tuple(heads) + (FINAL_EXIT,))
                if space.truncated and k >= 2:
                    tuples.append(tuple(heads))
    return tuples


def search(net: MultiExitNet, cache: CalibrationCache, costs: CostTable, space: SearchSpace | None = None) -> SearchResult:
    """Evaluate every configuration of ``space``; no network runs."""
    space = space or SearchSpace()
    started = time.perf_counter()
    index = {e: j for j, e in enumerate(cache.exit_ids)}
    missing = [e for e in cache.exit_ids if e not in costs.heads]
    if missing:
        raise ConfigError(f"the cost table has no entry for exit '{missing[0]}': it was measured on another model")
    n = cache.images
    c = cache.confusion.shape[-1]
    cms = cache.confusion.reshape(n, len(cache.exit_ids), c * c).astype(np.float64)
    segments_ms = np.cumsum([s.latency_ms or 0.0 for s in costs.segments])
    segments_gf = np.cumsum([s.gflops for s in costs.segments])
    prefix_ms = {e: segments_ms[net.exit_segment(e)] for e in cache.exit_ids}
    prefix_gf = {e: segments_gf[net.exit_segment(e)] for e in cache.exit_ids}
    th_img = np.asarray(space.th_img)
    # leave[measure][e]: (T, N) bool, T = th_pix x th_img pairs
    leave = {}
    for measure in space.measures:
        confidence = image_confidence(cache.histograms[measure].astype(np.int64), np.asarray(space.th_pix))  # (N, E, P)
        stay = confidence[..., None] >= th_img  # (N, E, P, I)
        leave[measure] = np.ascontiguousarray(stay.transpose(1, 2, 3, 0).reshape(len(cache.exit_ids), -1, n))

    mious, means_ms, p95s, gfs, fractions, blocks = [], [], [], [], [], []
    total = 0
    for exits in _exit_tuples(net, cache, space):
        cost_ms = np.array([prefix_ms[e] + sum((costs.heads[x].latency_ms or 0.0) for x in exits[: j + 1])
                            for j, e in enumerate(exits)])
        cost_gf = np.array([prefix_gf[e] + sum(costs.heads[x].gflops for x in exits[: j + 1])
                            for j, e in enumerate(exits)])
        measures = space.measures if len(exits) > 1 else space.measures[:1]
        for measure in measures:
            if len(exits) == 1:
                taken = np.ones((1, 1, n), dtype=bool)
            else:
                t = leave[measure].shape[1]
                remaining = np.ones((t, n), dtype=bool)
                parts = []
                for e in exits[:-1]:
                    out = remaining & leave[measure][index[e]]
                    parts.append(out)
                    remaining &= ~out
                parts.append(remaining)
                taken = np.stack(parts, axis=1)  # (T, k, N)
            counts = taken.sum(axis=2)  # (T, k)
            summed = np.zeros((taken.shape[0], c * c))
            for j, e in enumerate(exits):
                summed += taken[:, j, :].astype(np.float64) @ cms[:, index[e], :]
            mious.append(100.0 * mean_iou_batch(summed.reshape(-1, c, c)))
            frac = counts / n
            means_ms.append(frac @ cost_ms)
            gfs.append(frac @ cost_gf)
            cumulative = np.cumsum(frac, axis=1)
            p95_index = np.minimum((cumulative < 0.95 - 1e-12).sum(axis=1), len(exits) - 1)
            p95s.append(cost_ms[p95_index])
            fractions.append(frac)
            blocks.append((exits, measure, total))
            total += taken.shape[0]
    result = SearchResult(
        miou=np.concatenate(mious), mean_latency_ms=np.concatenate(means_ms), p95_latency_ms=np.concatenate(p95s),
        mean_gflops=np.concatenate(gfs), exit_fractions=fractions, blocks=blocks, space=space, policy=cache.policy,
    )
    result.full_index = next(b[2] for b in blocks if b[0] == (FINAL_EXIT,))
    result.seconds = time.perf_counter() - started
    return result


def simulate(cache: CalibrationCache, config: ExitConfig) -> tuple[list[int], float]:
    """One configuration, image by image, from the cache: (exit index taken per image, mIoU %)."""
    index = {e: j for j, e in enumerate(cache.exit_ids)}
    unknown = [e for e in config.exits if e not in index]
    if unknown:
        raise ConfigError(f"the calibration cache has no exit '{unknown[0]}'")
    histograms = cache.histograms[config.policy.confidence]
    taken = []
    for n in range(cache.images):
        choice = len(config.exits) - 1
        for k, exit_id in enumerate(config.exits[:-1]):
            if image_confidence(histograms[n, index[exit_id]].astype(np.int64), config.th_pix[k]) >= config.th_img[k]:
                choice = k
                break
        taken.append(choice)
    summed = sum(cache.confusion[n, index[config.exits[k]]] for n, k in enumerate(taken))
    return taken, 100.0 * float(mean_iou_batch(np.asarray(summed, dtype=np.float64)[None])[0])

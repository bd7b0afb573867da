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
A configuration's summary also says what a miss costs at each of its kept
early exits (head + exit policy, core.profile.miss_cost), by the same table.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from core.data.metrics import mean_iou_batch
from core.errors import ConfigError
from core.models.network import MultiExitNet
from core.models.spec import FINAL_EXIT
from core.profile.costs import CostTable
from core.profile.miss_cost import MissCost, miss_cost
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
    miss: dict[str, MissCost] = field(default_factory=dict)   # by early exit, from the latency table

    def __post_init__(self) -> None:
        self._block_starts = np.asarray([b[2] for b in self.blocks])

    @property
    def count(self) -> int:
        return int(self.miou.shape[0])

    def _block_of(self, index: int) -> tuple[int, tuple[str, ...], str, int]:
        b = int(np.searchsorted(self._block_starts, index, side="right")) - 1
        exits, measure, start = self.blocks[b]
        return b, exits, measure, index - start

    def config(self, index: int) -> ExitConfig:
        _, exits, measure, offset = self._block_of(index)
        policy = PolicySettings(measure, self.policy.edge_smoothing, self.policy.scale,
                                edge_dilation=self.policy.edge_dilation)
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

    def miss_costs(self, index: int) -> list[MissCost]:
        """What a miss costs at each kept early exit of configuration ``index`` (none without latencies)."""
        return [self.miss[e] for e in self.config(index).exits[:-1] if e in self.miss]

    def summary(self, index: int) -> dict:
        return {
            "miou": float(self.miou[index]),
            "mean_latency_ms": float(self.mean_latency_ms[index]),
            "p95_latency_ms": float(self.p95_latency_ms[index]),
            "mean_gflops": float(self.mean_gflops[index]),
            "exit_fractions": self.fractions(index),
            "miss_costs": [m.to_json() for m in self.miss_costs(index)],
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
        if feasible.size == 0:        # a negative drop asks for more than the full network gives
            raise ConfigError(f"no configuration is within {drop_pp:g} pp of the full network's mIoU "
                              f"({self.miou[self.full_index]:.2f} %)")
        best = feasible[values[feasible] == values[feasible].min()]
        return int(best[np.argmax(self.miou[best])])

    def describe(self, index: int) -> str:
        config = self.config(index)
        text = " > ".join(config.exits)
        if config.mode == "dynamic":
            text += f" (th_pix {config.th_pix[0]:g}, th_img {config.th_img[0]:g}, {config.policy.confidence})"
        return f"{text}: mIoU {self.miou[index]:.2f} %"


@dataclass
class _Prefix:
    """The state of a cascade after its kept early exits so far, for every threshold pair (T) at once."""

    exits: tuple[str, ...]
    remaining: np.ndarray      # (T, N) bool: images not yet taken
    cm: np.ndarray             # (T, C*C) summed confusion of the images taken
    cost_ms: np.ndarray        # (T,) summed mean latency so far
    cost_gf: np.ndarray        # (T,)
    p95: np.ndarray            # (T,) p95 latency once 95 % of the images are taken, else NaN
    fractions: np.ndarray      # (T, k) fraction taken at each kept exit
    heads_ms: float            # heads evaluated on the way to the next exit
    heads_gf: float
    prefix_ms: float           # backbone cost up to the last kept exit
    prefix_gf: float
    last_point: int


class _Collector:
    def __init__(self) -> None:
        self.miou, self.mean_ms, self.p95, self.gflops, self.fractions, self.blocks = [], [], [], [], [], []
        self.total = 0

    def add(self, exits_list, measure, cm, cost_ms, cost_gf, p95, fractions) -> None:
        """cm: (X, T, C*C); costs, p95: (X, T); fractions: (X, T, k)."""
        x, t, c2 = cm.shape
        c = int(round(c2 ** 0.5))
        self.miou.append(100.0 * mean_iou_batch(cm.reshape(-1, c, c)))
        self.mean_ms.append(cost_ms.reshape(-1))
        self.gflops.append(cost_gf.reshape(-1))
        self.p95.append(p95.reshape(-1))
        for i, exits in enumerate(exits_list):
            self.fractions.append(fractions[i])
            self.blocks.append((exits, measure, self.total))
            self.total += t


def search(net: MultiExitNet, cache: CalibrationCache, costs: CostTable,
           space: SearchSpace | None = None) -> SearchResult:
    """Evaluate every configuration of ``space``; no network runs (see ``_search``)."""
    # The matrix products here are small: one BLAS thread is several times faster than many
    # threads contending for the cores (measured: 2.3 s against 11-44 s for 811k configurations).
    with threadpool_limits(limits=1, user_api="blas"):
        return _search(net, cache, costs, space=space)


def _search(net: MultiExitNet, cache: CalibrationCache, costs: CostTable, space: SearchSpace | None) -> SearchResult:
    """Evaluate every configuration of ``space``; no network runs.

    A depth-first walk over the kept early exits: at each prefix, every possible next exit
    (all heads at every deeper point) is evaluated at once for all threshold pairs, and the
    prefix's work (images taken, confusion sums, costs) is shared by everything below it.
    """
    space = space or SearchSpace()
    started = time.perf_counter()
    missing = [e for e in cache.exit_ids if e not in costs.heads]
    if missing:
        raise ConfigError(f"the cost table has no entry for exit '{missing[0]}': it was measured on another model")
    ids = cache.exit_ids
    index = {e: j for j, e in enumerate(ids)}
    n, c = cache.images, cache.confusion.shape[-1]
    cms = np.ascontiguousarray(cache.confusion.reshape(n, len(ids), c * c).transpose(1, 0, 2).astype(np.float64))
    seg_ms = np.cumsum([s.latency_ms or 0.0 for s in costs.segments])
    seg_gf = np.cumsum([s.gflops for s in costs.segments])
    prefix_ms = np.array([seg_ms[net.exit_segment(e)] for e in ids])
    prefix_gf = np.array([seg_gf[net.exit_segment(e)] for e in ids])
    head_ms = np.array([costs.heads[e].latency_ms or 0.0 for e in ids])
    head_gf = np.array([costs.heads[e].gflops for e in ids])
    order = {name: i for i, name in enumerate(net.exit_points)}
    early = [e for e in ids[:-1]]
    point_of = np.array([order[e.split(":", 1)[0]] for e in early])
    final = index[FINAL_EXIT]
    th_img = np.asarray(space.th_img)
    t = len(space.th_pix) * len(th_img)
    out = _Collector()

    # Static configurations: every exit alone.
    for j, exit_id in enumerate(ids):
        cost_ms = prefix_ms[j] + head_ms[j]
        out.add([(exit_id,)], space.measures[0], cms[j].sum(axis=0)[None, None], cost_ms=np.full((1, 1), cost_ms),
                cost_gf=np.full((1, 1), prefix_gf[j] + head_gf[j]), p95=np.full((1, 1), cost_ms),
                fractions=np.ones((1, 1, 1)))

    for measure in space.measures:
        confidence = image_confidence(cache.histograms[measure].astype(np.int64), np.asarray(space.th_pix))  # (N, E, P)
        leave = (confidence[..., None] >= th_img).transpose(1, 2, 3, 0).reshape(len(ids), t, n)  # (E, T, N)
        root = _Prefix((), np.ones((t, n), dtype=bool), np.zeros((t, c * c)), cost_ms=np.zeros(t), cost_gf=np.zeros(t),
                       p95=np.full(t, np.nan), fractions=np.zeros((t, 0)), heads_ms=0.0, heads_gf=0.0, prefix_ms=0.0,
                       prefix_gf=0.0, last_point=-1)
        stack = [root]
        while stack:
            node = stack.pop()
            cand = [index[e] for e, pt in zip(early, point_of) if pt > node.last_point]
            if not cand:
                continue
            cand_arr = np.asarray(cand)
            reach = node.remaining.mean(axis=1)  # (T,) fraction of images reaching the next exit
            rem = node.remaining[None]  # (1, T, N)
            taken = rem & leave[cand_arr]  # (X, T, N)
            rest = rem & ~leave[cand_arr]  # (X, T, N)
            step_ms = prefix_ms[cand_arr] - node.prefix_ms + head_ms[cand_arr]  # (X,)
            step_gf = prefix_gf[cand_arr] - node.prefix_gf + head_gf[cand_arr]
            cost_ms = node.cost_ms[None] + reach[None] * step_ms[:, None]  # (X, T)
            cost_gf = node.cost_gf[None] + reach[None] * step_gf[:, None]
            at_exit_ms = (prefix_ms[cand_arr] + node.heads_ms + head_ms[cand_arr])  # (X,) latency of leaving there
            done_before = node.fractions.sum(axis=1)  # (T,)
            # Truncated cascades: the new exit answers every image that reaches it.
            if space.truncated and node.exits:
                cm = node.cm[None] + np.matmul(rem.astype(np.float64), cms[cand_arr])
                p95 = np.where(np.isnan(node.p95)[None], at_exit_ms[:, None], node.p95[None])
                fractions = np.concatenate([np.repeat(node.fractions[None], len(cand), 0),
                                            np.broadcast_to(reach[None, :, None], (len(cand), t, 1))], axis=2)
                out.add([node.exits + (ids[j],) for j in cand], measure, cm, cost_ms=cost_ms, cost_gf=cost_gf, p95=p95,
                        fractions=fractions)
            # The new exit as an early exit (it takes the images that pass its thresholds).
            taken_f = taken.astype(np.float64)
            cm_x = node.cm[None] + np.matmul(taken_f, cms[cand_arr])  # (X, T, C*C)
            frac_x = taken_f.mean(axis=2)  # (X, T)
            crossed = np.isnan(node.p95)[None] & (done_before[None] + frac_x >= 0.95 - 1e-12)
            p95_x = np.where(crossed, at_exit_ms[:, None], node.p95[None])
            fractions_x = np.concatenate([np.repeat(node.fractions[None], len(cand), 0), frac_x[..., None]], axis=2)
            # ... followed by the final exit, which answers the rest.
            rest_f = rest.astype(np.float64)
            cm_f = cm_x + np.matmul(rest_f, cms[final][None])
            reach_f = rest_f.mean(axis=2)  # (X, T)
            final_step_ms = prefix_ms[final] - prefix_ms[cand_arr] + head_ms[final]
            final_step_gf = prefix_gf[final] - prefix_gf[cand_arr] + head_gf[final]
            at_final_ms = prefix_ms[final] + node.heads_ms + head_ms[cand_arr] + head_ms[final]
            out.add([node.exits + (ids[j], FINAL_EXIT) for j in cand], measure, cm_f,
                    cost_ms=cost_ms + reach_f * final_step_ms[:, None],
                    cost_gf=cost_gf + reach_f * final_step_gf[:, None],
                    p95=np.where(np.isnan(p95_x), at_final_ms[:, None], p95_x),
                    fractions=np.concatenate([fractions_x, reach_f[..., None]], axis=2))
            if len(node.exits) + 1 < space.max_early:
                for i, j in enumerate(cand):
                    stack.append(_Prefix(node.exits + (ids[j],), rest[i], cm_x[i], cost_ms=cost_ms[i],
                                         cost_gf=cost_gf[i], p95=p95_x[i], fractions=fractions_x[i],
                                         heads_ms=node.heads_ms + head_ms[j], heads_gf=node.heads_gf + head_gf[j],
                                         prefix_ms=prefix_ms[j], prefix_gf=prefix_gf[j],
                                         last_point=int(point_of[early.index(ids[j])])))
    result = SearchResult(
        miou=np.concatenate(out.miou), mean_latency_ms=np.concatenate(out.mean_ms) + costs.output_ms,
        p95_latency_ms=np.concatenate(out.p95) + costs.output_ms, mean_gflops=np.concatenate(out.gflops),
        exit_fractions=out.fractions, blocks=out.blocks, space=space, policy=cache.policy,
        miss={e: m for e in early if (m := miss_cost(costs, e)) is not None},
    )
    result.full_index = next(b[2] for b in out.blocks if b[0] == (FINAL_EXIT,))
    result.seconds = time.perf_counter() - started
    return result


def simulate(cache: CalibrationCache, config: ExitConfig) -> tuple[list[int], float]:
    """One configuration, image by image, from the cache: (exit index taken per image, mIoU %)."""
    if config.mode == "deadline":
        raise ConfigError("a deadline configuration's exit follows from the latency table: use "
                          "core.search.deadline.predict_deadline")
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

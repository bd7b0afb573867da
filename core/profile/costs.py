"""Cost of every piece of a MultiExitNet: FLOPs and measured latency.

A network's cost is broken down per backbone segment and per exit head (the
final head included), so the cost of any exit is the sum of the segment
prefix up to it plus its head; a cascade adds every head it evaluates on the
way. FLOPs come from ``torch.utils.flop_counter`` (a multiply-add counts as 2
FLOPs); latency is measured (warm-up first, then the median of repeats, with
the device synchronised around each timing).
"""

from __future__ import annotations

import platform
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from core.device import synchronize
from core.models.network import MultiExitNet


@dataclass
class PieceCost:
    """One segment or head: GFLOPs, and latency median and spread (ms)."""

    gflops: float
    latency_ms: float | None = None
    latency_p10_ms: float | None = None
    latency_p90_ms: float | None = None

    def to_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


@dataclass
class CostTable:
    """Costs per segment and per exit head, for one input size on one device."""

    input_size: tuple[int, int]
    device: str
    segments: list[PieceCost]
    heads: dict[str, PieceCost]
    device_description: str = ""
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "input_size": list(self.input_size),
            "device": self.device,
            "device_description": self.device_description,
            "segments": [s.to_json() for s in self.segments],
            "heads": {k: v.to_json() for k, v in self.heads.items()},
            **self.extra,
        }


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda})"
    return f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads, {platform.system()}"


def _pieces(net: MultiExitNet, image: torch.Tensor) -> tuple[list[Callable[[], torch.Tensor]], dict[str, Callable[[], torch.Tensor]]]:
    """Callables that run each segment and each head on its real input."""
    inputs, taps = [], {}
    x = image
    with torch.no_grad():
        for k in range(len(net.segments)):
            inputs.append(x)
            x = net.run_segments(x, k, k, taps)
        outputs = inputs[1:] + [x]
    segments = [lambda k=k: net.segments[k](inputs[k]) for k in range(len(net.segments))]
    heads = {e: (lambda e=e: net.exit_logits(e, outputs[net.exit_segment(e)], taps)) for e in net.exit_ids()}
    return segments, heads


def _flops(fn: Callable[[], torch.Tensor]) -> float:
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        fn()
    return counter.get_total_flops() / 1e9


def _time(fn: Callable[[], torch.Tensor], device: torch.device, warmup: int, repeats: int) -> tuple[float, float, float]:
    with torch.no_grad():
        for _ in range(warmup):
            fn()
        samples = []
        for _ in range(repeats):
            synchronize(device)
            start = time.perf_counter()
            fn()
            synchronize(device)
            samples.append((time.perf_counter() - start) * 1000.0)
    samples.sort()
    pick = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))]
    return statistics.median(samples), pick(0.1), pick(0.9)


def measure_costs(net: MultiExitNet, input_size: tuple[int, int], device: torch.device | str = "cpu",
                  latency: bool = True, warmup: int = 3, repeats: int = 10,
                  progress: Callable[[int, int], None] | None = None) -> CostTable:
    """FLOPs (and, if ``latency``, measured latency) of every segment and head for one image."""
    device = torch.device(device)
    was_training = net.training
    net = net.to(device).eval()
    image = torch.rand(1, 3, *input_size, device=device)
    try:
        return _measure(net, image, device, latency, warmup, repeats, progress)
    finally:
        net.train(was_training)


def _measure(net: MultiExitNet, image: torch.Tensor, device: torch.device, latency: bool, warmup: int,
             repeats: int, progress: Callable[[int, int], None] | None) -> CostTable:
    segments, heads = _pieces(net, image)
    total = len(segments) + len(heads)
    costs: list[PieceCost] = []
    for i, fn in enumerate(list(segments) + list(heads.values())):
        cost = PieceCost(_flops(fn))
        if latency:
            cost.latency_ms, cost.latency_p10_ms, cost.latency_p90_ms = _time(fn, device, warmup, repeats)
        costs.append(cost)
        if progress:
            progress(i + 1, total)
    return CostTable(
        input_size=(int(image.shape[-2]), int(image.shape[-1])),
        device=str(device),
        segments=costs[: len(segments)],
        heads=dict(zip(heads, costs[len(segments):])),
        device_description=describe_device(device),
    )


def cascade_cost(net: MultiExitNet, table: CostTable, exits: list[str], taken: int, key: str) -> float:
    """Cost of an image leaving at ``exits[taken]`` of a cascade: the backbone prefix to that
    exit plus every head evaluated on the way. ``key`` is 'gflops' or 'latency_ms'."""
    last_segment = net.exit_segment(exits[taken])
    pieces = table.segments[: last_segment + 1] + [table.heads[e] for e in exits[: taken + 1]]
    return float(sum(getattr(p, key) for p in pieces))

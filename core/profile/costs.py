"""Cost of every piece of a MultiExitNet: FLOPs and measured latency.

A network's cost is broken down per backbone segment and per exit head (the
final head included), so the cost of any exit is the sum of the segment
prefix up to it plus its head; a cascade adds every head it evaluates on the
way. FLOPs come from ``torch.utils.flop_counter`` (a multiply-add counts as 2
FLOPs) and count the network only; a head's latency includes the exit
policy run on its output (confidence map, edge smoothing, the fraction of
confident pixels at one threshold, as the runtime runs it), since the runtime pays
it at every exit it evaluates. Latency is measured (warm-up first, then the median of repeats, with
the device synchronised around each timing).
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from core.device import synchronize
from core.errors import ConfigError
from core.models.network import MultiExitNet
from core.runtime.policy import PolicySettings, as_array, confident_fraction


# 2: heads record policy_ms, the exit policy's part of their latency. 3: heads time the policy as the runtime
# runs it (confident_fraction, one threshold); tables before it may have timed its histogram form (most
# version-2 tables did), up to ~0.3 ms slower per exit.
COST_TABLE_VERSION = 3
READABLE_COST_TABLE_VERSIONS = (1, 2, 3)
RUNTIME_POLICY_TIMED_SINCE = 3
PIECE_KEYS = ("gflops", "latency_ms", "latency_p10_ms", "latency_p90_ms", "policy_ms")


@dataclass
class PieceCost:
    """One segment or head: GFLOPs, and latency median and spread (ms). A head's latency includes
    the exit policy on its output; ``policy_ms`` is the policy's median alone (None: not measured,
    a segment, or a table from before it was measured)."""

    gflops: float
    latency_ms: float | None = None
    latency_p10_ms: float | None = None
    latency_p90_ms: float | None = None
    policy_ms: float | None = None

    def to_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "policy_ms" or v is not None}


@dataclass
class CostTable:
    """Costs per segment and per exit head, for one input size on one device."""

    input_size: tuple[int, int]
    device: str
    segments: list[PieceCost]
    heads: dict[str, PieceCost]
    device_description: str = ""
    extra: dict = field(default_factory=dict)
    exit_ids: list[str] = field(default_factory=list)
    weights_sha256: str = ""
    # Once per image, at the exit taken: logits upsampled to the input size and turned into labels.
    output_ms: float = 0.0
    backend: str = "torch"
    precision: str = "fp32"
    format_version: int = COST_TABLE_VERSION      # a loaded table keeps the version it was measured with

    def to_json(self) -> dict:
        return {
            "input_size": list(self.input_size),
            "device": self.device,
            "device_description": self.device_description,
            "segments": [s.to_json() for s in self.segments],
            "heads": {k: v.to_json() for k, v in self.heads.items()},
            "exit_ids": list(self.exit_ids),
            "weights_sha256": self.weights_sha256,
            "output_ms": self.output_ms,
            "backend": self.backend,
            "precision": self.precision,
            "format_version": self.format_version,
            **self.extra,
        }

    def full_network_spread(self) -> tuple[float, float, float] | None:
        """(median, p10, p90) of the full network: every segment, the final head (with its policy) and
        the output step, summed, as ``cascade_cost`` counts the final exit; None without latencies."""
        pieces = [*self.segments, self.heads.get("final")]
        if any(p is None or p.latency_ms is None or p.latency_p10_ms is None or p.latency_p90_ms is None
               for p in pieces):
            return None
        out = self.output_ms or 0.0
        return (sum(p.latency_ms for p in pieces) + out, sum(p.latency_p10_ms for p in pieces) + out,
                sum(p.latency_p90_ms for p in pieces) + out)

    def warnings(self) -> list[str]:
        """Why this table's latencies may not be the machine's: a large spread, or other load."""
        from core.profile.load import BUSY_THRESHOLD, SPREAD_THRESHOLD

        found = []
        spread = self.full_network_spread()
        if spread is not None and spread[1] > 0 and spread[2] / spread[1] > SPREAD_THRESHOLD:
            found.append(f"latency spread is large: full network p10 {spread[1]:.1f} ms, p90 {spread[2]:.1f} ms")
        others = (self.extra.get("load") or {}).get("others_cpu_fraction")
        if others is not None and others > BUSY_THRESHOLD:
            found.append(f"measured while other processes used {100 * others:.0f} % of the CPU")
        return found

    def version_note(self) -> str | None:
        """Why the heads' latencies of a table from an older mess may overstate the exit policy, or None
        (a table of this version, or one without latencies)."""
        if self.format_version >= RUNTIME_POLICY_TIMED_SINCE or all(h.latency_ms is None for h in self.heads.values()):
            return None
        return (f"measured by an older mess (latency-table version {self.format_version}), which may have timed "
                "a slower form of the exit policy than the runtime's")

    def save(self, path: Path) -> None:
        from core.jsonio import write_json_atomic

        write_json_atomic(Path(path), self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> "CostTable":
        from core.jsonio import read_json

        path = Path(path)
        data = read_json(path, "latency table", max_bytes=16 << 20)
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: not a latency table (expected a JSON object)")
        try:
            version = data.get("format_version")
            if type(version) is not int or version not in READABLE_COST_TABLE_VERSIONS:
                raise ConfigError(f"{path}: unknown latency-table format version {version!r}")
            allowed = PIECE_KEYS if version >= 2 else PIECE_KEYS[:-1]

            def piece(d):
                unknown = sorted(set(d) - set(allowed))
                if unknown:
                    raise ConfigError(f"{path}: unknown key '{unknown[0]}' in a piece of the latency table "
                                      f"(version {version} knows: {', '.join(allowed)})")
                policy_ms = d.get("policy_ms")
                if policy_ms is not None and (isinstance(policy_ms, bool) or not isinstance(policy_ms, (int, float))
                                              or not 0 <= policy_ms < 1e6):
                    raise ConfigError(f"{path}: policy_ms must be a number of milliseconds, got {policy_ms!r}")
                return PieceCost(**{k: d.get(k) for k in allowed})

            known = {"input_size", "device", "device_description", "segments", "heads", "exit_ids", "weights_sha256",
                     "format_version", "output_ms", "backend", "precision"}
            return cls(tuple(data["input_size"]), data["device"], [piece(d) for d in data["segments"]],
                       heads={k: piece(v) for k, v in data["heads"].items()},
                       device_description=data.get("device_description", ""),
                       extra={k: v for k, v in data.items() if k not in known}, exit_ids=list(data.get("exit_ids", [])),
                       weights_sha256=data.get("weights_sha256", ""), output_ms=float(data.get("output_ms", 0.0)),
                       backend=str(data.get("backend", "torch")), precision=str(data.get("precision", "fp32")),
                       format_version=version)
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the latency table ({exc.strerror})") from None
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"{path}: not a latency table ({type(exc).__name__}: {exc})") from None

    def check_matches(self, net: MultiExitNet, source: str = "latency table", backend: str | None = None,
                      precision: str | None = None) -> None:
        """Refuse a table measured on another model (other exits or another number of segments), or,
        when ``backend``/``precision`` are given, with another backend or precision."""
        if self.exit_ids != net.exit_ids() or len(self.segments) != len(net.segments):
            raise ConfigError(f"{source}: measured on another model (its exits and segments differ from this model's)")
        if backend is not None and (self.backend, self.precision) != (backend, precision or self.precision):
            raise ConfigError(f"{source}: measured with backend {self.backend} ({self.precision}), not "
                              f"{backend} ({precision or self.precision}); measure one with "
                              f"'mess profile --backend {backend}' or pass --backend {self.backend}")


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda})"
    threads = torch.get_num_threads()
    return (f"{platform.processor() or platform.machine()} CPU, {threads} thread{'s' if threads != 1 else ''}, "
            f"{platform.system()}")


TIMED_TH_PIX = 0.9   # the policy is timed at this pixel threshold (its cost does not depend on it)


def _with_policy(net: MultiExitNet, exit_id: str, head: Callable[[], torch.Tensor],
                 size: tuple[int, int]) -> Callable[[], object]:
    """The head followed by the exit policy on its output: what the runtime pays at every exit it evaluates."""
    stride = net.exit_stride(exit_id)
    return lambda: confident_fraction(head(), size, stride, th_pix=TIMED_TH_PIX, settings=PolicySettings())


def _policy_alone(net: MultiExitNet, exit_id: str, head: Callable[[], torch.Tensor],
                  size: tuple[int, int]) -> Callable[[], object]:
    """The exit policy alone, on the head's real output (run once here, on the host as the runtime has it)."""
    stride = net.exit_stride(exit_id)
    with torch.no_grad():
        logits = as_array(head())
    return lambda: confident_fraction(logits, size, stride, th_pix=TIMED_TH_PIX, settings=PolicySettings())


def _flops(fn: Callable[[], torch.Tensor]) -> float:
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        fn()
    return counter.get_total_flops() / 1e9


def _time(fn: Callable[[], torch.Tensor], device: torch.device, warmup: int,
          repeats: int) -> tuple[float, float, float]:
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

    def pick(q):
        return samples[min(len(samples) - 1, int(q * len(samples)))]

    return statistics.median(samples), pick(0.1), pick(0.9)


def measure_costs(net: MultiExitNet, input_size: tuple[int, int], device: torch.device | str = "cpu",
                  latency: bool = True, warmup: int = 3, repeats: int = 10,
                  progress: Callable[[int, int], None] | None = None, pieces=None) -> CostTable:
    """FLOPs (and, if ``latency``, measured latency) of every segment and head for one image.

    ``pieces`` (a backend's ``RunnablePieces``) are what is timed; default torch on ``device``."""
    from core.profile.load import LoadProbe

    device = torch.device(device)
    was_training = net.training
    net = net.to(device).eval()
    image = torch.rand(1, 3, *input_size, device=device)
    probe = LoadProbe()
    try:
        table = _measure(net, image, device, latency=latency, warmup=warmup, repeats=repeats, progress=progress,
                         pieces=pieces)
    finally:
        net.train(was_training)
    if latency:
        table.extra["load"] = probe.stop()
    return table


def _measure(net: MultiExitNet, image: torch.Tensor, device: torch.device, latency: bool, warmup: int,
             repeats: int, progress: Callable[[int, int], None] | None, pieces=None) -> CostTable:
    from core.runtime.backends.torch_backend import TorchPieces

    segments, heads, _ = TorchPieces(net).timing_callables(image)  # what FLOPs are counted on
    pieces = pieces or TorchPieces(net)
    if latency:
        total = len(net.segments) + len(net.exit_ids())
        timed_segments, timed_heads, output_fn = pieces.timing_callables(
            image, (lambda: progress(0, total)) if progress else None)
    else:
        timed_segments, timed_heads, output_fn = segments, heads, None
    total = len(segments) + len(heads)
    costs: list[PieceCost] = []
    size = (int(image.shape[-2]), int(image.shape[-1]))
    timed = list(timed_segments) + [_with_policy(net, e, timed_heads[e], size=size) for e in heads]
    exit_of = [None] * len(segments) + list(heads)     # the exit of each piece (None: a segment)
    for i, fn in enumerate(list(segments) + list(heads.values())):
        cost = PieceCost(_flops(fn))
        if latency:
            cost.latency_ms, cost.latency_p10_ms, cost.latency_p90_ms = _time(timed[i], device, warmup, repeats=repeats)
            if exit_of[i] is not None:
                policy = _policy_alone(net, exit_of[i], timed_heads[exit_of[i]], size=size)
                cost.policy_ms = _time(policy, device, warmup, repeats=repeats)[0]
        costs.append(cost)
        if progress:
            progress(i + 1, total)
    output_ms = 0.0
    if latency:
        output_ms = _time(output_fn, device, warmup, repeats=repeats)[0]
    return CostTable(
        input_size=(int(image.shape[-2]), int(image.shape[-1])),
        device=str(device),
        segments=costs[: len(segments)],
        heads=dict(zip(heads, costs[len(segments):])),
        device_description=describe_device(device) + ("" if pieces.backend == "torch" else f", {pieces.describe()}"),
        exit_ids=net.exit_ids(),
        extra={**_memory(device),
               # which int8 graphs were timed (scheme and calibration): a table of other ones is refused
               **({"precision_id": pieces.precision_id} if pieces.precision_id != pieces.precision else {})},
        output_ms=output_ms,
        backend=pieces.backend,
        precision=pieces.precision,
    )


def _memory(device: torch.device) -> dict:
    """Peak memory: the CUDA allocator's peak on a GPU; the process's peak resident size on a CPU."""
    if device.type == "cuda":
        return {"peak_memory_mb": torch.cuda.max_memory_allocated(device) / 2**20, "peak_memory_kind": "cuda allocator"}
    try:
        import resource

        return {"peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "peak_memory_kind": "process peak resident set"}
    except ImportError:
        return {}


def cascade_cost(net: MultiExitNet, table: CostTable, exits: list[str], taken: int, key: str) -> float:
    """Cost of an image leaving at ``exits[taken]`` of a cascade: the backbone prefix to that
    exit plus every head evaluated on the way (plus, for latency, the output step once).
    ``key`` is 'gflops' or 'latency_ms'."""
    last_segment = net.exit_segment(exits[taken])
    pieces = table.segments[: last_segment + 1] + [table.heads[e] for e in exits[: taken + 1]]
    total = float(sum(getattr(p, key) for p in pieces))
    return total + table.output_ms if key == "latency_ms" else total

"""A network's costs laid out as its structure: segments in order, candidate exit points between
them with their heads, and the final exit. What a diagram of the backbone draws.

Each head also carries the cost of answering at that exit alone (the backbone prefix up to it
plus its head: the static configuration), what a miss costs there (head + exit policy, with the
policy's part when the table has it: core.profile.miss_cost), and, when model.json has them, its
validation mIoU. The words a diagram shows in each block are made here too (head_lines,
final_lines, head_tip), Qt-free.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.models.network import MultiExitNet
from core.models.spec import FINAL_EXIT
from core.profile.costs import CostTable, cascade_cost
from core.profile.miss_cost import MissCost, miss_cost


@dataclass
class HeadCost:
    """One exit: its head's own cost, and the cost of the network truncated at it."""

    exit_id: str
    head: str                       # the head's key (fcn-c64-b0), or the final head's description
    gflops: float
    latency_ms: float | None        # head + exit policy on its output
    exit_gflops: float              # prefix + head
    exit_latency_ms: float | None   # prefix + head + output step
    miou: float | None = None       # validation mIoU (%) from model.json, when known
    miss: MissCost | None = None    # head + policy, split when known; None without latencies


@dataclass
class SegmentCost:
    index: int
    name: str
    gflops: float
    latency_ms: float | None


@dataclass
class PointCost:
    """A candidate exit point after segment ``segment``, with the heads attached there."""

    name: str
    segment: int
    stride: int
    channels: int
    heads: list[HeadCost] = field(default_factory=list)


@dataclass
class Breakdown:
    input_size: tuple[int, int]
    device_description: str
    segments: list[SegmentCost]
    points: list[PointCost]
    final: HeadCost
    has_latency: bool

    def points_after(self, segment: int) -> list[PointCost]:
        return [p for p in self.points if p.segment == segment]

    @property
    def total_gflops(self) -> float:
        return self.final.exit_gflops

    @property
    def total_latency_ms(self) -> float | None:
        return self.final.exit_latency_ms


def _latency(value: float | None, has: bool) -> float | None:
    return float(value) if has and value is not None else None


def cost_breakdown(net: MultiExitNet, table: CostTable, val_miou: dict | None = None) -> Breakdown:
    """The diagram's numbers for ``net`` from ``table`` (check_matches first for an imported table)."""
    has_latency = all(s.latency_ms is not None for s in table.segments)
    val_miou = val_miou or {}

    def head_cost(exit_id: str, name: str) -> HeadCost:
        piece = table.heads[exit_id]
        exit_latency = cascade_cost(net, table, [exit_id], taken=0, key="latency_ms") if has_latency else None
        miou = val_miou.get(exit_id)
        return HeadCost(exit_id, name, float(piece.gflops), latency_ms=_latency(piece.latency_ms, has_latency),
                        exit_gflops=cascade_cost(net, table, [exit_id], taken=0, key="gflops"),
                        exit_latency_ms=exit_latency, miou=float(miou) if isinstance(miou, (int, float)) else None,
                        miss=miss_cost(table, exit_id) if has_latency else None)

    names = list(getattr(net, "segment_names", [])) or [f"segment {k}" for k in range(len(net.segments))]
    segments = [SegmentCost(k, names[k], float(s.gflops), latency_ms=_latency(s.latency_ms, has_latency))
                for k, s in enumerate(table.segments)]
    points = {name: PointCost(name, p.segment, p.stride, channels=p.channels) for name, p in net.exit_points.items()}
    for exit_id in net.exit_ids()[:-1]:
        point, _, key = exit_id.partition(":")
        points[point].heads.append(head_cost(exit_id, key))
    final_name = str(net.spec.backbone_options.get("final_head", "final head"))
    final = head_cost(FINAL_EXIT, f"{final_name} head" if final_name != "native" else "native head")
    return Breakdown(tuple(table.input_size), table.device_description, segments,
                     points=[p for p in points.values()], final=final, has_latency=has_latency)


# --- the words a diagram of the breakdown shows -----------------------------------------------------

def gf_text(value: float) -> str:
    return f"{value:.2f} GF" if value >= 0.1 else f"{value * 1000:.0f} MF"


def ms_text(value: float | None) -> str:
    return "– ms" if value is None else (f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms")


def _head_alone(head: HeadCost) -> str:
    """The head's latency without the exit policy: '– ms' unmeasured, '? ms' when the table does not split them."""
    if head.miss is None:
        return ms_text(None)
    return "? ms" if head.miss.policy_ms is None else ms_text(head.miss.head_ms)


def head_lines(head: HeadCost) -> list[str]:
    """A candidate head's box under its title: the head alone, a miss there, answering there."""
    return [f"head {gf_text(head.gflops)} · {_head_alone(head)}",
            head.miss.short() if head.miss is not None else "miss – ms",
            f"exit {gf_text(head.exit_gflops)} · {ms_text(head.exit_latency_ms)}"]


def final_lines(final: HeadCost) -> list[str]:
    """The final exit's box under its title: the head's name, the head alone, the exit policy after it."""
    policy = final.miss.policy_ms if final.miss is not None else None
    return [final.head, f"head {gf_text(final.gflops)} · {_head_alone(final)}",
            f"+ policy {ms_text(policy)}" if policy is not None else f"with policy {ms_text(final.latency_ms)}"]


def head_tip(head: HeadCost, kept: bool) -> str:
    """A head's tool tip: its cost, what answering there costs, what a miss there costs, its mIoU."""
    lines = [head.exit_id + ("  (kept)" if kept else ""),
             f"head: {head.gflops:.3f} GFLOPs"
             + (f", {head.latency_ms:.2f} ms with the exit policy" if head.latency_ms is not None else ""),
             f"answering here: {head.exit_gflops:.3f} GFLOPs"
             + (f", {head.exit_latency_ms:.2f} ms" if head.exit_latency_ms is not None else "")]
    if head.miss is not None:
        lines.append(head.miss.sentence() if head.exit_id != FINAL_EXIT
                     else f"head and exit policy: {head.miss.miss_cost_ms:.2f} ms ({head.miss.split()})")
        share = head.miss.policy_share
        if share is not None:
            lines.append(f"the exit policy is {100 * share:.0f} % of it ({head.miss.policy_ms:.2f} ms)")
    if head.miou is not None:
        lines.append(f"validation mIoU {head.miou:.2f} %")
    return "\n".join(lines)

"""The exit a frame took, in plain words for an audience: "exit 1 of 2 · 43 % of the network · 2.1x faster".

The share of the network and the speed-up are what answering at that exit of the configuration
costs (the backbone up to it and every head evaluated on the way, ``core.profile.costs.cascade_cost``)
against the full network, from a latency table when one was measured (basis "latency table"), else
from FLOPs (basis "FLOPs"): ``exit_share`` computes them, ``exit_words`` says them.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.models.spec import FINAL_EXIT
from core.profile.costs import CostTable, cascade_cost

BASES = ("latency table", "FLOPs")


@dataclass(frozen=True)
class ExitShare:
    """What answering at one exit costs against the full network."""

    share: float        # of the full network's cost (0.43 = 43 %); past 1 when the heads on the way cost more
    speedup: float      # full network cost / this cost
    basis: str          # "latency table" or "FLOPs"


def has_latencies(table: CostTable) -> bool:
    pieces = [*table.segments, *table.heads.values()]
    return bool(pieces) and all(p.latency_ms is not None for p in pieces)


def exit_share(net, table: CostTable | None, exits: list[str] | tuple[str, ...], taken: int) -> ExitShare | None:
    """The share and speed-up of leaving at ``exits[taken]``; None without a table or for an exit it lacks."""
    if table is None or not exits or not 0 <= taken < len(exits):
        return None
    if any(e not in table.heads for e in exits) or FINAL_EXIT not in table.heads:
        return None
    key, basis = ("latency_ms", "latency table") if has_latencies(table) else ("gflops", "FLOPs")
    cost = cascade_cost(net, table, list(exits), taken=taken, key=key)
    full = cascade_cost(net, table, [FINAL_EXIT], taken=0, key=key)
    if cost <= 0 or full <= 0:
        return None
    return ExitShare(share=cost / full, speedup=full / cost, basis=basis)


def exit_words(exit_index: int, exits: int, share: ExitShare | None = None) -> str:
    """'exit 1 of 2 · 43 % of the network · 2.1x faster', or without a share 'exit 1 of 2'.

    The full network alone reads 'exit 1 of 1 · the whole network'; an exit that costs more than the full
    network (the heads on the way) reads '1.1x slower'."""
    words = f"exit {exit_index + 1} of {exits}"
    if share is None:
        return words
    if exits == 1 and abs(share.share - 1.0) < 0.005:
        return f"{words} · the whole network"
    if share.speedup >= 0.995:
        pace = f"{share.speedup:.1f}x faster" if share.speedup >= 1.05 else "as fast"
    else:
        pace = f"{1 / share.speedup:.1f}x slower"
    return f"{words} · {share.share * 100:.0f} % of the network · {pace}"


def basis_note(share: ExitShare | None) -> str:
    """Where the share comes from, for a tooltip."""
    if share is None:
        return "No cost table yet: the share of the network is not known."
    if share.basis == "latency table":
        return "Share and speed-up from the latency table measured on the Model page (this device, this backend)."
    return "Share and speed-up from FLOPs (no latency table measured on the Model page for this device)."

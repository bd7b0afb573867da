"""What a miss costs at an exit: the head plus the exit policy, paid by every image that goes on.

An image that does not leave at a kept early exit has still run that exit's head and the exit
policy on its output (confidence map, edge smoothing, histogram) before it continues. A latency
table's head latency includes the policy (core.profile.costs); from format version 2 it records
the policy's own median too (``policy_ms``), so the split is known. A version-1 table does not:
its miss cost is known, the head/policy split is not (None, said as unknown, never as zero).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.models.spec import FINAL_EXIT
from core.profile.costs import CostTable

UNKNOWN_SPLIT = "head and policy not measured apart: a latency table from before policy_ms"


@dataclass(frozen=True)
class MissCost:
    """One exit's miss cost (ms): head + policy; the policy's part; the full network's latency."""

    exit_id: str
    miss_cost_ms: float
    policy_ms: float | None          # None: the table does not split head and policy
    full_network_ms: float | None    # None: the table lacks a latency the full network needs

    @property
    def head_ms(self) -> float | None:
        """The head alone: the miss cost less the policy (both medians, so never below 0)."""
        return None if self.policy_ms is None else max(self.miss_cost_ms - self.policy_ms, 0.0)

    @property
    def policy_share(self) -> float | None:
        """The policy's part of the miss cost, 0..1."""
        if self.policy_ms is None or self.miss_cost_ms <= 0:
            return None
        return min(self.policy_ms / self.miss_cost_ms, 1.0)

    @property
    def share_of_full_network(self) -> float | None:
        if not self.full_network_ms:
            return None
        return self.miss_cost_ms / self.full_network_ms

    def to_json(self) -> dict:
        return {"exit": self.exit_id, "miss_cost_ms": self.miss_cost_ms, "head_ms": self.head_ms,
                "policy_ms": self.policy_ms, "share_of_full_network": self.share_of_full_network}

    def split(self) -> str:
        """'head 1.7 + policy 0.4' (ms), or why the split is unknown."""
        if self.policy_ms is None:
            return UNKNOWN_SPLIT
        return f"head {self.head_ms:.1f} + policy {self.policy_ms:.1f}"

    def sentence(self) -> str:
        """'a miss at X costs 2.1 ms (head 1.7 + policy 0.4), 6 % of the full network'."""
        share = self.share_of_full_network
        of_full = f", {100 * share:.0f} % of the full network" if share is not None else ""
        return f"a miss at {self.exit_id} costs {self.miss_cost_ms:.1f} ms ({self.split()}){of_full}"

    def short(self) -> str:
        """A head box's line: 'miss 2.1 ms · policy 19 %' ('policy ?' when the split is unknown)."""
        share = self.policy_share
        policy = f"policy {100 * share:.0f} %" if share is not None else "policy ?"
        return f"miss {self.miss_cost_ms:.1f} ms · {policy}"


def miss_cost(table: CostTable, exit_id: str) -> MissCost | None:
    """``exit_id``'s miss cost by ``table``; None when the table measured no latency for its head."""
    piece = table.heads[exit_id]
    if piece.latency_ms is None:
        return None
    spread = table.full_network_spread()
    return MissCost(exit_id, float(piece.latency_ms),
                    policy_ms=None if piece.policy_ms is None else float(piece.policy_ms),
                    full_network_ms=spread[0] if spread is not None else None)


def miss_costs(table: CostTable, exits: list[str]) -> list[MissCost]:
    """The miss cost of each kept early exit of ``exits`` (all but the last, which always answers)."""
    found = [miss_cost(table, e) for e in exits[:-1]]
    return [m for m in found if m is not None]


def profile_lines(table: CostTable) -> list[str]:
    """`mess profile`'s lines on the exit policy: each early exit's miss cost, and the final exit's split."""
    early = [e for e in table.heads if e != FINAL_EXIT]
    lines = [m.sentence() for m in miss_costs(table, [*early, FINAL_EXIT])]
    final = miss_cost(table, FINAL_EXIT) if FINAL_EXIT in table.heads else None
    if final is not None:
        lines.append(f"the final exit (which always answers) costs {final.miss_cost_ms:.1f} ms ({final.split()})")
    return lines

"""What a searched configuration must fit: a latency or GFLOPs budget, or an accuracy floor."""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import ConfigError
from core.search.search import SearchResult

BUDGET_KINDS = ("latency", "gflops", "drop")
COSTS = ("latency", "gflops")


@dataclass(frozen=True)
class Budget:
    """What a configuration must fit: a mean latency (ms), a mean cost (GFLOPs), or an accuracy floor.

    ``kind`` 'drop' means: the cheapest configuration (by ``cost``) at most ``value`` mIoU points
    below the full network."""

    kind: str
    value: float
    cost: str = "latency"

    def __post_init__(self) -> None:
        if self.kind not in BUDGET_KINDS:
            raise ConfigError(f"unknown budget kind '{self.kind}' (known: {', '.join(BUDGET_KINDS)})")
        if self.cost not in COSTS:
            raise ConfigError(f"unknown cost '{self.cost}' (latency or gflops)")

    @property
    def axis(self) -> str:
        """The cost this budget is about: 'latency' or 'gflops'."""
        return self.kind if self.kind in COSTS else self.cost

    def choose(self, result: SearchResult) -> int:
        """Index of the chosen configuration; a ConfigError when nothing fits."""
        if self.kind == "drop":
            return result.cheapest_within_drop(self.value, self.cost)
        return result.most_accurate_within(self.value, self.kind)

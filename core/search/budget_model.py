"""The budget as the Search page sets it, without Qt: its kinds, units and ranges, and the slider's mapping.

A budget is what `mess search` takes as --budget-ms, --budget-gflops or --max-drop (core.search.session.Budget).
BudgetModel remembers one value per kind (the exact value a slider set; a spin box shows it rounded),
the cost an accuracy floor minimises, and the search result whose costs span the slider.
"""

from __future__ import annotations

from core.search.search import SearchResult
from core.search.session import Budget

KIND_TITLES = {"latency": "Latency (ms)", "gflops": "GFLOPs", "drop": "Accuracy floor (max mIoU drop)"}
COST_TITLES = {"latency": "latency", "gflops": "GFLOPs"}
SUFFIX = {"latency": " ms", "gflops": " GFLOPs", "drop": " pp"}
DECIMALS = {"latency": 1, "gflops": 3, "drop": 2}
DEFAULT_VALUE = {"latency": 100.0, "gflops": 1.5, "drop": 2.0}
DEFAULT_RANGE = {"latency": (0.0, 500.0), "gflops": (0.0, 5.0), "drop": (0.0, 20.0)}
MAX_VALUE = 1e6
SLIDER_STEPS = 1000


def is_floor(kind: str) -> bool:
    """An accuracy floor (at most so many mIoU points below the full network): it minimises a chosen cost;
    a latency or GFLOPs budget is a ceiling on that cost and maximises mIoU."""
    return kind == "drop"


def budget_range(kind: str, result: SearchResult | None) -> tuple[float, float]:
    """The slider's span: the search's cheapest to dearest configuration (a floor: 0 to the worst drop);
    a default span before any search."""
    if result is None:
        return DEFAULT_RANGE[kind]
    if is_floor(kind):
        worst = float(result.miou[result.full_index] - result.miou.min())
        return 0.0, max(worst, 0.01)
    values = result.mean_latency_ms if kind == "latency" else result.mean_gflops
    return float(values.min()), float(values.max())


def slider_position(value: float, lo: float, hi: float, steps: int = SLIDER_STEPS) -> int:
    """The slider position showing ``value`` on [lo, hi], clamped to 0..steps."""
    position = 0 if hi <= lo else round((value - lo) / (hi - lo) * steps)
    return max(0, min(steps, position))


def slider_value(position: int, lo: float, hi: float, steps: int = SLIDER_STEPS) -> float:
    """The exact value at a slider position: at either end the extreme configuration fits."""
    return lo + (hi - lo) * position / steps


def format_value(kind: str, value: float) -> str:
    """A value of a kind with its decimals, without the unit."""
    return f"{value:.{DECIMALS[kind]}f}"


def range_text(kind: str, lo: float, hi: float, searched: bool) -> str:
    """The slider's span under it."""
    return (f"slider: {format_value(kind, lo)} – {format_value(kind, hi)} {SUFFIX[kind].strip()}"
            + ("" if searched else " (set by the search)"))


def budget_text(budget: Budget) -> str:
    """What the budget asks for, in words ("at most 40.0 ms, most accurate")."""
    if is_floor(budget.kind):
        return f"at most {budget.value:.2f} mIoU points below the full network, cheapest in {budget.cost}"
    return f"at most {format_value(budget.kind, budget.value)}{SUFFIX[budget.kind]}, most accurate"


def budget_mark(budget: Budget, result: SearchResult) -> float:
    """Where the Pareto plot marks the budget: the mIoU floor (%) for an accuracy floor, else the cost itself."""
    if is_floor(budget.kind):
        return float(result.miou[result.full_index]) - budget.value
    return budget.value


class BudgetModel:
    """One value per kind, the current kind, the floor's cost and the result the slider spans."""

    def __init__(self, values: dict[str, float] | None = None, kind: str = "latency", cost: str = "latency") -> None:
        self.values = dict(DEFAULT_VALUE)
        self.values.update(values or {})
        self.kind = kind
        self.cost = cost
        self.result: SearchResult | None = None
        Budget(kind, 0.0, cost)          # a ConfigError now for an unknown kind or cost

    def set_kind(self, kind: str) -> None:
        Budget(kind, 0.0, self.cost)      # a ConfigError, and no change, for an unknown kind
        self.kind = kind

    def set_cost(self, cost: str) -> None:
        Budget(self.kind, 0.0, cost)
        self.cost = cost

    def set_result(self, result: SearchResult | None) -> None:
        self.result = result

    @property
    def value(self) -> float:
        return float(self.values[self.kind])

    def set_value(self, value: float) -> None:
        self.values[self.kind] = float(min(max(value, 0.0), MAX_VALUE))

    def budget(self) -> Budget:
        """The budget as set: the slider's exact value (a spin box shows it rounded) or the typed one."""
        return Budget(self.kind, self.value, self.cost)

    def range(self) -> tuple[float, float]:
        return budget_range(self.kind, self.result)

    def range_text(self) -> str:
        return range_text(self.kind, *self.range(), searched=self.result is not None)

    def position(self, steps: int = SLIDER_STEPS) -> int:
        """The slider position of the current value."""
        return slider_position(self.value, *self.range(), steps=steps)

    def set_position(self, position: int, steps: int = SLIDER_STEPS) -> float:
        """Set the value from a slider position; returns it (exact, not rounded)."""
        self.values[self.kind] = slider_value(position, *self.range(), steps=steps)
        return self.value

    def step(self) -> float:
        """A spin box's step for the kind: ten units of its last decimal."""
        return 10 ** -DECIMALS[self.kind] * 10

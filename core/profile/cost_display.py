"""Which cost table a model view shows, when it measures one, and the words it shows them with.

Qt-free: the GUI's Model page keeps one ``CostDisplay``, asks it what to do (show a table kept in
memory, start a measurement on a worker, cancel the running one, wait) and shows the texts made here.
Nothing here measures: measuring is ``core.profile.cache.COST_CACHE.measure`` (what `mess profile` runs).

A table shown is either measured on this machine (source "") or loaded from a latency table file
(source = its path); a loaded table stays the model's until the user measures here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from core.models.io import ModelInfo
from core.models.summary_lines import hw
from core.profile.costs import CostTable

NOT_MEASURED = "Costs: not measured"
NO_COSTS = "No costs: press 'Measure here' or load a latency table."


def model_key(info: ModelInfo | None) -> tuple:
    """A model's key: its folder and its weights; () without a model."""
    return (str(info.folder), info.weights_sha256) if info is not None else ()


def measure_key(info: ModelInfo | None, backend: str, precision: str) -> tuple:
    """A measurement's key: the model, the backend and the precision."""
    return (*model_key(info), backend, precision)


@dataclass(frozen=True)
class CostsText:
    """What a shown table reads as: the costs line, its tooltip, the measure button and a message."""

    label: str
    tooltip: str
    button: str
    message: str = ""
    error: bool = False


def table_text(table: CostTable, source: str) -> CostsText:
    """The words for ``table`` measured here (``source`` "") or loaded from the file ``source``:
    where it comes from, the device, the size and the full network's spread; a message when its
    latencies are not trustworthy (spread, other load, or an older mess's table) or when it was loaded."""
    where = f"from {Path(source).name}" if source else "measured here"
    spread = table.full_network_spread()
    numbers = f"; full network {spread[0]:.1f} ms (p10 {spread[1]:.1f}, p90 {spread[2]:.1f})" if spread else ""
    device = table.device_description or table.device
    label = f"Costs {where}: {device}, {hw(table.input_size)} (H×W){numbers}"
    tooltip = source or "measured on this machine, kept in memory for this session"
    button = "Measure again" if not source else "Measure here"
    reasons = table.warnings()
    old = table.version_note()
    if reasons or old:
        if old:
            reasons.append(old)
            advice = f". Press '{button}' to measure again with this version of mess."
        else:
            advice = ". Press 'Measure again' on an idle machine." if not source else "."
        return CostsText(label, tooltip, button, message="Latency not trustworthy: " + "; ".join(reasons) + advice,
                         error=True)
    return CostsText(label, tooltip, button, message=f"Latency table {source} loaded." if source else "")


def measuring_text(size: tuple[int, int], device, backend: str, precision: str) -> str:
    """The costs line while a measurement runs."""
    return f"Measuring FLOPs and latency at {hw(size)} (H×W) on {device}, {backend} {precision}..."


class Step(Enum):
    """What a request to measure comes to."""

    NONE = "none"            # the view is closing: nothing starts any more
    NO_MODEL = "no model"    # no model is open: nothing to measure
    SHOW = "show"            # the table is in memory: show it
    MEASURE = "measure"      # start measuring on a worker
    CANCEL = "cancel"        # the running measurement is another model's: cancel it, this one follows
    WAIT = "wait"            # the running measurement is this one: its table comes


@dataclass(frozen=True)
class MeasurePlan:
    step: Step
    discard_cached: bool = False     # the cached table is the one shown: forget it, the user asks anew


class CostDisplay:
    """The shown table and its source, the tables loaded per model, and the measuring state:
    ``pending`` (measure once the view is shown), ``remeasure`` (measure once the running one stops),
    ``closing`` (start nothing more)."""

    def __init__(self) -> None:
        self.table: CostTable | None = None
        self.source = ""
        self.pending = False
        self.remeasure = False
        self.closing = False
        self._measuring: tuple = ()
        self._imported: dict[tuple, tuple[CostTable, str]] = {}

    def show(self, table: CostTable, source: str) -> CostsText:
        self.table, self.source = table, source
        return table_text(table, source)

    def opened(self, info: ModelInfo) -> tuple[CostTable, str] | None:
        """A model was opened: nothing is shown until its costs are known; its loaded table, if any."""
        self.table, self.source = None, ""
        return self.imported(info)

    def imported(self, info: ModelInfo | None) -> tuple[CostTable, str] | None:
        return self._imported.get(model_key(info))

    def load(self, info: ModelInfo, table: CostTable, source: str) -> CostsText:
        """A table loaded from ``source`` (already checked against the model): shown, and kept for it."""
        self._imported[model_key(info)] = (table, source)
        return self.show(table, source)

    def measure_now(self, *, visible: bool) -> bool:
        """Costs are wanted: True to measure now, else (the view is hidden) once it is shown."""
        self.pending = not visible
        return visible

    def plan(self, info: ModelInfo | None, backend: str, precision: str, *, cached: CostTable | None,
             busy: bool) -> MeasurePlan:
        """What measuring here comes to, for the model ``info`` (None: no model open) with ``backend`` and
        ``precision``, given the table in memory (``cached``) and whether a measurement runs (``busy``).
        Measuring here forgets a loaded table; asking again for the table already shown measures anew."""
        self.pending = False
        if self.closing:
            return MeasurePlan(Step.NONE)
        if info is None:
            return MeasurePlan(Step.NO_MODEL)
        self._imported.pop(model_key(info), None)
        discard = cached is not None and self.table is cached and self.source == "" and not self.remeasure
        if cached is not None and not discard:
            return MeasurePlan(Step.SHOW)
        key = measure_key(info, backend, precision)
        if busy:
            if self._measuring == key:
                return MeasurePlan(Step.WAIT, discard)
            self.remeasure = True
            return MeasurePlan(Step.CANCEL, discard)
        self._measuring = key
        return MeasurePlan(Step.MEASURE, discard)

    def stopped(self, *, has_model: bool) -> bool:
        """The running measurement stopped (done, failed or cancelled): True to measure again now
        (the model, backend or precision changed while it ran)."""
        if self.remeasure and has_model:
            self.remeasure = False
            return True
        return False

    def close(self) -> None:
        """The view is going: a measurement's late end must not start another one."""
        self.closing = True
        self.remeasure = False

"""The Search page's words, without Qt: the chosen configuration, its held-out check and measured speed-up,
the search's summary,
an imported latency table and the progress of a search. Sizes are H×W, as `mess search --input` reads them.
"""

from __future__ import annotations

from pathlib import Path

from core.jobs import Progress
from core.models.summary_lines import hw
from core.profile.costs import CostTable
from core.search.calibration import LABELS
from core.search.holdout import HeldOutReport
from core.search.measure import MeasuredSpeedup
from core.search.search import SearchResult

EMPTY = "–"
CHOSEN_FIELDS = {"exits": "Exits", "thresholds": "Thresholds", "miou": "Predicted mIoU", "latency": "Latency",
                 "gflops": "GFLOPs", "gain": "vs full network", "held_out": "Held out", "measured": "Measured",
                 "why": "Chosen by"}
CLICKED = "a click on the front"
NO_TABLE = "none loaded"
STAGE_TEXT = {"calibrate": "Calibrating: {message}", "latency": "Measuring latency on this machine...",
              "search": "Searching every configuration...", "measure": "Measuring speed-up: {message}",
              "config": "Measuring speed-up, interleaved with the full network: {message}"}
NOT_MEASURED = "not measured: Measure speed-up runs it and the full network here, interleaved"


def size_text(size: tuple[int, int]) -> str:
    """An (H, W) size as H×W, the order `mess search --input` and the Model page read."""
    return hw(size)


def percent(value: float, reference: float) -> str:
    """``value`` against ``reference`` as a signed percentage ("-38 %"); n/a without a reference."""
    return f"{(value / reference - 1.0) * 100:+.0f} %" if reference > 0 else "n/a"


def held_out_text(report: HeldOutReport | None, *, folded: bool) -> str:
    """The held-out check of a chosen configuration; ``folded``: the search had folds to check on."""
    if report is None:
        return ("not checked (a configuration clicked on the front)" if folded
                else "not checked (too few calibration images to fold)")
    s = report.summary(report.rule)
    if not s.get("feasible_folds"):
        return f"nothing fits the budget on the other folds of any held-out fold ({report.folds.by})"
    return (f"chosen on the other folds, measured on each {report.folds.unit} left out: "
            f"{s['mean_held_out_drop_pp']:.2f} pp below the full network (worst "
            f"{s['worst_held_out_drop_pp']:.2f}), {s['mean_held_out_speedup']:.2f}× as fast; "
            f"the budget held on {s['budget_met_folds']} of {s['folds']} folds")


def chosen_texts(result: SearchResult, index: int, *, reference: str, why: str, held_out: str,
                 measured: str = NOT_MEASURED) -> dict[str, str]:
    """One text per CHOSEN_FIELDS key for configuration ``index`` of ``result``."""
    config, summary, full = result.config(index), result.summary(index), result.summary(result.full_index)
    if config.mode == "dynamic" and len(config.exits) > 1:
        thresholds = f"th_pix {config.th_pix[0]:g}, th_img {config.th_img[0]:g}, {config.policy.confidence} confidence"
    else:
        thresholds = "none (one exit answers every image)"
    if reference == LABELS:
        miou = f"{summary['miou']:.2f} %  (full network {full['miou']:.2f} %)"
    else:
        miou = f"{summary['miou']:.2f} % agreement with the full network (label-free)"
    speed = full["mean_latency_ms"] / max(summary["mean_latency_ms"], 1e-9)
    gain = (f"{percent(summary['mean_latency_ms'], full['mean_latency_ms'])} latency ({speed:.2f}× as fast), "
            f"{percent(summary['mean_gflops'], full['mean_gflops'])} GFLOPs, "
            f"{summary['miou'] - full['miou']:+.2f} pp mIoU")
    return {"exits": " › ".join(config.exits) + f"  ({config.mode})", "thresholds": thresholds, "miou": miou,
            "latency": f"{summary['mean_latency_ms']:.1f} ms mean, {summary['p95_latency_ms']:.1f} ms p95",
            "gflops": f"{summary['mean_gflops']:.3f} GFLOPs mean", "gain": gain, "why": why, "held_out": held_out,
            "measured": measured}


def measured_text(measured: MeasuredSpeedup | None, result: SearchResult, index: int, *,
                  predicted_from: str | None = None) -> str:
    """Configuration ``index``'s measured speed-up beside the predicted one (``predicted_from``: an imported latency
    table's name; None: this machine's); stale when the last measurement was of another configuration."""
    if measured is None:
        return NOT_MEASURED
    if measured.index != index:
        return (f"stale: x{measured.speedup:.2f} was measured for the configuration chosen before; "
                "Measure speed-up again for this one")
    summary, full = result.summary(index), result.summary(result.full_index)
    predicted = full["mean_latency_ms"] / max(summary["mean_latency_ms"], 1e-9)
    images = f"{measured.images} {'held-out' if measured.held_out else 'calibration'} image" + \
        ("s" if measured.images != 1 else "")
    if not measured.held_out:
        images += " (none held out: the search calibrated on every image)"
    if measured.reference == LABELS:
        accuracy = f"mIoU {measured.miou:.2f} % against {measured.full_miou:.2f} %"
    else:
        accuracy = f"{measured.miou:.2f} % agreement with the full network"
    source = f" from {predicted_from}" if predicted_from else ""
    return (f"measured on {images}, same run: {measured.mean_latency_ms:.1f} ms against "
            f"{measured.full_mean_latency_ms:.1f} ms for the full network, x{measured.speedup:.2f} "
            f"(predicted x{predicted:.2f}{source}); {accuracy}; {measured.backend} {measured.precision}")


def budget_why(budget_words: str, report: HeldOutReport | None) -> str:
    """Why the budget's choice was chosen: the budget in words, and the robust rule when it chose."""
    rule = "; robust rule: worst calibration fold" if report is not None and report.rule == "robust" else ""
    return f"the budget ({budget_words}{rule})"


def searched_text(result: SearchResult, *, images: int, size: tuple[int, int], source: str,
                  warnings: list[str]) -> str:
    """The line after a search: how many configurations, on what, with whose latency, and every warning (one
    sentence each: a calibration on training frames, a distrusted latency table, too few images for folds)."""
    text = (f"Searched {result.count:,} configurations in {result.seconds:.2f} s on {images} images "
            f"({size_text(size)}); latency from {source}.")
    return " ".join([text, *(_sentence(w) for w in warnings)])


def _sentence(text: str) -> str:
    """One sentence: a capital first letter unless the text starts with a file name, and a full stop."""
    text = text.strip()
    first = text.split(" ", 1)[0]
    if "." not in first.rstrip(":") and "/" not in first:
        text = text[:1].upper() + text[1:]
    return text + ("" if text.endswith(".") else ".")


def table_text(table: CostTable | None, path: str) -> str:
    """An imported latency table in a few words: its file, its device and the size it was measured at."""
    if table is None:
        return NO_TABLE
    return f"{Path(path).name}: {table.device_description or table.device}, {size_text(table.input_size)}"


def progress_text(event: Progress) -> str:
    """A search's progress event as the status line says it (with the time left when it is known)."""
    text = STAGE_TEXT.get(event.stage, "{message}").format(message=event.message)
    eta = event.metrics.get("eta_s") if event.metrics else None
    return text + (f" (about {eta:.0f} s left)" if eta else "")

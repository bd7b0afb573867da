"""A model summary as the lines a reader sees: name, backbone, input size, exits, origin, validation.

Qt-free: the GUI's Model page shows these lines in its "Open model" box; `summarize` makes the
summary from model.json, this turns it into words.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.models.summary import ModelSummary

# (key, title) of every line, in the order they are shown
ROWS = (("name", "Model"), ("backbone", "Backbone"), ("input", "Input size"), ("exits", "Exits"),
        ("origin", "Origin"), ("val", "Validation"))


def hw(size) -> str:
    """(H, W) -> 'H×W', the order the size fields and `mess convert --input` read."""
    return f"{size[0]}×{size[1]}"


@dataclass(frozen=True)
class SummaryLines:
    lines: dict[str, str]        # key (as in ROWS) -> text
    classes_title: str


def summary_lines(summary: ModelSummary) -> SummaryLines:
    options = ", ".join(f"{k} {v}" for k, v in summary.backbone_options.items())
    lines = {
        "name": summary.name,
        "backbone": summary.backbone + (f" ({options})" if options else ""),
        "input": f"{hw(summary.input_size)} (H×W)" if summary.input_size else "any (the input's own size)",
        "exits": f"{summary.early_exits} early exits at {summary.points} points + final",
        "origin": summary.provenance,
        "val": _validation(summary),
    }
    return SummaryLines(lines, f"Classes ({summary.class_set}, {len(summary.classes)}):")


def _validation(summary: ModelSummary) -> str:
    if not summary.val_miou:
        return "no validation metrics in model.json"
    final = summary.val_miou.get("final")
    early = {k: v for k, v in summary.val_miou.items() if k != "final"}
    best = max(early.items(), key=lambda kv: kv[1]) if early else None
    text = f"final {final:.1f} % mIoU" if final is not None else ""
    if best:
        text += f"; best early exit {best[0]} {best[1]:.1f} %"
    note = f" ({summary.val_note})" if summary.val_note else ""
    return f"{text} on '{summary.val_split}'{note}; per exit in the diagram"

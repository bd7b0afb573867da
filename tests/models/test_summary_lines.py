"""A model summary as the lines the Model page shows (core.models.summary_lines), Qt-free."""

from __future__ import annotations

from core.cli.common import BUNDLED_MODEL
from core.models.io import read_model_json
from core.models.summary import ModelSummary, summarize
from core.models.summary_lines import ROWS, hw, summary_lines


def test_the_bundled_models_lines():
    spec, info = read_model_json(BUNDLED_MODEL)
    shown = summary_lines(summarize(spec, info))
    assert list(shown.lines) == [key for key, _ in ROWS]
    assert shown.lines["name"] == BUNDLED_MODEL.name
    assert shown.lines["backbone"] == "lraspp_mobilenet_v3_large (output_stride 16, final_head native)"
    assert shown.lines["input"] == "360×480 (H×W)"
    assert shown.lines["exits"] == "15 early exits at 5 points + final"
    final = info.metrics["val_miou"]["final"]
    assert shown.lines["val"].startswith(f"final {final:.1f} % mIoU; best early exit ")
    assert shown.lines["val"].endswith(" on 'val' (first 20 images); per exit in the diagram")
    assert shown.classes_title == "Classes (camvid, 11):"


def summary(**changes) -> ModelSummary:
    values = dict(name="m", backbone="resnet18", backbone_options={}, classes=[("a", (0, 0, 0))], class_set="own",
                  input_size=None, early_exits=2, points=1, provenance="converted")
    return ModelSummary(**{**values, **changes})


def test_lines_without_size_options_or_metrics():
    lines = summary_lines(summary()).lines
    assert lines["backbone"] == "resnet18" and lines["input"] == "any (the input's own size)"
    assert lines["val"] == "no validation metrics in model.json"
    assert summary_lines(summary()).classes_title == "Classes (own, 1):"


def test_validation_with_early_exits_only_or_final_only():
    only_early = summary_lines(summary(val_miou={"p:h1": 40.0, "p:h2": 45.25}, val_split="test")).lines["val"]
    assert only_early == "; best early exit p:h2 45.2 % on 'test'; per exit in the diagram"
    only_final = summary_lines(summary(val_miou={"final": 61.0}, val_split="val")).lines["val"]
    assert only_final == "final 61.0 % mIoU on 'val'; per exit in the diagram"


def test_sizes_read_height_by_width():
    assert hw((360, 480)) == "360×480" and hw([48, 64]) == "48×64"

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
    # The bundled model trained on train + val: its val figures are on frames it trained on, and the line says so.
    assert shown.lines["val"].endswith(" on 'val' (first 20 images, frames it trained on); per exit in the diagram")
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


def test_validation_on_a_split_the_model_trained_on_is_said_to_be():
    from core.models.io import ModelInfo

    spec, info = read_model_json(BUNDLED_MODEL)

    def line(config: dict, split: str) -> str:
        changed = ModelInfo(**{**vars(info), "provenance": {"created_by": "mess train", "config": config},
                               "metrics": {**info.metrics, "split": split}})
        return summary_lines(summarize(spec, changed)).lines["val"]

    assert "frames it trained on" in line({"train_split": "train+val"}, "val")
    assert "frames it trained on" not in line({"train_split": "train"}, "val")
    assert "frames it trained on" not in line({"train_split": "train+val", "hold_out": "0006R0"},
                                              "held-out 0006R0 (train+val)")
    assert line({"train_split": "train", "val_limit": 20}, "val").endswith(" on 'val' (first 20 images); per exit "
                                                                           "in the diagram")


def test_trains_on_reads_the_training_split_and_the_held_out_sequences():
    from core.models.summary import trains_on

    made = {"config": {"train_split": "train+val", "hold_out": "", "data": "../shared/data/camvid"}}
    assert trains_on(made, "val") and trains_on(made, "train+val", ["0016E5"])
    assert not trains_on({"config": {"train_split": "train"}}, "val")
    assert not trains_on({}, "val") and not trains_on(made, None) and not trains_on(None, "val")
    fold = {"config": {"train_split": "train+val", "hold_out": "0006R0"}}
    assert not trains_on(fold, "train+val", ["0006R0"])           # the held-out drive alone
    assert trains_on(fold, "train+val", ["0006R0", "0016E5"])      # with frames it trained on
    # The dataset: a folder of another name is not the one it trained on; the same name, anywhere, is.
    assert not trains_on(made, "val", data="/data/cityscapes") and trains_on(made, "val", data="/elsewhere/camvid")


def test_trains_on_knows_the_dataset_folder_by_another_case_a_link_or_a_relative_path(tmp_path, monkeypatch):
    from core.models.summary import trains_on

    made = {"config": {"train_split": "train+val", "data": "../shared/data/camvid"}}
    (tmp_path / "CamVid").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "CamVid")
    assert trains_on(made, "val", data=str(tmp_path / "CamVid"))
    assert trains_on(made, "val", data=str(tmp_path / "link"))
    monkeypatch.chdir(tmp_path / "CamVid")
    assert trains_on(made, "val", data=".")
    assert not trains_on(made, "val", data=str(tmp_path))
    # Spaces as typed, a list, a stage-2 run whose backbone (provenance["stage1"]) trained on val.
    assert trains_on({"config": {"train_split": "train + val"}}, "val")
    assert trains_on({"config": {"train_split": ["train", "val"]}}, "val")
    stage2 = {"config": {"train_split": "train"}, "stage1": {"config": {"train_split": "train+val"}}}
    assert trains_on(stage2, "val")
    # Malformed records are not trained-on, and do not raise.
    assert not trains_on({"config": "train+val"}, "val") and trains_on({"config": {"train_split": "val",
                                                                                    "hold_out": 7}}, "val")

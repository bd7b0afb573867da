"""Model summaries (from model.json) and making a model folder from a registered backbone."""

from __future__ import annotations

import json

import pytest

from core.cli.common import BUNDLED_MODEL
from core.errors import ConfigError, DataError
from core.models.create import check_output_folder, convert_to_folder, resolve_classes, resolve_heads
from core.models.io import load_model, read_model_json
from core.models.summary import describe_provenance, summarize


def test_bundled_model_summary():
    spec, info = read_model_json(BUNDLED_MODEL)
    summary = summarize(spec, info)
    assert summary.backbone == "lraspp_mobilenet_v3_large" and summary.input_size == (360, 480)
    assert len(summary.classes) == 11 and summary.classes[0] == ("Sky", (128, 128, 128))
    assert summary.early_exits == 15 and summary.points == 5
    assert summary.provenance.startswith("trained by mess train (stage 2)")
    config = info.provenance["config"]
    ran = ("1", "2") if config["stage"] == "all" else (config["stage"],)
    for stage in ("1", "2"):      # the epochs of the stages the run trained, and only those
        line = f"{config[f'epochs_stage{stage}']} epochs stage {stage}"
        assert (line in summary.provenance) == (stage in ran), (line, summary.provenance)
    assert summary.val_miou["final"] > 50 and summary.val_split == "val"


def test_provenance_lines():
    assert "unknown origin" in describe_provenance({})
    assert (describe_provenance({"created_by": "mess convert", "weights": "random initialisation", "seed": 3,
                                 "trained": False})
            == "converted by mess convert from random initialisation (untrained, seed 3)")
    line = describe_provenance({"created_by": "mess train", "stage": 1, "config": {"stage": "1", "epochs_stage1": 4,
                                                                                 "epochs_stage2": 9}})
    assert "4 epochs stage 1" in line and "stage 2" not in line.split("(stage 1)")[1]
    assert describe_provenance({"created_by": "notebook", "trained": True}) == "created by notebook (trained)"


def test_convert_to_folder_writes_a_loadable_model(tmp_path):
    out = tmp_path / "m"
    net, info = convert_to_folder("mobilenet_v3_large", out, "camvid", "light", points=["features.3"],
                                  input_size=(48, 64))
    loaded, loaded_info = load_model(out)
    assert loaded.exit_ids() == net.exit_ids() == ["features.3:fcn-c64-b0", "final"]
    assert loaded_info.provenance["created_by"] == "mess convert" and loaded_info.provenance["trained"] is False
    with pytest.raises(ConfigError, match="not empty"):
        convert_to_folder("mobilenet_v3_large", out, points=["features.3"])
    convert_to_folder("mobilenet_v3_large", out, heads="fcn-c64-b0,dlb-c64-b1", points=["features.6"], replace=True)
    assert read_model_json(out)[0].exit_ids() == ["features.6:fcn-c64-b0", "features.6:dlb-c64-b1"]


def test_resolvers_give_one_line_errors(tmp_path):
    assert resolve_classes("voc").num_classes == 21
    path = tmp_path / "classes.json"
    path.write_text(json.dumps({"names": ["a", "b"], "palette": [[0, 0, 0], [1, 2, 3]], "ignore_index": 255}))
    assert resolve_classes(path).names == ["a", "b"]
    with pytest.raises(DataError, match="missing"):
        resolve_classes(tmp_path / "nope.json")
    assert len(resolve_heads("standard")) == 3
    with pytest.raises(ConfigError):
        resolve_heads("bogus")
    with pytest.raises(ConfigError, match="no heads"):
        resolve_heads(" , ")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="not a folder"):
        check_output_folder(tmp_path / "file")

"""mess profile and mess search, end to end on a tiny model and dataset."""

from __future__ import annotations

import json

import pytest

from core.cli.main import main
from core.runtime.config import ExitConfig
from core.search.calibration_store import CalibrationStore
from tests.data.builders import write_horizon_camvid

SIZE = (48, 64)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("search-cli")
    data = write_horizon_camvid(root / "data", 4, size=SIZE, names="{i}.png", horizon=(10, 5))
    model = root / "model"
    assert main(["convert", "--backbone", "mobilenet_v3_large", "--out", str(model), "--heads", "light",
                 "--points", "features.3,features.10", "--input", "48x64"]) == 0
    table = root / "latency.json"
    assert main(["profile", "--model", str(model), "--out", str(table), "--repeats", "2", "--warmup", "1"]) == 0
    return root, data, model, table


def test_profile_writes_a_latency_table(setup):
    _, _, model, table = setup
    data = json.loads(table.read_text())
    assert data["input_size"] == list(SIZE)
    assert len(data["segments"]) >= 2 and "final" in data["heads"]
    for piece in data["segments"] + list(data["heads"].values()):
        assert piece["gflops"] > 0 and piece["latency_p10_ms"] <= piece["latency_ms"] <= piece["latency_p90_ms"]
    assert data["device_description"] and data["peak_memory_mb"] > 0


def test_search_writes_a_config_that_eval_runs_as_predicted(setup, tmp_path, capsys):
    root, data, model, table = setup
    config_path, pareto_path = tmp_path / "config.json", tmp_path / "pareto.json"
    assert main(["search", "--model", str(model), "--data", str(data), "--latency-table", str(table),
                 "--max-drop", "100", "--cost", "gflops", "--out", str(config_path), "--pareto", str(pareto_path),
                 "--quiet"]) == 0
    saved = json.loads(config_path.read_text())
    assert set(saved["predicted"]) >= {"miou", "mean_latency_ms", "mean_gflops"}
    assert CalibrationStore.of_model(model).slots(), "the calibration cache is kept in the model folder"
    pareto = json.loads(pareto_path.read_text())
    assert pareto["configs_evaluated"] > 10 and pareto["search_seconds"] > 0
    assert all(set(p) >= {"miou", "mean_latency_ms", "mean_gflops", "config"} for p in pareto["front"])
    ExitConfig.from_json(saved)  # the file is a valid exit configuration
    report_path = tmp_path / "eval.json"
    assert main(["eval", "--model", str(model), "--data", str(data), "--config", str(config_path),
                 "--json", str(report_path), "--quiet"]) == 0
    measured = json.loads(report_path.read_text())["config"]
    assert measured["miou"] == pytest.approx(saved["predicted"]["miou"], abs=1e-6)
    assert measured["mean_gflops"] == pytest.approx(saved["predicted"]["mean_gflops"], rel=1e-9)
    assert measured["exit_fractions"] == pytest.approx(saved["predicted"]["exit_fractions"])


def test_infeasible_budget_names_the_cheapest_alternative(setup, tmp_path, capsys):
    _, data, model, table = setup
    code = main(["search", "--model", str(model), "--data", str(data), "--latency-table", str(table),
                 "--budget-gflops", "0.000001", "--out", str(tmp_path / "c.json"), "--quiet"])
    # A table measured while the machine was busy adds a 'warning:' line; the error itself is one line.
    err = "\n".join(line for line in capsys.readouterr().err.strip().splitlines() if not line.startswith("warning:"))
    assert code == 2 and len(err.splitlines()) == 1
    assert "no configuration fits" in err and "the cheapest" in err
    assert not (tmp_path / "c.json").exists()


def test_latency_table_of_another_model_is_refused(setup, tmp_path, capsys):
    root, data, model, _ = setup
    other = tmp_path / "other"
    assert main(["convert", "--backbone", "mobilenet_v3_large", "--out", str(other), "--heads", "light",
                 "--points", "features.6", "--input", "48x64"]) == 0
    other_table = tmp_path / "other.json"
    assert main(["profile", "--model", str(other), "--out", str(other_table), "--repeats", "1", "--warmup", "0"]) == 0
    capsys.readouterr()
    code = main(["search", "--model", str(model), "--data", str(data), "--latency-table", str(other_table),
                 "--budget-ms", "1000", "--out", str(tmp_path / "c.json"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "measured on another model" in err


def test_stale_calibration_cache_is_rebuilt(setup, tmp_path, capsys):
    _, data, model, table = setup
    args = ["search", "--model", str(model), "--data", str(data), "--latency-table", str(table),
            "--max-drop", "100", "--out", str(tmp_path / "c.json"), "--quiet"]
    assert main(args) == 0
    cache = CalibrationStore.of_model(model).slots()[0]
    before = cache.stat().st_mtime_ns
    capsys.readouterr()
    code = main(args + ["--input", "32x48"])  # another size: the cache is stale, and so is the table
    assert code == 2 and "measured at 64x48, the calibration images are 48x32" in capsys.readouterr().err
    without_table = [a for a in args if a not in ("--latency-table", str(table))]
    assert main(without_table + ["--input", "32x48"]) == 0
    assert "stale" in capsys.readouterr().err
    assert cache.stat().st_mtime_ns != before


def test_search_checks_its_choice_on_held_out_folds(setup, tmp_path, capsys):
    root, _, model, table = setup
    data = write_horizon_camvid(root / "six", 6, size=SIZE, names=[f"{'AB'[i // 3]}_{i}.png" for i in range(6)],
                                seed=1)
    out = tmp_path / "c.json"
    assert main(["search", "--model", str(model), "--data", str(data), "--latency-table", str(table),
                 "--max-drop", "5", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    held = json.loads(out.read_text())["held_out"]
    assert held["folds_by"] == "sequence" and [f["fold"] for f in held["folds"]] == ["A", "B"]
    assert held["rule"] == "robust" and len(held["checks"]["plain"]) == 2
    assert "held-out check (leave one fold out; folds by sequence: A (3), B (3))" in printed
    assert main(["search", "--model", str(model), "--data", str(data), "--latency-table", str(table),
                 "--max-drop", "5", "--out", str(out), "--quiet", "--no-held-out"]) == 0
    assert "held_out" not in json.loads(out.read_text())


def test_search_on_too_few_images_for_folds_says_so(setup, tmp_path, capsys):
    _, data, model, table = setup
    assert main(["search", "--model", str(model), "--data", str(data), "--latency-table", str(table),
                 "--max-drop", "5", "--out", str(tmp_path / "c.json"), "--quiet"]) == 0
    assert "note: no held-out check: a held-out check needs at least 6 calibration images" in capsys.readouterr().err


def test_search_on_frames_the_model_trained_on_says_thresholds_may_not_transfer(setup, tmp_path, capsys):
    """Measured on a fold model: a configuration calibrated on its training drives let no frame of the drive
    it never saw leave early. A search calibrating on training frames says so; one on other frames does not."""
    import shutil

    root, data, model, table = setup
    trained = tmp_path / "trained"
    shutil.copytree(model, trained, ignore=shutil.ignore_patterns("calibration*", ".mess*"))
    document = json.loads((trained / "model.json").read_text())
    document["provenance"] = {"created_by": "mess train", "config": {"data": str(data), "train_split": "train+val"}}
    (trained / "model.json").write_text(json.dumps(document))
    args = ["--data", str(data), "--latency-table", str(table), "--max-drop", "100", "--quiet"]
    capsys.readouterr()
    assert main(["search", "--model", str(trained), *args, "--out", str(tmp_path / "a.json")]) == 0
    err = capsys.readouterr().err
    assert (f"note: by its provenance, the model trained on split 'val' of a dataset folder named {data.name}: "
            "the predicted mIoU and exit fractions are figures on frames it trained on") in err
    document["provenance"]["config"]["data"] = "/elsewhere/cityscapes"        # another dataset: no note
    (trained / "model.json").write_text(json.dumps(document))
    assert main(["search", "--model", str(trained), *args, "--out", str(tmp_path / "b.json")]) == 0
    assert "by its provenance" not in capsys.readouterr().err

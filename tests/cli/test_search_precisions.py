"""mess search --precisions: int8 searched as one more dimension, and the config runs at its precision."""

from __future__ import annotations

import json

import pytest

from core.cli.main import main
from core.runtime.backends import BACKENDS
from core.runtime.config_file import ConfigFile
from tests.data.builders import noise_frames, write_horizon_camvid, write_image_folder

SIZE = (48, 64)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    reason = BACKENDS.get("onnxruntime").unavailable_reason()
    if reason:
        pytest.skip(f"backend onnxruntime: {reason}")
    root = tmp_path_factory.mktemp("search-int8")
    data = write_horizon_camvid(root / "data", 6, size=SIZE, names="{i}.png", horizon=(10, 5))
    model = root / "model"
    assert main(["convert", "--backbone", "mobilenet_v3_large", "--out", str(model), "--heads", "light",
                 "--points", "features.3,features.10", "--input", "48x64"]) == 0
    frames = write_image_folder(root / "frames", noise_frames(4, size=SIZE, seed=3))   # not the val images
    assert main(["quantize", "--model", str(model), "--images", str(frames), "--quiet"]) == 0
    return root, data, model


def search(model, data, out, *extra: str) -> int:
    return main(["search", "--model", str(model), "--data", str(data), "--backend", "onnxruntime",
                 "--budget-ms", "100000", "--out", str(out), "--no-held-out", "--quiet", *extra])


def test_an_int8_configuration_records_its_precision_and_eval_runs_it_as_predicted(setup, tmp_path, capsys):
    _, data, model = setup
    config = tmp_path / "int8.json"
    assert search(model, data, config, "--precision", "int8") == 0
    saved = json.loads(config.read_text())
    assert saved["precision"] == "int8" and ConfigFile.load(config).precision == "int8"
    report = tmp_path / "eval.json"
    assert main(["eval", "--model", str(model), "--data", str(data), "--config", str(config), "--backend",
                 "onnxruntime", "--json", str(report), "--quiet"]) == 0
    assert "searched at precision int8; running at int8" in capsys.readouterr().err
    measured = json.loads(report.read_text())
    assert measured["precision"] == "int8"
    assert measured["config"]["miou"] == pytest.approx(saved["predicted"]["miou"], abs=1e-6), \
        "the int8 calibration predicts what the int8 graphs give"
    assert measured["config"]["exit_fractions"] == pytest.approx(saved["predicted"]["exit_fractions"])


def test_eval_compares_an_int8_configuration_with_the_full_network_its_search_measured_it_against(
        setup, tmp_path, capsys):
    """The file records the reference precision of its search (int8 itself after --precision int8;
    fp32 after --precisions fp32,int8); eval's full network runs at it by default, in the same loop."""
    _, data, model = setup
    config = tmp_path / "int8.json"
    assert search(model, data, config, "--precision", "int8") == 0
    saved = json.loads(config.read_text())
    assert saved["reference_precision"] == "int8" and ConfigFile.load(config).reference_precision == "int8"
    against_fp32 = tmp_path / "int8-against-fp32.json"
    against_fp32.write_text(json.dumps({**saved, "reference_precision": "fp32"}))
    common = ["eval", "--model", str(model), "--data", str(data), "--backend", "onnxruntime", "--quiet"]
    reports = {name: tmp_path / f"{name}.json" for name in ("fp32", "own", "against_fp32", "forced_int8")}
    assert main([*common, "--json", str(reports["fp32"])]) == 0
    assert main([*common, "--config", str(config), "--json", str(reports["own"])]) == 0
    assert main([*common, "--config", str(against_fp32), "--json", str(reports["against_fp32"])]) == 0
    assert "for the full network (fp32, mIoU" in capsys.readouterr().out
    assert main([*common, "--config", str(against_fp32), "--full-precision", "int8",
                 "--json", str(reports["forced_int8"])]) == 0
    fp32, own, against, forced = (json.loads(reports[n].read_text())
                                  for n in ("fp32", "own", "against_fp32", "forced_int8"))
    assert own["config"]["full_precision"] == "int8"
    assert own["config"]["full_miou"] == pytest.approx(own["final"]["miou"], abs=1e-6)
    assert against["precision"] == "int8" and against["config"]["full_precision"] == "fp32"
    assert against["config"]["full_miou"] == pytest.approx(fp32["final"]["miou"], abs=1e-6)
    assert forced["config"]["full_precision"] == "int8"
    assert forced["config"]["full_miou"] == pytest.approx(forced["final"]["miou"], abs=1e-6)
    capsys.readouterr()
    assert main([*common, "--full-precision", "int8"]) == 2
    assert "--full-precision is the precision of the full network a --config is compared with" in \
        capsys.readouterr().err
    (tmp_path / "bad.json").write_text(json.dumps({**saved, "reference_precision": "fp8"}))
    assert main([*common, "--config", str(tmp_path / "bad.json")]) == 2
    assert "bad.json: unknown reference precision 'fp8'" in capsys.readouterr().err


def test_two_precisions_are_searched_and_the_best_is_kept(setup, tmp_path, capsys):
    _, data, model = setup
    config = tmp_path / "both.json"
    assert search(model, data, config, "--precisions", "fp32,int8") == 0
    saved = json.loads(config.read_text())
    searched = {r["precision"]: r for r in saved["precisions_searched"]}
    assert set(searched) == {"fp32", "int8"}
    best = max(searched.values(), key=lambda r: (r["predicted"]["miou"], -r["predicted"]["mean_latency_ms"]))
    assert saved["precision"] == best["precision"] and saved["exits"] == best["config"]["exits"]
    assert saved["reference_precision"] == "fp32", "--max-drop and the speed-up are below fp32's full network"
    assert "at each of fp32, int8" in capsys.readouterr().out


@pytest.mark.parametrize(("extra", "message"), [
    (["--precisions", "fp32,int9"], "known precisions are fp32, bf16, int8"),
    (["--precisions", "int8,int8"], "named twice"),
    (["--precisions", "fp32,int8", "--precision", "int8"], "not both"),
    (["--precisions", "fp32,int8", "--latency-table", "a.json"], "1 tables for 2 precisions"),
])
def test_bad_precision_requests_are_refused_in_one_line(setup, tmp_path, capsys, extra, message):
    _, data, model = setup
    assert search(model, data, tmp_path / "x.json", *extra) != 0
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "x.json").exists()


def test_a_deadline_search_at_int8_records_it_and_a_table_of_another_precision_is_refused(setup, tmp_path, capsys):
    _, data, model = setup
    config = tmp_path / "deadline.json"
    assert main(["search", "--model", str(model), "--data", str(data), "--backend", "onnxruntime",
                 "--precision", "int8", "--deadline-ms", "1000", "--out", str(config), "--quiet"]) == 0
    assert json.loads(config.read_text())["precision"] == "int8"
    table = tmp_path / "fp32.json"
    assert main(["profile", "--model", str(model), "--backend", "onnxruntime", "--repeats", "2", "--warmup", "1",
                 "--out", str(table)]) == 0
    capsys.readouterr()
    assert search(model, data, tmp_path / "x.json", "--precision", "int8", "--latency-table", str(table)) != 0
    assert "measured at precision fp32, not int8" in capsys.readouterr().err


def test_a_negative_max_drop_is_one_line(setup, tmp_path, capsys):
    _, data, model = setup
    assert main(["search", "--model", str(model), "--data", str(data), "--max-drop", "-1", "--out",
                 str(tmp_path / "x.json"), "--quiet"]) != 0
    assert "--max-drop -1: must be at least 0" in capsys.readouterr().err


def test_a_table_of_other_int8_graphs_is_refused(setup, tmp_path, capsys):
    root, data, model = setup
    table = tmp_path / "int8.json"
    assert main(["profile", "--model", str(model), "--backend", "onnxruntime", "--precision", "int8", "--repeats",
                 "2", "--warmup", "1", "--out", str(table)]) == 0
    assert json.loads(table.read_text())["precision_id"].startswith("int8-onnxruntime-u8-")
    assert search(model, data, tmp_path / "ok.json", "--precision", "int8", "--latency-table", str(table)) == 0
    assert main(["quantize", "--model", str(model), "--images", str(root / "frames"), "--scheme", "s8",
                 "--quiet"]) == 0
    capsys.readouterr()
    try:
        assert search(model, data, tmp_path / "x.json", "--precision", "int8", "--latency-table", str(table)) != 0
        assert "measured with other int8 graphs" in capsys.readouterr().err
    finally:  # the other tests of this module use the u8 calibration
        assert main(["quantize", "--model", str(model), "--images", str(root / "frames"), "--quiet"]) == 0

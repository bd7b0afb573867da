"""--backend on eval, profile, search and run, end to end on a tiny model: tables record it, mismatches refused."""

from __future__ import annotations

import json

import pytest

from core.cli.main import main
from core.runtime.backends import BACKENDS, default_backend
from tests.cli.test_search_cli import setup  # noqa: F401 - the tiny model, data and a torch latency table


@pytest.fixture(autouse=True)
def need_onnxruntime():
    reason = BACKENDS.get("onnxruntime").unavailable_reason()
    if reason:
        pytest.skip(f"backend onnxruntime: {reason}")


def test_profile_records_the_backend_and_search_refuses_a_table_of_another(setup, tmp_path, capsys):  # noqa: F811
    root, data, model, torch_table = setup
    table = tmp_path / "ort.json"
    assert main(["profile", "--model", str(model), "--out", str(table), "--repeats", "2", "--warmup", "1",
                 "--backend", "onnxruntime"]) == 0
    saved = json.loads(table.read_text())
    assert (saved["backend"], saved["precision"]) == ("onnxruntime", "fp32")
    assert "onnxruntime (fp32)" in saved["device_description"]
    assert json.loads(torch_table.read_text())["backend"] == default_backend(), "no --backend: the default"
    capsys.readouterr()
    code = main(["search", "--model", str(model), "--data", str(data), "--latency-table", str(table),
                 "--backend", "torch", "--max-drop", "100", "--out", str(tmp_path / "c.json"), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0
    assert "measured with backend onnxruntime (fp32), not torch (fp32)" in err
    assert not (tmp_path / "c.json").exists()
    assert main(["search", "--model", str(model), "--data", str(data), "--latency-table", str(table),
                 "--backend", "onnxruntime", "--max-drop", "100", "--out", str(tmp_path / "c.json"), "--quiet"]) == 0


def test_eval_and_run_on_onnxruntime_match_torch(setup, tmp_path):  # noqa: F811
    root, data, model, _ = setup
    reports = {}
    for backend in ("torch", "onnxruntime"):
        out = tmp_path / f"{backend}.json"
        assert main(["eval", "--model", str(model), "--data", str(data), "--json", str(out), "--backend", backend,
                     "--quiet"]) == 0
        reports[backend] = json.loads(out.read_text())
    assert reports["onnxruntime"]["backend"] == "onnxruntime"
    for a, b in zip(reports["torch"]["exits"] + [reports["torch"]["final"]],
                    reports["onnxruntime"]["exits"] + [reports["onnxruntime"]["final"]]):
        assert a["miou"] == pytest.approx(b["miou"], abs=0.05)
    stats = tmp_path / "s.jsonl"
    assert main(["run", "--model", str(model), "--source", str(data / "val"), "--stats", str(stats),
                 "--backend", "onnxruntime", "--quiet"]) == 0
    summary = json.loads(stats.read_text().splitlines()[-1])["summary"]
    assert summary["frames"] == 4 and summary["backend"] == "onnxruntime"


def test_an_unknown_backend_is_one_line_naming_the_available(setup, capsys):  # noqa: F811
    root, data, model, _ = setup
    assert main(["eval", "--model", str(model), "--data", str(data), "--backend", "tensorrt", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "unknown backend 'tensorrt' (available here: torch, onnxruntime" in err

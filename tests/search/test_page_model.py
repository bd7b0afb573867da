"""core.search.page_model and page_text: what the Search page shows, checked without Qt."""

from __future__ import annotations

import subprocess
import sys

import pytest

from core.errors import ConfigError
from core.jobs import Progress
from core.profile.costs import CostTable
from core.search.holdout import held_out_choice
from core.search.page_model import THIS_MACHINE, SearchPageModel, search_request
from core.search.page_text import (CHOSEN_FIELDS, CLICKED, NO_TABLE, held_out_text, percent, progress_text,
                                   size_text, table_text)
from tests.search.synthetic import synthetic_outcome


def table(device: str = "board") -> CostTable:
    return CostTable((32, 48), device, [], {}, device_description="Test board")


def test_the_budget_chooses_and_a_click_selects():
    model = SearchPageModel()
    assert model.choose_for_budget() is None and model.texts() is None, "nothing before a search"
    model.set_outcome(synthetic_outcome())
    model.budget.set_value(70.0)
    assert model.choose_for_budget() == 1 and model.report_for(1) is None
    texts = model.texts()
    assert set(texts) == set(CHOSEN_FIELDS)
    assert texts["exits"] == "features.3 › final  (dynamic)"
    assert texts["thresholds"] == "th_pix 0.5, th_img 0.9, top1 confidence"
    assert texts["miou"] == "68.00 %  (full network 70.00 %)"
    assert texts["latency"] == "60.0 ms mean, 72.0 ms p95" and texts["gflops"] == "1.200 GFLOPs mean"
    assert texts["gain"] == "-40 % latency (1.67× as fast), -40 % GFLOPs, -2.00 pp mIoU"
    assert texts["why"] == "the budget (at most 70.0 ms, most accurate)"
    assert texts["held_out"] == "not checked (too few calibration images to fold)"
    assert model.fractions() == {"features.3": 0.6, "final": 0.4}
    model.select(2)
    assert model.chosen == 2 and model.why == CLICKED
    assert model.texts()["thresholds"] == "none (one exit answers every image)"
    model.budget.set_value(10.0)
    assert model.choose_for_budget() is None and model.texts() is None
    assert "no configuration fits 10 ms" in model.why
    model.set_outcome(None)
    assert model.chosen is None and model.why == "" and model.budget.range() == (0.0, 500.0)


def test_a_held_out_check_is_reported_for_the_budgets_choice_only():
    model = SearchPageModel()
    model.set_outcome(synthetic_outcome(folds=True))
    model.budget.set_value(80.0)
    index = model.choose_for_budget()
    report = model.report_for(index)
    assert report is not None and report.rule == "robust"
    assert model.why.endswith("; robust rule: worst calibration fold)")
    assert model.texts()["held_out"].startswith("chosen on the other folds, measured on each sequence left out: ")
    assert "the budget held on 3 of 3 folds" in model.texts()["held_out"]
    model.select(0 if index != 0 else 2)
    assert model.report_for(model.chosen) is None
    assert model.texts()["held_out"] == "not checked (a configuration clicked on the front)"


def test_held_out_text_when_nothing_fits_on_the_other_folds():
    outcome = synthetic_outcome(folds=True)
    _, report = held_out_choice(outcome.folds, outcome.result, kind="latency", value=35.0)
    report.checks["robust"] = [dict(c, config=None) for c in report.checks["robust"]]
    assert held_out_text(report, folded=True) == \
        "nothing fits the budget on the other folds of any held-out fold (sequence)"


def test_label_free_results_are_agreement():
    model = SearchPageModel()
    model.set_outcome(synthetic_outcome(reference="final exit"))
    model.select(1)
    assert model.texts()["miou"] == "68.00 % agreement with the full network (label-free)"


def test_which_latency_table_applies_and_how_it_reads():
    model = SearchPageModel()
    assert model.table_for_search(True) is None and model.table_text() == NO_TABLE
    board = table()
    model.set_table(board, "/somewhere/board.json")
    assert model.table_for_search(False) is None and model.table_for_search(True) is board
    assert model.table_text() == table_text(board, "/somewhere/board.json")
    assert model.table_text() == "board.json: Test board, 32×48", "the size measured at, H×W"
    model.set_outcome(synthetic_outcome(table=board))
    assert model.latency_source() == "board.json"
    model.set_outcome(synthetic_outcome(table=table("cpu")))
    assert model.latency_source() == THIS_MACHINE
    assert model.searched_text().startswith("Searched 3 configurations in 0.25 s on 6 images (48×64)")
    assert model.searched_text().endswith("); latency from this machine.")
    model.outcome.warnings.extend(["board.json: measured while other processes used 60 % of the CPU",
                                   "the model trained on frames of 'val' of camvid: ..."])
    expected = ("latency from this machine. board.json: measured while other processes used 60 % of the CPU. "
                "The model trained on frames of 'val' of camvid: ...")
    assert model.searched_text().endswith(expected), "every warning, not only the first"


def test_a_remembered_table_is_restored_only_when_readable(tmp_path):
    model = SearchPageModel()
    assert model.restore_table(str(tmp_path / "gone.json")) is None
    assert model.table is None
    (tmp_path / "broken.json").write_text("[1, 2]")
    said = model.restore_table(str(tmp_path / "broken.json"))
    assert model.table is None and model.table_path == ""
    assert said.startswith("The remembered latency table was not loaded: ") and "broken.json" in said, said


def test_the_request_names_missing_calibration_data(tmp_path):
    common = dict(split="val", limit=None, table=None, table_path="", backend="torch", precision="fp32")
    with pytest.raises(ConfigError, match="Choose the calibration dataset folder first"):
        search_request("", label_free=False, **common)
    with pytest.raises(ConfigError, match="a folder or a video"):
        search_request("", label_free=True, **common)
    with pytest.raises(ConfigError, match="gone: dataset folder is missing"):
        search_request(str(tmp_path / "gone"), label_free=False, **common)
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"")
    with pytest.raises(ConfigError, match="dataset folder is missing"):
        search_request(str(clip), label_free=False, **common)
    request = search_request(str(clip), label_free=True, **dict(common, limit=4))
    assert request.unlabelled == str(clip) and request.data is None and request.limit == 4
    assert request.reference == "final exit" and request.table_source == "latency table"
    request = search_request(str(tmp_path), label_free=False, **dict(common, split="test"))
    assert request.data == str(tmp_path) and request.split == "test" and request.reference == "labels"


def test_small_words():
    assert percent(60.0, 100.0) == "-40 %" and percent(1.0, 0.0) == "n/a"
    assert progress_text(Progress("calibrate", 2, 8, "image 2 of 8", {"eta_s": 12.4})) == \
        "Calibrating: image 2 of 8 (about 12 s left)"
    assert progress_text(Progress("latency", 0, 0, "x")) == "Measuring latency on this machine..."
    assert progress_text(Progress("other", 0, 0, "{odd} text")) == "{odd} text"
    assert size_text((48, 64)) == "48×64", "H×W, as `mess search --input` reads a size"


def test_the_page_model_needs_no_qt():
    code = ("import sys, core.search.page_model, core.search.budget_model, core.search.page_text; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'app')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

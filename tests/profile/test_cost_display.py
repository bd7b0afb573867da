"""Which cost table the Model page shows and when it measures (core.profile.cost_display), without Qt."""

from __future__ import annotations

from pathlib import Path

from core.models.io import ModelInfo
from core.profile.cost_display import CostDisplay, Step, measure_key, measuring_text, model_key, table_text
from core.profile.costs import CostTable, PieceCost


def table(median: float = 10.0, p10: float = 9.0, p90: float = 11.0, **extra) -> CostTable:
    """Two segments and a final head; the full network's spread is three times each piece's."""
    piece = PieceCost(1.0, median, p10, p90)
    return CostTable((360, 480), "cpu", [piece, piece], {"final": piece}, device_description="Test CPU",
                     extra=dict(extra))


A = ModelInfo(Path("/models/a"), weights_sha256="aaa")
B = ModelInfo(Path("/models/b"), weights_sha256="bbb")


def test_keys_name_the_model_its_weights_backend_and_precision():
    assert model_key(A) == ("/models/a", "aaa") and model_key(None) == ()
    assert measure_key(A, "onnxruntime", "fp16") == ("/models/a", "aaa", "onnxruntime", "fp16")
    assert measure_key(A, "torch", "fp32") != measure_key(ModelInfo(Path("/models/a"), weights_sha256="new"),
                                                          "torch", "fp32")


def test_a_measured_table_reads_its_device_size_and_spread():
    text = table_text(table(), "")
    assert text.label == "Costs measured here: Test CPU, 360×480 (H×W); full network 30.0 ms (p10 27.0, p90 33.0)"
    assert text.tooltip == "measured on this machine, kept in memory for this session"
    assert text.button == "Measure again" and text.message == "" and not text.error


def test_a_loaded_table_names_its_file_and_says_it_was_loaded():
    text = table_text(table(), "/tables/jetson.json")
    assert text.label.startswith("Costs from jetson.json: Test CPU, 360×480 (H×W)")
    assert text.tooltip == "/tables/jetson.json" and text.button == "Measure here"
    assert text.message == "Latency table /tables/jetson.json loaded." and not text.error


def test_no_latencies_no_spread_and_the_device_name_when_undescribed():
    flops_only = CostTable((48, 64), "cuda:0", [PieceCost(1.0)], {"final": PieceCost(0.5)})
    assert table_text(flops_only, "").label == "Costs measured here: cuda:0, 48×64 (H×W)"


def test_a_table_measured_under_load_or_noisy_is_flagged():
    busy = table_text(table(load={"others_cpu_fraction": 0.7}), "")
    assert busy.error and busy.message.startswith("Latency not trustworthy: ")
    assert "measured while other processes used 70 % of the CPU" in busy.message
    assert busy.message.endswith(". Press 'Measure again' on an idle machine.")
    noisy = table_text(table(p10=5.0, p90=20.0), "/t/noisy.json")
    assert noisy.error and "latency spread is large" in noisy.message and noisy.message.endswith("p90 60.0 ms.")


def test_a_table_from_an_older_mess_says_to_measure_here_with_this_version():
    old = table()
    old.format_version = 2
    text = table_text(old, "/t/old.json")
    assert text.error and text.message == (
        "Latency not trustworthy: measured by an older mess (latency-table version 2), which may have timed a "
        "slower form of the exit policy than the runtime's. Press 'Measure here' to measure again with this "
        "version of mess.")
    old.extra["load"] = {"others_cpu_fraction": 0.7}
    both = table_text(old, "/t/old.json").message
    assert "70 % of the CPU; measured by an older mess" in both and both.endswith("with this version of mess.")


def test_measuring_text_says_size_device_backend_and_precision():
    assert measuring_text((48, 64), "cpu", "openvino", "fp32") == \
        "Measuring FLOPs and latency at 48×64 (H×W) on cpu, openvino fp32..."


def test_measure_starts_waits_for_its_own_run_and_cancels_another_models():
    display = CostDisplay()
    assert display.plan(A, "torch", "fp32", cached=None, busy=False).step is Step.MEASURE
    assert display.plan(A, "torch", "fp32", cached=None, busy=True).step is Step.WAIT
    assert not display.remeasure
    assert display.plan(A, "onnxruntime", "fp32", cached=None, busy=True).step is Step.CANCEL
    assert display.remeasure
    assert display.stopped(has_model=True), "the cancelled run is followed by the new one"
    assert not display.remeasure and not display.stopped(has_model=True)


def test_a_cached_table_is_shown_unless_it_is_the_one_shown_already():
    display, cached = CostDisplay(), table()
    assert display.plan(A, "torch", "fp32", cached=cached, busy=False).step is Step.SHOW
    display.show(cached, "")
    again = display.plan(A, "torch", "fp32", cached=cached, busy=False)
    assert again.step is Step.MEASURE and again.discard_cached, "'Measure again' measures anew"
    display.show(cached, "/t/loaded.json")
    assert display.plan(A, "torch", "fp32", cached=cached, busy=False).step is Step.SHOW


def test_no_model_and_closing():
    display = CostDisplay()
    assert display.plan(None, "torch", "fp32", cached=None, busy=False).step is Step.NO_MODEL
    display.plan(A, "torch", "fp32", cached=None, busy=True)          # another model's run: cancel it
    display.pending = True
    display.close()
    assert display.plan(A, "torch", "fp32", cached=None, busy=False).step is Step.NONE
    assert not display.pending and not display.stopped(has_model=True), "nothing starts once closing"


def test_a_loaded_table_stays_the_models_until_measured_here():
    display, loaded = CostDisplay(), table()
    text = display.load(A, loaded, "/t/a.json")
    assert display.table is loaded and display.source == "/t/a.json" and "a.json" in text.label
    assert display.opened(B) is None and display.table is None and display.source == ""
    assert display.opened(A) == (loaded, "/t/a.json")
    display.plan(A, "torch", "fp32", cached=None, busy=False)          # measuring here forgets it
    assert display.imported(A) is None


def test_a_hidden_view_measures_once_shown():
    display = CostDisplay()
    assert not display.measure_now(visible=False) and display.pending
    assert display.measure_now(visible=True) and not display.pending
    display.measure_now(visible=False)
    display.plan(A, "torch", "fp32", cached=None, busy=False)
    assert not display.pending


def test_the_model_pages_rules_import_without_qt():
    import subprocess
    import sys

    code = ("import sys, core.profile.cost_display, core.models.summary_lines, core.models.convert_request; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'app')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

"""core.search.budget_model: the budget the Search page sets, its ranges and the slider's mapping (no Qt)."""

from __future__ import annotations

import pytest

from core.errors import ConfigError
from core.search.budget_model import (DEFAULT_RANGE, SLIDER_STEPS, BudgetModel, budget_mark, budget_range, budget_text,
                                      is_floor, range_text, slider_position, slider_value)
from core.search.session import Budget
from tests.search.synthetic import synthetic_result


def test_ranges_follow_the_search_and_default_before_it():
    result = synthetic_result()
    assert budget_range("latency", None) == DEFAULT_RANGE["latency"]
    assert budget_range("latency", result) == (30.0, 100.0)
    assert budget_range("gflops", result) == (0.5, 2.0)
    assert budget_range("drop", result) == (0.0, 20.0), "0 to the full network minus the worst mIoU"
    flat = synthetic_result(miou=(70.0, 70.0, 70.0))
    assert budget_range("drop", flat) == (0.0, 0.01), "a span even when every configuration is as accurate"


def test_the_slider_maps_both_ways_and_clamps():
    assert slider_position(65.0, 30.0, 100.0) == SLIDER_STEPS // 2
    assert slider_position(10.0, 30.0, 100.0) == 0 and slider_position(500.0, 30.0, 100.0) == SLIDER_STEPS
    assert slider_position(5.0, 1.0, 1.0) == 0, "an empty span"
    assert slider_value(0, 30.0, 100.0) == 30.0 and slider_value(SLIDER_STEPS, 30.0, 100.0) == 100.0
    assert slider_value(slider_position(47.0, 30.0, 100.0), 30.0, 100.0) == pytest.approx(47.0, abs=0.07)


def test_the_model_keeps_one_exact_value_per_kind():
    model = BudgetModel({"latency": 80.0})
    model.set_result(synthetic_result())
    assert model.budget() == Budget("latency", 80.0, "latency") and model.position() == 714
    assert model.set_position(SLIDER_STEPS) == 100.0, "the slider's end is the dearest configuration, exactly"
    model.set_kind("drop")
    assert model.value == 2.0 and model.budget().axis == "latency"
    model.set_cost("gflops")
    model.set_value(3.5)
    assert model.budget() == Budget("drop", 3.5, "gflops") and model.budget().axis == "gflops"
    model.set_kind("latency")
    assert model.value == 100.0 and model.values["drop"] == 3.5
    model.set_value(-4.0)
    assert model.value == 0.0
    assert model.step() == pytest.approx(1.0)
    with pytest.raises(ConfigError, match="unknown budget kind"):
        model.set_kind("watts")
    assert model.kind == "latency"


def test_the_words_of_a_budget():
    assert budget_text(Budget("latency", 42.04)) == "at most 42.0 ms, most accurate"
    assert budget_text(Budget("gflops", 1.25)) == "at most 1.250 GFLOPs, most accurate"
    assert budget_text(Budget("drop", 1.5, "gflops")) == \
        "at most 1.50 mIoU points below the full network, cheapest in gflops"
    assert range_text("latency", 30.0, 100.0, searched=False) == "slider: 30.0 – 100.0 ms (set by the search)"
    assert range_text("drop", 0.0, 20.0, searched=True) == "slider: 0.00 – 20.00 pp"
    assert is_floor("drop") and not is_floor("latency") and not is_floor("gflops")


def test_the_plot_marks_a_floor_in_miou_and_a_ceiling_in_its_cost():
    result = synthetic_result()
    assert budget_mark(Budget("drop", 2.5), result) == 67.5
    assert budget_mark(Budget("latency", 55.0), result) == 55.0

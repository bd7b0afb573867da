"""A run folder's small files read back defensively: a torn metrics line or a damaged class-weight cache is
never fatal."""

from __future__ import annotations

import json

import pytest

from core.train.records import parse_record, read_class_weights, read_records
from core.train.trainer import MetricsLog


def test_a_torn_or_foreign_metrics_line_is_skipped(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"stage": 1, "epoch": 1}\n\n[1, 2]\n{"stage": 1, "epo\n' + "[" * 5000 + "\n")
    assert read_records(path) == [{"stage": 1, "epoch": 1}]
    assert parse_record("") is None and parse_record("{}") == {}
    assert read_records(tmp_path / "absent.jsonl") == []


def test_trimming_on_resume_keeps_the_good_lines_past_a_torn_one(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"stage": 1, "epoch": 1}\n{"stage": 1, "epoch": 2}\n{"stage": 1, "ep')  # killed mid-write
    MetricsLog(path, enabled=True).trim(lambda record: record["epoch"] <= 1)
    assert path.read_text() == '{"stage": 1, "epoch": 1}\n'


@pytest.mark.parametrize("text", ["{not json", "[" * 100_000, '{"weights": [1, NaN, 2]}', '{"weights": [1, 2]}',
                                  '{"weights": [1, -2, 3]}', '{"weights": "abc"}', "[1, 2, 3]",
                                  '{"weights": [1, true, 3]}'])
def test_a_damaged_class_weight_cache_is_counted_again(tmp_path, text):
    path = tmp_path / "class_weights.json"
    path.write_text(text)
    assert read_class_weights(path, 3) is None


def test_a_good_class_weight_cache_is_read(tmp_path):
    path = tmp_path / "class_weights.json"
    path.write_text(json.dumps({"pixel_counts": [5, 6, 7], "weights": [0.5, 1, 2.0]}))
    assert read_class_weights(path, 3) == [0.5, 1.0, 2.0]
    assert read_class_weights(tmp_path / "absent.json", 3) is None

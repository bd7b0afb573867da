from __future__ import annotations

import json

import numpy as np
import pytest

from core.data import CLASS_SETS, ClassSet, load_class_set
from core.errors import DataError


def test_camvid_class_set_matches_readme() -> None:
    cs = CLASS_SETS.get("camvid")
    assert cs.num_classes == 11
    assert cs.ignore_index == 11
    assert cs.names[0] == "Sky" and cs.names[10] == "Bicyclist"
    assert cs.palette[3] == (128, 64, 128)  # Road
    assert cs.palette[4] == (60, 40, 222)  # Pavement
    assert cs.palette[10] == (0, 128, 192)  # Bicyclist


def test_cityscapes_and_voc_class_sets() -> None:
    city = CLASS_SETS.get("cityscapes")
    assert (city.num_classes, city.ignore_index) == (19, 255)
    assert city.names[13] == "car" and city.palette[13] == (0, 0, 142)
    assert city.palette[10] == (70, 130, 180)  # sky
    voc = CLASS_SETS.get("voc")
    assert (voc.num_classes, voc.ignore_index) == (21, 255)
    assert voc.names[0] == "background" and voc.names[15] == "person"
    assert voc.palette[:4] == [(0, 0, 0), (128, 0, 0), (0, 128, 0), (128, 128, 0)]
    assert voc.palette[15] == (192, 128, 128)
    assert voc.palette[20] == (0, 64, 128)


def test_json_round_trip() -> None:
    cs = CLASS_SETS.get("camvid")
    back = ClassSet.from_json(json.loads(json.dumps(cs.to_json())))
    assert back == cs
    assert back.palette[0] == (128, 128, 128) and isinstance(back.palette[0], tuple)


@pytest.mark.parametrize(
    ("d", "needle"),
    [
        ({"names": ["a", "b"], "palette": [[0, 0, 0]], "ignore_index": 255}, "palette has 1 colours"),
        ({"names": ["a"], "palette": [[0, 0, 300]], "ignore_index": 255}, "[0, 0, 300]"),
        ({"names": ["a", "b"], "palette": [[0, 0, 0], [1, 1, 1]], "ignore_index": 1}, "ignore_index 1"),
        ({"names": ["a"], "palette": [[0, 0, 0]]}, "ignore_index"),
        ({"names": "ab", "palette": [[0, 0, 0]], "ignore_index": 255}, "'names'"),
    ],
)
def test_from_json_rejects_bad_sets(d: dict, needle: str) -> None:
    with pytest.raises(DataError) as e:
        ClassSet.from_json(d)
    assert needle in str(e.value)
    assert "\n" not in str(e.value)


def test_load_class_set_names_the_file(tmp_path) -> None:
    path = tmp_path / "classes.json"
    with pytest.raises(DataError, match="classes.json: (file is missing|class set not found)"):
        load_class_set(path)
    path.write_text("{not json")
    with pytest.raises(DataError, match="classes.json: not valid JSON"):
        load_class_set(path)
    path.write_text(json.dumps({"names": ["a", "b"], "palette": [[1, 2, 3]], "ignore_index": 255}))
    with pytest.raises(DataError, match="classes.json: .*palette has 1 colours but there are 2"):
        load_class_set(path)


def test_colorize_blackens_ignore_and_out_of_range() -> None:
    cs = CLASS_SETS.get("camvid")
    labels = np.array([[0, 3, 11], [10, -1, 200]], dtype=np.int64)
    rgb = cs.colorize(labels)
    assert rgb.shape == (2, 3, 3) and rgb.dtype == np.uint8
    assert tuple(rgb[0, 0]) == (128, 128, 128)
    assert tuple(rgb[0, 1]) == (128, 64, 128)
    assert tuple(rgb[1, 0]) == (0, 128, 192)
    assert tuple(rgb[0, 2]) == tuple(rgb[1, 1]) == tuple(rgb[1, 2]) == (0, 0, 0)

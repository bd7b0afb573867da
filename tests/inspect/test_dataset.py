"""Every exit over a labelled split: per-class IoU, agreement with the final exit, the worst images;
the heat map picture and `mess inspect --data`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.cli.main import main
from core.data import eval_transform, open_dataset
from core.data.metrics import ConfusionMatrix
from core.errors import DataError
from core.inspect.dataset import dataset_inspection
from core.inspect.frame import depth_order
from core.inspect.heatmap import CELL_H, HEADER_H, LABEL_W, CELL_W, render_heatmap, value_colour
from core.jobs import run_job
from core.models import FINAL_EXIT
from core.runtime.backends.torch_backend import TorchPieces
from core.runtime.early_exit import all_exit_labels
from tests.data.builders import write_camvid
from tests.inspect.conftest import SIZE


@pytest.fixture(scope="module")
def camvid(tmp_path_factory):
    root = tmp_path_factory.mktemp("camvid")
    write_camvid(root, "val", n=4)
    return root


@pytest.fixture(scope="module")
def dataset(net, camvid):
    return open_dataset(camvid, "val", transform=eval_transform(net.spec.mean, net.spec.std, SIZE))


@pytest.fixture(scope="module")
def inspection(net, dataset):
    return run_job(dataset_inspection(net, dataset, TorchPieces(net)))


def test_each_exit_s_class_iou_and_agreement_are_those_of_its_labels(net, dataset, inspection):
    assert inspection.exits == depth_order(net) and inspection.exits[-1] == FINAL_EXIT
    classes = net.spec.classes
    matrices = {e: ConfusionMatrix(classes.num_classes, classes.ignore_index) for e in net.exit_ids()}
    same = {e: 0 for e in net.exit_ids()}
    pixels = 0
    for i in range(len(dataset)):
        item = dataset[i]
        labels = all_exit_labels(net, TorchPieces(net), item["image"].unsqueeze(0))
        mask = item["mask"].unsqueeze(0)
        valid = mask < classes.num_classes
        pixels += int(valid.sum())
        for e, exit_labels in labels.items():
            matrices[e].update(exit_labels, mask)
            same[e] += int(((exit_labels == labels[FINAL_EXIT]) & valid).sum())
    for row, e in enumerate(inspection.exits):
        np.testing.assert_allclose(inspection.iou[row], 100 * matrices[e].iou_per_class(), equal_nan=True)
        assert inspection.miou[e] == pytest.approx(100 * matrices[e].mean_iou())
        assert inspection.agreement[e] == pytest.approx(100 * same[e] / pixels)
    assert inspection.agreement[FINAL_EXIT] == pytest.approx(100.0)


def test_the_worst_images_are_those_where_the_early_exits_lose_most(inspection):
    worst = inspection.worst(2)
    drops = sorted((r.drop for r in inspection.images), reverse=True)
    assert [r.drop for r in worst] == drops[:2]
    for record in inspection.images:
        early = [record.miou[FINAL_EXIT] - v for e, v in record.miou.items() if e != FINAL_EXIT]
        assert record.drop == pytest.approx(np.mean(early))
        assert record.mask.endswith(".png") and "valannot" in record.mask
    assert len(inspection.to_json(worst=3)["worst_images"]) == 3


def test_the_heat_map_has_a_cell_per_exit_and_class_coloured_by_its_value(inspection):
    picture = render_heatmap(inspection)
    rows, columns = len(inspection.exits), len(inspection.classes) + 2
    assert picture.shape[0] >= HEADER_H + rows * CELL_H and picture.shape[1] >= LABEL_W + columns * CELL_W
    row = len(inspection.exits) - 1                            # the final exit's agreement: 100 %
    top, left = HEADER_H + row * CELL_H, LABEL_W + (columns - 1) * CELL_W
    assert tuple(picture[top + 3, left + 3]) == value_colour(100.0)
    assert value_colour(0.0) != value_colour(100.0) and value_colour(float("nan")) == (200, 200, 200)


def test_an_unlabelled_dataset_is_refused(net, tmp_path):
    from core.data import open_unlabelled
    from tests.data.builders import rgb_image, write_rgb

    write_rgb(tmp_path / "a.png", rgb_image(0))
    frames = open_unlabelled(tmp_path, transform=eval_transform(net.spec.mean, net.spec.std, SIZE))
    with pytest.raises(DataError, match="needs labels"):
        run_job(dataset_inspection(net, frames, TorchPieces(net)))


def test_mess_inspect_data_writes_the_heat_map_and_the_json(capsys, model_dir, camvid, tmp_path):
    out, report = tmp_path / "heat.png", tmp_path / "heat.json"
    code = main(["inspect", "--data", str(camvid), "--split", "val", "--model", str(model_dir), "--device", "cpu",
                 "--backend", "torch", "--worst", "2", "--out", str(out), "--json", str(report)])
    stdout = capsys.readouterr().out
    assert code == 0 and out.is_file()
    data = json.loads(report.read_text())
    assert data["images"] == 4 and len(data["worst_images"]) == 2 and data["exits"][-1]["exit"] == FINAL_EXIT
    assert "where the early exits fail most" in stdout and "heat map ->" in stdout


def test_mess_inspect_data_refuses_image_only_options(capsys, model_dir, camvid, tmp_path):
    code = main(["inspect", "--data", str(camvid), "--model", str(model_dir), "--device", "cpu",
                 "--label", "x.png", "--out", str(tmp_path / "h.png")])
    err = capsys.readouterr().err
    assert code == 2 and "--label, --config and --frame are for one --image" in err
    assert not (tmp_path / "h.png").exists()

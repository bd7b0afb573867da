"""The `mess` command line, called in-process: convert and eval, their errors and the eval JSON contract."""

from __future__ import annotations

import json
import shutil
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from core.cli.main import main
from core.models import FINAL_EXIT, load_model
from core.runtime.config import ExitConfig
from tests.data.builders import noise_bgr, write_camvid_pairs, write_tiny_model

SIZE = (64, 96)
COMMANDS = {"convert", "eval", "export", "inspect", "train", "profile", "quantize", "search", "gui", "run"}


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one error line on stderr, got: {err!r}"
    return lines[0]


# --- fixtures --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A tiny MobileNetV3-Large model folder with two early exits."""
    return write_tiny_model(tmp_path_factory.mktemp("cli") / "model", SIZE)


def every_class_mask(i: int, num_classes: int, ignore: int) -> np.ndarray:
    mask = (np.arange(SIZE[0] * SIZE[1]).reshape(SIZE) // 17 + i) % num_classes  # every class present
    mask = mask.astype(np.uint8)
    mask[:2, :] = ignore  # some void pixels
    return mask


def write_every_class_camvid(root: Path, n: int = 3, num_classes: int = 11, ignore: int = 11) -> Path:
    rng = np.random.default_rng(0)
    samples = ((f"0001TP_{i:06d}.png", noise_bgr(rng, SIZE), every_class_mask(i, num_classes, ignore))
               for i in range(n))
    return write_camvid_pairs(root, samples)


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory) -> Path:
    return write_every_class_camvid(tmp_path_factory.mktemp("cli") / "camvid")


@pytest.fixture(scope="module")
def exits(model_dir) -> list[str]:
    net, _ = load_model(model_dir)
    return net.exit_ids()


def run_eval(capsys, model_dir, data_dir, out_json, *extra) -> dict:
    code = main(["eval", "--model", str(model_dir), "--data", str(data_dir), "--device", "cpu", "--quiet",
                 "--json", str(out_json), *extra])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(Path(out_json).read_text())


def test_eval_says_when_the_model_trained_on_the_frames_it_is_scored_on(capsys, model_dir, dataset_dir, tmp_path):
    """A model trained on train+val, scored on val: a note says these are training images; trained on train: none."""
    for train_split, warned in (("train+val", True), ("train", False)):
        copy = tmp_path / train_split / "model"
        shutil.copytree(model_dir, copy)
        document = json.loads((copy / "model.json").read_text())
        document["provenance"] = {**document.get("provenance", {}),
                                  "config": {"train_split": train_split, "hold_out": ""}}
        (copy / "model.json").write_text(json.dumps(document))
        assert main(["eval", "--model", str(copy), "--data", str(dataset_dir), "--device", "cpu", "--quiet",
                     "--backend", "torch"]) == 0
        err = capsys.readouterr().err
        assert ("scores on training images" in err) is warned, err


def check_record(record: dict) -> None:
    assert isinstance(record["miou"], float) and 0.0 <= record["miou"] <= 100.0
    assert isinstance(record["gflops"], float) and record["gflops"] > 0
    assert isinstance(record["latency_ms"], float) and record["latency_ms"] > 0


# --- help ------------------------------------------------------------------------------------

def test_help_lists_exactly_the_existing_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    listed = set(re.findall(r"^ {4}([a-z][a-z-]*)\s", out, flags=re.MULTILINE))
    assert listed == COMMANDS
    braces = re.search(r"\{([a-z,-]+)\}", out)
    if braces:  # argparse's {a,b} form, when shown
        assert set(braces.group(1).split(",")) == COMMANDS


def test_help_promises_no_command_that_does_not_exist(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out.lower()
    for missing in sorted({"search", "train", "run", "export", "profile", "video"} - COMMANDS):
        assert not re.search(rf"\b{missing}\b", out), f"--help mentions '{missing}', which is not a command"


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "convert" in capsys.readouterr().out


# --- convert ---------------------------------------------------------------------------------

def test_convert_creates_a_loadable_model(tmp_path, capsys):
    out = tmp_path / "tiny"
    code = main(["convert", "--backbone", "mobilenet_v3_large", "--out", str(out), "--heads", "light",
                 "--input", "64x96"])
    stdout = capsys.readouterr().out
    assert code == 0
    assert str(out) in stdout
    net, info = load_model(out)
    assert net.spec.backbone == "mobilenet_v3_large"
    assert net.spec.input_size == (64, 96)
    assert net.spec.num_classes == 11
    points = list(net.exit_points)
    assert net.exit_ids() == [f"{p}:fcn-c64-b0" for p in points] + [FINAL_EXIT]
    assert info.provenance["created_by"] == "mess convert"
    assert info.provenance["trained"] is False
    with torch.no_grad():
        outputs = net(torch.rand(1, 3, *SIZE))
    assert all(o.shape == (1, 11, *SIZE) for o in outputs.values())
    # each exit is reported with its GFLOPs
    for exit_id in net.exit_ids():
        assert exit_id in stdout


def test_convert_refuses_a_non_empty_folder(tmp_path, capsys):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    code = main(["convert", "--backbone", "mobilenet_v3_large", "--out", str(out), "--input", "64x96"])
    assert code == 2
    line = one_error_line(capsys)
    assert str(out) in line
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    assert (out / "notes.txt").read_text() == "keep me"


def test_convert_force_replaces(tmp_path, capsys):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "model.json").write_text("{}")
    code = main(["convert", "--backbone", "mobilenet_v3_large", "--out", str(out), "--input", "64x96",
                 "--heads", "fcn-c64-b0", "--points", "features.6", "--force"])
    assert code == 0, capsys.readouterr().err
    net, _ = load_model(out)
    assert net.exit_ids() == ["features.6:fcn-c64-b0", FINAL_EXIT]


@pytest.mark.parametrize("argv,word", [
    (["--backbone", "no_such_net"], "no_such_net"),
    (["--backbone", "mobilenet_v3_large", "--points", "layer9"], "layer9"),
    (["--backbone", "mobilenet_v3_large", "--heads", "fcn-c33-b1"], "33"),
    (["--backbone", "mobilenet_v3_large", "--output-stride", "8"], "8"),
    (["--backbone", "mobilenet_v3_large", "--classes", "no_such_classes.json"], "no_such_classes.json"),
])
def test_convert_bad_values_exit_2_with_one_line(tmp_path, capsys, argv, word):
    out = tmp_path / "never"
    code = main(["convert", "--out", str(out), "--input", "64x96", *argv])
    assert code == 2
    line = one_error_line(capsys)
    assert word in line
    assert not (out / "model.json").exists()


# --- eval errors -----------------------------------------------------------------------------

def test_eval_missing_model_folder(tmp_path, capsys, dataset_dir):
    missing = tmp_path / "no_model_here"
    code = main(["eval", "--model", str(missing), "--data", str(dataset_dir), "--device", "cpu", "--quiet"])
    assert code == 2
    assert str(missing) in one_error_line(capsys)


def test_eval_config_with_unknown_exit(tmp_path, capsys, model_dir, dataset_dir, exits):
    config = tmp_path / "config.json"
    ExitConfig([exits[0], "features.99:fcn-c64-b0", FINAL_EXIT]).save(config)
    code = main(["eval", "--model", str(model_dir), "--data", str(dataset_dir), "--device", "cpu", "--quiet",
                 "--config", str(config), "--json", str(tmp_path / "r.json")])
    assert code == 2
    assert "features.99:fcn-c64-b0" in one_error_line(capsys)
    assert not (tmp_path / "r.json").exists()


def test_eval_missing_config_file(tmp_path, capsys, model_dir, dataset_dir):
    config = tmp_path / "absent.json"
    code = main(["eval", "--model", str(model_dir), "--data", str(dataset_dir), "--device", "cpu", "--quiet",
                 "--config", str(config)])
    assert code == 2
    assert str(config) in one_error_line(capsys)


def test_eval_dataset_with_another_class_count(tmp_path, capsys, model_dir):
    data = write_every_class_camvid(tmp_path / "three", n=2, num_classes=3, ignore=255)
    (data / "classes.json").write_text(json.dumps({
        "name": "three", "names": ["a", "b", "c"], "palette": [[0, 0, 0], [1, 1, 1], [2, 2, 2]], "ignore_index": 255}))
    code = main(["eval", "--model", str(model_dir), "--data", str(data), "--device", "cpu", "--quiet"])
    assert code == 2
    line = one_error_line(capsys)
    assert "3 classes" in line and "11" in line


# --- eval report -----------------------------------------------------------------------------

def test_eval_report_without_config(tmp_path, capsys, model_dir, dataset_dir, exits):
    report = run_eval(capsys, model_dir, dataset_dir, tmp_path / "report.json")
    assert isinstance(report["model"], str) and report["model"] == str(model_dir)
    assert report["split"] == "val"
    assert report["images"] == 3
    assert [row["exit"] for row in report["exits"]] == exits[:-1]
    for row in report["exits"]:
        check_record(row)
    check_record(report["final"])
    assert report["config"] is None
    # deeper exits cost more
    gflops = [row["gflops"] for row in report["exits"]] + [report["final"]["gflops"]]
    assert gflops == sorted(gflops) and len(set(gflops)) == len(gflops)


def test_eval_report_with_a_config_where_every_image_leaves_first(tmp_path, capsys, model_dir, dataset_dir, exits):
    config = tmp_path / "early.json"
    ExitConfig([exits[0], FINAL_EXIT], th_pix=[0.0, 0.0], th_img=[0.0, 0.0]).save(config)
    report = run_eval(capsys, model_dir, dataset_dir, tmp_path / "report.json", "--config", str(config))
    result = report["config"]
    assert set(result) >= {"miou", "mean_latency_ms", "mean_gflops", "exit_fractions"}
    assert result["exit_fractions"] == {exits[0]: 1.0, FINAL_EXIT: 0.0}
    assert sum(result["exit_fractions"].values()) == pytest.approx(1.0)
    first = report["exits"][0]
    assert result["miou"] == pytest.approx(first["miou"])
    assert result["mean_gflops"] == pytest.approx(first["gflops"])
    assert 0.0 <= result["miou"] <= 100.0
    assert result["mean_latency_ms"] > 0
    # Same-run accounting: the full network measured in the same loop, and the ratio of the two.
    assert result["full_mean_latency_ms"] > 0 and result["full_median_latency_ms"] > 0
    assert result["speedup"] == pytest.approx(result["full_mean_latency_ms"] / result["mean_latency_ms"])


def test_eval_report_with_a_config_where_every_image_goes_to_the_end(tmp_path, capsys, model_dir, dataset_dir, exits):
    config = tmp_path / "late.json"
    ExitConfig([exits[0], exits[1], FINAL_EXIT], th_pix=[1.0, 1.0, 1.0], th_img=[1.0, 1.0, 1.0]).save(config)
    report = run_eval(capsys, model_dir, dataset_dir, tmp_path / "report.json", "--config", str(config))
    result = report["config"]
    assert set(result["exit_fractions"]) == {exits[0], exits[1], FINAL_EXIT}
    assert sum(result["exit_fractions"].values()) == pytest.approx(1.0)
    assert result["exit_fractions"][FINAL_EXIT] == 1.0
    assert result["miou"] == pytest.approx(report["final"]["miou"])
    assert 0.0 <= result["miou"] <= 100.0
    # every head on the way was paid for
    assert result["mean_gflops"] > report["final"]["gflops"]


def test_eval_limit_and_printed_table(tmp_path, capsys, model_dir, dataset_dir, exits):
    code = main(["eval", "--model", str(model_dir), "--data", str(dataset_dir), "--device", "cpu", "--quiet",
                 "--limit", "1", "--json", str(tmp_path / "r.json")])
    out = capsys.readouterr().out
    assert code == 0
    assert json.loads((tmp_path / "r.json").read_text())["images"] == 1
    for exit_id in exits:
        assert exit_id in out


@pytest.mark.shared_data
def test_eval_on_real_camvid(tmp_path, capsys, model_dir, camvid_root):
    report = run_eval(capsys, model_dir, camvid_root, tmp_path / "real.json", "--limit", "2", "--input", "64x96")
    assert report["images"] == 2
    assert report["split"] == "val"
    for row in report["exits"] + [report["final"]]:
        check_record(row)


def test_json_output_creates_its_folder(tmp_path):
    from core.cli.common import write_json

    target = tmp_path / "new" / "deeper" / "report.json"
    write_json(target, {"a": 1})
    assert json.loads(target.read_text()) == {"a": 1}


def test_ctrl_c_while_starting_up_is_one_line(monkeypatch, capsys):
    """Ctrl-C while the commands (and torch) are still being imported used to print a traceback."""
    import core.cli.main as cli

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert cli.main(["eval"]) == 130
    assert capsys.readouterr().err.strip() == "mess: interrupted"


# --- held-out sequences ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def two_sequence_dir(tmp_path_factory) -> Path:
    """val: 2 frames of drive 0001TP (from write_every_class_camvid) and 2 of 0006R0 with other masks."""
    root = write_every_class_camvid(tmp_path_factory.mktemp("cli") / "two", n=2)
    rng = np.random.default_rng(5)
    samples = ((f"0006R0_{i:06d}.png", noise_bgr(rng, SIZE), rng.integers(0, 11, size=SIZE, dtype=np.uint8))
               for i in range(2))
    return write_camvid_pairs(root, samples)


def test_eval_reports_every_exit_per_sequence_as_each_sequence_alone_would(tmp_path, capsys, model_dir,
                                                                          two_sequence_dir, exits):
    config = tmp_path / "config.json"
    ExitConfig([exits[0], FINAL_EXIT], th_pix=[0.5, 0.0], th_img=[0.5, 0.0]).save(config)
    both = run_eval(capsys, model_dir, two_sequence_dir, tmp_path / "both.json", "--config", str(config))
    assert list(both["sequences"]) == ["0001TP", "0006R0"]
    assert both["config"]["sequences"]["0006R0"]["images"] == 2
    for sequence in ("0001TP", "0006R0"):
        alone = run_eval(capsys, model_dir, two_sequence_dir, tmp_path / f"{sequence}.json", "--sequences", sequence)
        assert alone["images"] == 2 and list(alone["sequences"]) == [sequence]
        record = both["sequences"][sequence]
        assert record["images"] == 2
        assert set(record["miou"]) == set(exits)
        assert record["miou"][FINAL_EXIT] == pytest.approx(alone["final"]["miou"], abs=1e-9)
        assert record["miou"][exits[0]] == pytest.approx(alone["exits"][0]["miou"], abs=1e-9)
    rest = run_eval(capsys, model_dir, two_sequence_dir, tmp_path / "rest.json", "--exclude-sequences", "0001TP")
    assert list(rest["sequences"]) == ["0006R0"]


def test_eval_prints_a_column_per_sequence(capsys, model_dir, two_sequence_dir):
    assert main(["eval", "--model", str(model_dir), "--data", str(two_sequence_dir), "--device", "cpu",
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"exit\s+mIoU %\s+0001TP\s+0006R0\s+GFLOPs", out)
    assert "images: 0001TP 2, 0006R0 2" in out


def test_eval_of_an_absent_sequence_is_one_line(capsys, model_dir, two_sequence_dir):
    code = main(["eval", "--model", str(model_dir), "--data", str(two_sequence_dir), "--device", "cpu", "--quiet",
                 "--sequences", "0016E5"])
    assert code == 2
    assert "has no frame of sequence '0016E5' (sequences: 0001TP 2, 0006R0 2)" in one_error_line(capsys)

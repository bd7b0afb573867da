"""int8: the stored calibration, int8 graphs on both graph backends, int8 export, `mess quantize`."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnx.numpy_helper
import pytest
import torch

from core.cli.main import main as mess
from core.data.classes import CLASS_SETS
from core.deploy.export import MANIFEST, export_model
from core.deploy.graph_store import GraphStore
from core.deploy.pieces import PieceKey
from core.deploy.quantize import (IMAGES, RECORD, Int8Calibration, Int8Graphs, int8_folder, load_calibration,
                                  quantize_job, save_calibration)
from core.errors import ConfigError
from core.jobs import run_job
from core.models import HeadConfig, convert_backbone, save_model
from core.runtime.backends import BACKENDS, BackendOptions, get_backend
from core.runtime.early_exit import all_exit_labels
from tests.data.builders import noise_frames, write_image_folder
from tests.runtime.test_early_exit import SIZE, three_images, trained_like

GRAPH_BACKENDS = ("onnxruntime", "openvino")


def need(backend: str) -> None:
    reason = BACKENDS.get(backend).unavailable_reason()
    if reason:
        pytest.skip(f"backend {backend}: {reason}")


def varied_images(count: int = 12) -> np.ndarray:
    """Calibration images: flat, ramps and noise of several levels, like three_images but more."""
    rng = np.random.default_rng(7)
    out = []
    for i in range(count):
        level = -1.5 + 3.0 * i / max(1, count - 1)
        ramp = np.linspace(-2, 2, SIZE[1], dtype=np.float32)[None, None, :] * (i % 3) / 2
        out.append(np.full((3, *SIZE), level, np.float32) + ramp + rng.normal(0, 0.3 * (i % 4), (3, *SIZE)))
    return np.stack(out).astype(np.float32)


@pytest.fixture()
def net(tmp_path, monkeypatch):
    monkeypatch.setenv("MESS_CACHE_DIR", str(tmp_path / "cache"))
    net = convert_backbone("mobilenet_v3_large", CLASS_SETS.get("camvid"), heads=[HeadConfig("fcn", "64", 0)], seed=3)
    return trained_like(net.eval(), three_images(torch.float32))


def quantized_ops(path) -> int:
    return sum(node.op_type == "QuantizeLinear" for node in onnx.load(str(path)).graph.node)


def test_calibration_record_round_trips_and_refuses_unknown_keys_and_versions(tmp_path):
    record = save_calibration(tmp_path, varied_images(3), source="frames/")
    assert load_calibration(tmp_path) == record and record.images == 3 and record.input_size == SIZE
    path = int8_folder(tmp_path) / RECORD
    data = json.loads(path.read_text())
    with pytest.raises(ConfigError, match="unknown keys extra"):
        Int8Calibration.from_json({**data, "extra": 1}, str(path))
    with pytest.raises(ConfigError, match="version 1"):
        Int8Calibration.from_json({**data, "version": 2}, str(path))
    with pytest.raises(ConfigError, match="N x 3 x H x W"):
        save_calibration(tmp_path, np.zeros((0, 3, 8, 8), np.float32), source="none")


def test_int8_without_a_calibration_names_the_command_that_makes_one(net):
    need("onnxruntime")
    with pytest.raises(ConfigError, match="mess quantize") as error:
        get_backend("onnxruntime").pieces(net, SIZE, BackendOptions("int8"))
    assert f"{SIZE[0]}x{SIZE[1]}" in str(error.value)


@pytest.mark.parametrize("backend", GRAPH_BACKENDS)
def test_int8_pieces_run_quantised_graphs_whose_labels_follow_the_float_network(net, backend):
    need(backend)
    images = varied_images()
    store = GraphStore(net, SIZE)
    save_calibration(store.folder, images, source="varied")
    pieces = get_backend(backend).pieces(net, SIZE, BackendOptions("int8"))
    x = torch.from_numpy(images[::3].copy())
    labels = all_exit_labels(net, pieces, x)
    reference = all_exit_labels(net, get_backend("torch").pieces(net, SIZE, BackendOptions()), x)
    folder = int8_folder(store.folder)
    graphs = sorted(folder.rglob("*.onnx"))
    assert graphs and all(quantized_ops(g) > 0 for g in graphs), "every graph run at int8 is a QDQ graph"
    for exit_id in net.exit_ids():
        agreement = (labels[exit_id] == reference[exit_id]).float().mean().item()
        assert agreement > 0.8, f"{backend} int8 {exit_id}: labels agree with fp32 on {agreement:.3f} of pixels"


def test_a_new_calibration_replaces_the_old_one_and_its_graphs(net):
    need("onnxruntime")
    store = GraphStore(net, SIZE)
    first = save_calibration(store.folder, varied_images(4), source="a")
    graphs = Int8Graphs(store)
    graphs.path(PieceKey.head("final"))
    assert (int8_folder(store.folder) / first.tag / "head-final.onnx").is_file()
    second = save_calibration(store.folder, varied_images(5), source="b")
    assert second.fingerprint != first.fingerprint
    assert sorted(p.name for p in int8_folder(store.folder).iterdir()) == sorted([IMAGES, RECORD])
    assert not [p for p in store.folder.iterdir() if p.name.startswith(".int8")], "no leftovers beside the store"
    with pytest.raises(ConfigError, match="calibration was replaced while this ran"):
        graphs.path(PieceKey.segments(0, 0))      # made from the first calibration: refused, not mixed in


def test_quantize_job_reads_an_image_folder_and_makes_the_full_networks_graphs(net, tmp_path):
    need("onnxruntime")
    folder = write_image_folder(tmp_path / "frames", noise_frames(5, size=SIZE), names="f{i}.png")
    record, store_folder = run_job(quantize_job(net, folder, input_size=SIZE, count=3))
    assert record.images == 3 and record.source == str(folder)
    made = sorted(p.name for p in (int8_folder(store_folder) / record.tag).glob("*.onnx"))
    assert made == sorted([f"segments-0-{net.exit_segment('final')}.onnx", "head-final.onnx"])


def test_quantize_job_says_the_calibration_is_stored_before_it_honours_a_cancel(net, tmp_path, monkeypatch):
    """From the "stored" event on, the new calibration is on disk: a cancel there keeps it (the app
    then forgets the int8 latency tables that timed the graphs it replaced)."""
    from core.jobs import CancelToken, Cancelled

    monkeypatch.setenv("MESS_CACHE_DIR", str(tmp_path / "cache"))
    folder = write_image_folder(tmp_path / "frames", noise_frames(3, size=SIZE), names="f{i}.png")
    token = CancelToken()
    job = quantize_job(net, folder, input_size=SIZE, count=2, cancel=token)
    assert next(job).stage == "calibrate"
    assert load_calibration(GraphStore(net, SIZE).folder) is None
    stored = next(job)                       # reading the images and writing them: no cancel in between
    assert stored.stage == "stored"
    assert load_calibration(GraphStore(net, SIZE).folder).images == 2
    token.cancel()
    with pytest.raises(Cancelled):
        next(job)
    assert load_calibration(GraphStore(net, SIZE).folder).images == 2, "kept after the cancel"


@pytest.mark.parametrize("fmt", ["onnx", "openvino"])
def test_int8_export_holds_quantised_graphs_and_records_the_calibration(net, tmp_path, fmt):
    need("onnxruntime" if fmt == "onnx" else "openvino")
    with pytest.raises(ConfigError, match="mess quantize"):
        run_job(export_model(net, tmp_path / "none", fmt=fmt, precision="int8", input_size=SIZE))
    assert not (tmp_path / "none").exists()
    record = save_calibration(GraphStore(net, SIZE).folder, varied_images(4), source="varied")
    manifest = run_job(export_model(net, tmp_path / "out", fmt=fmt, precision="int8", input_size=SIZE))
    assert manifest["precision"] == "int8" and manifest["int8_calibration"]["fingerprint"] == record.fingerprint
    if fmt == "onnx":
        assert all(quantized_ops(tmp_path / "out" / g["file"]) > 0 for g in manifest["graphs"])
    assert json.loads((tmp_path / "out" / MANIFEST).read_text())["int8_calibration"]["images"] == 4


def test_mess_quantize_then_eval_at_int8(tmp_path, monkeypatch, capsys):
    need("onnxruntime")
    monkeypatch.setenv("MESS_CACHE_DIR", str(tmp_path / "cache"))
    net = convert_backbone("mobilenet_v3_large", CLASS_SETS.get("camvid"), heads=[HeadConfig("fcn", "64", 0)], seed=3)
    save_model(net.eval(), tmp_path / "m")
    frames = write_image_folder(tmp_path / "frames", noise_frames(4, size=SIZE), names="f{i}.png")
    size = f"{SIZE[0]}x{SIZE[1]}"
    assert mess(["quantize", "--model", str(tmp_path / "m"), "--images", str(tmp_path / "missing"),
                 "--input", size, "--quiet"]) != 0
    assert "missing" in capsys.readouterr().err
    assert mess(["quantize", "--model", str(tmp_path / "m"), "--images", str(frames), "--input", size,
                 "--count", "2", "--quiet"]) == 0
    assert "2 images" in capsys.readouterr().out
    out = tmp_path / "latency.json"
    assert mess(["profile", "--model", str(tmp_path / "m"), "--input", size, "--backend", "onnxruntime",
                 "--precision", "int8", "--repeats", "2", "--warmup", "1", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["precision"] == "int8"


@pytest.mark.parametrize(("scheme", "dtype", "symmetric"), [("u8", np.uint8, False), ("s8", np.int8, True)])
def test_the_scheme_decides_the_activation_type_and_zero_points(net, scheme, dtype, symmetric):
    need("onnxruntime")
    store = GraphStore(net, SIZE)
    record = save_calibration(store.folder, varied_images(4), source="varied", scheme=scheme)
    assert record.tag.startswith(f"{scheme}-") and load_calibration(store.folder).scheme == scheme
    path = Int8Graphs(store).path(PieceKey.segments(0, 0))
    graph = onnx.load(str(path)).graph
    initializers = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
    zero_points = [initializers[n.input[2]] for n in graph.node if n.op_type == "QuantizeLinear" and len(n.input) > 2]
    assert zero_points and all(z.dtype == dtype for z in zero_points)
    if symmetric:
        assert all(not z.any() for z in zero_points)
    with pytest.raises(ConfigError, match="unknown int8 scheme 'x8'"):
        save_calibration(store.folder, varied_images(2), source="varied", scheme="x8")


def test_weights_take_7_bits_on_x86_cpus_without_vnni(tmp_path):
    from core.deploy.quantize import reduced_weight_range

    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n")
    assert reduced_weight_range.__wrapped__(str(info), "x86_64")
    info.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_vnni\n")
    assert not reduced_weight_range.__wrapped__(str(info), "x86_64")
    info.write_text("processor\t: 0\nflags\t\t: avx2 avx_vnni\n")
    assert not reduced_weight_range.__wrapped__(str(info), "AMD64")
    assert reduced_weight_range.__wrapped__(str(tmp_path / "missing"), "x86_64"), "unknown flags: the safe range"
    assert not reduced_weight_range.__wrapped__(str(info), "aarch64")


@pytest.mark.parametrize("reduced", [False, True])
def test_the_weight_range_is_in_the_graphs_and_the_tag(net, monkeypatch, reduced):
    """7-bit weights (no VNNI) lie in [-64, 64] and name their graphs apart; 8-bit ones reach 127."""
    need("onnxruntime")
    import core.deploy.quantize as quantize

    monkeypatch.setattr(quantize, "reduced_weight_range", lambda: reduced)
    store = GraphStore(net, SIZE)
    record = save_calibration(store.folder, varied_images(4), source="varied")
    assert record.tag.endswith("-w7") == reduced and ("7-bit" in record.method) == reduced
    graph = onnx.load(str(Int8Graphs(store).path(PieceKey.segments(0, 0)))).graph
    weights = [onnx.numpy_helper.to_array(t) for t in graph.initializer
               if t.data_type == onnx.TensorProto.INT8 and t.dims and np.prod(t.dims) > 16]
    assert weights
    largest = max(int(np.abs(w.astype(np.int32)).max()) for w in weights)
    assert largest <= 64 if reduced else largest == 127


def test_a_label_free_int8_calibration_is_scored_against_the_float_network(net, tmp_path):
    need("onnxruntime")
    from core.data.footage import open_unlabelled_calibration_set
    from core.search.calibration import FINAL_EXIT_REFERENCE, calibrate

    save_calibration(GraphStore(net, SIZE).folder, varied_images(4), source="varied")
    frames = write_image_folder(tmp_path / "frames", noise_frames(3, size=SIZE, seed=5), names="f{i}.png")
    dataset = open_unlabelled_calibration_set(frames, net, SIZE)
    pieces = get_backend("onnxruntime").pieces(net, SIZE, BackendOptions("int8"))
    cache = run_job(calibrate(net, dataset, torch.device("cpu"), weights_sha256="0" * 64,
                              reference=FINAL_EXIT_REFERENCE, pieces=pieces))
    assert cache.precision.startswith("int8-onnxruntime-")
    images = torch.stack([dataset[i]["image"] for i in range(len(dataset))])
    int8 = all_exit_labels(net, pieces, images)["final"].numpy()
    float32 = all_exit_labels(net, get_backend("torch").pieces(net, SIZE, BackendOptions()), images)["final"].numpy()
    assert (int8 != float32).any(), "int8 changes some labels (else this test could not tell the references apart)"
    final = cache.exit_ids.index("final")
    agreement = np.trace(cache.confusion[:, final].sum(axis=0)) / cache.confusion[:, final].sum()
    assert agreement == pytest.approx(float((int8 == float32).mean()), abs=1e-9)

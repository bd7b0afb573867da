"""Execution backends: parity with torch for every exit, the same exits taken, the graph cache, errors.

Tolerances (``Backend.logit_tolerance``): torch is the reference (0); ONNX Runtime and
OpenVINO fp32 within 1e-4 of torch's logits, relative to the logits' magnitude. A graph
backend's exits equal the ones the search predicts from torch's histograms, except for
an image whose confidence lies within float rounding of a threshold.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.data.classes import CLASS_SETS
from core.deploy.graph_store import GraphStore
from core.deploy.pieces import PieceKey, head_taps
from core.errors import ConfigError
from core.models import HeadConfig, convert_backbone
from core.runtime.backends import BACKENDS, BackendOptions, available_backends, default_backend, get_backend
from core.runtime.config import ExitConfig
from core.runtime.early_exit import EarlyExitRunner, all_exit_labels
from tests.runtime.test_early_exit import SIZE, three_exit_config, three_images, trained_like

GRAPH_BACKENDS = ["onnxruntime", "openvino"]
FAMILIES = ["resnet18", "mobilenet_v2", "mobilenet_v3_large", "lraspp_mobilenet_v3_large"]


def need(name: str) -> None:
    reason = BACKENDS.get(name).unavailable_reason()
    if reason:
        pytest.skip(f"backend {name}: {reason}")


@pytest.fixture(autouse=True)
def graph_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("MESS_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "graph-cache"))


@pytest.fixture(scope="module", params=FAMILIES)
def net(request):
    net = convert_backbone(request.param, CLASS_SETS.get("camvid"), heads=[HeadConfig("fcn", "64", 0)], seed=3).eval()
    return trained_like(net, three_images(torch.float32))


def torch_logits(net, x: torch.Tensor) -> dict[str, np.ndarray]:
    out, taps = {}, {}
    with torch.no_grad():
        features, done = x, -1
        for exit_id in sorted(net.exit_ids(), key=net.exit_segment):
            segment = net.exit_segment(exit_id)
            if segment > done:
                features = net.run_segments(features, done + 1, segment, taps)
                done = segment
            out[exit_id] = net.exit_logits(exit_id, features, taps).numpy()
    return out


@pytest.mark.parametrize("backend", GRAPH_BACKENDS)
def test_every_exit_matches_torch_within_the_stated_tolerance(net, backend):
    need(backend)
    pieces = get_backend(backend).pieces(net, SIZE, BackendOptions("fp32"))
    x = three_images(torch.float32)
    reference = torch_logits(net, x)
    tolerance = BACKENDS.get(backend).logit_tolerance["fp32"]
    state = pieces.start(x)
    for exit_id in sorted(net.exit_ids(), key=net.exit_segment):
        state = pieces.advance(state, net.exit_segment(exit_id))
        _, low = pieces.head(state, exit_id)
        scale = max(1.0, float(np.abs(reference[exit_id]).max()))
        difference = float(np.abs(low - reference[exit_id]).max()) / scale
        assert difference < tolerance, f"{backend} {exit_id}: logits differ from torch's by {difference:.2e}"
    labels = all_exit_labels(net, pieces, x)
    torch_labels = all_exit_labels(net, get_backend("torch").pieces(net, SIZE, BackendOptions()), x)
    for exit_id in net.exit_ids():
        agreement = (labels[exit_id] == torch_labels[exit_id]).float().mean().item()
        assert agreement > 0.999, f"{backend} {exit_id}: labels agree with torch on {agreement:.4f} of pixels"


def three_exit_setup():
    """A MobileNetV3 whose three test images leave at three different exits: (net, images, config)."""
    net = convert_backbone("mobilenet_v3_large", CLASS_SETS.get("camvid"), heads=[HeadConfig("fcn", "64", 0)],
                           seed=3).eval()
    x = three_images(torch.float32)
    net = trained_like(net, x)
    return net, x, three_exit_config(net, x)


@pytest.mark.parametrize("backend", GRAPH_BACKENDS)
def test_graph_backend_takes_the_exits_the_torch_histograms_predict(backend):
    need(backend)
    net, x, config = three_exit_setup()
    predicted = EarlyExitRunner(net, config).run(x)
    assert sorted(predicted.exit_index) == [0, 1, 2]
    measured = EarlyExitRunner(net, config, get_backend(backend).pieces(net, SIZE, BackendOptions())).run(x)
    assert measured.exit_index == predicted.exit_index
    np.testing.assert_allclose(measured.confidence, predicted.confidence, atol=2e-3)
    assert (measured.labels == predicted.labels).float().mean().item() > 0.999


@pytest.mark.parametrize("backend", GRAPH_BACKENDS)
def test_graphs_are_cached_on_disk_by_weights_and_size(backend, tmp_path):
    need(backend)
    net = convert_backbone("mobilenet_v2", CLASS_SETS.get("camvid"), heads=[HeadConfig("fcn", "64", 0)], seed=1).eval()
    first = GraphStore(net, SIZE, root=tmp_path)
    pieces = get_backend(backend).pieces(net, SIZE, BackendOptions())
    pieces.store = first
    EarlyExitRunner(net, ExitConfig.static("final"), pieces).run(three_images(torch.float32))
    assert first.exported == 2 and (first.folder / "segments-0-{}.onnx".format(len(net.segments) - 1)).is_file()
    again = GraphStore(net, SIZE, root=tmp_path)
    again.onnx(PieceKey.segments(0, len(net.segments) - 1))
    again.onnx(PieceKey.head("final"))
    assert again.exported == 0 and again.folder == first.folder
    other_size = GraphStore(net, (32, 48), root=tmp_path)
    assert other_size.folder != first.folder
    with torch.no_grad():
        next(net.heads.parameters()).add_(1.0)
    assert GraphStore(net, SIZE, root=tmp_path).folder != first.folder, "new weights need new graphs"
    assert not list(tmp_path.rglob("*.tmp")), "no temporary graph left behind"


def test_final_head_reads_the_taps_it_needs():
    net = convert_backbone("lraspp_mobilenet_v3_large", CLASS_SETS.get("camvid"), heads=[HeadConfig("fcn", "64", 0)])
    assert head_taps(net, "final") == sorted(net.taps) and head_taps(net, net.exit_ids()[0]) == []


def test_unknown_backend_names_the_available_ones():
    with pytest.raises(ConfigError, match=r"unknown backend 'tensorrt' \(available here: .*torch"):
        get_backend("tensorrt")
    assert "torch" in available_backends()
    assert default_backend() in available_backends()


def test_unavailable_backend_says_why(monkeypatch):
    monkeypatch.setattr(BACKENDS.get("onnxruntime"), "unavailable_reason", classmethod(lambda cls: "not installed"))
    with pytest.raises(ConfigError,
                       match=r"backend 'onnxruntime' is not available here \(not installed\); available: "):
        get_backend("onnxruntime")


def test_precision_a_backend_does_not_run_is_refused():
    net = convert_backbone("mobilenet_v2", CLASS_SETS.get("camvid"), heads=[HeadConfig("fcn", "64", 0)])
    with pytest.raises(ConfigError, match="backend 'torch' runs precision fp32, not 'bf16'"):
        get_backend("torch").pieces(net, SIZE, BackendOptions("bf16"))
    with pytest.raises(ConfigError, match="unknown precision 'fp8'"):
        BackendOptions("fp8")


@pytest.mark.parametrize("backend", GRAPH_BACKENDS)
def test_graph_pieces_refuse_images_of_another_size(backend):
    need(backend)
    net = convert_backbone("mobilenet_v2", CLASS_SETS.get("camvid"), heads=[HeadConfig("fcn", "64", 0)])
    pieces = get_backend(backend).pieces(net, SIZE, BackendOptions())
    with pytest.raises(ConfigError, match=r"built for 64x96 images \(HxW\), got 32x48; resize them all"):
        pieces.start(torch.zeros(1, 3, 32, 48))


def test_graphs_of_two_structures_with_the_same_weights_do_not_share_a_cache_folder(tmp_path):
    """mobilenet_v2 at output stride 8 and 16 has the same tensors (same seed): it once reused the other's graphs."""
    nets = [convert_backbone("mobilenet_v2", CLASS_SETS.get("camvid"), heads=[HeadConfig("fcn", "64", 0)],
                             options={"output_stride": stride}) for stride in (8, 16)]
    assert ({k: v.shape for k, v in nets[0].state_dict().items()}
            == {k: v.shape for k, v in nets[1].state_dict().items()})
    folders = {GraphStore(net, SIZE, root=tmp_path).folder for net in nets}
    assert len(folders) == 2


def test_an_unwritable_graph_cache_is_one_line_naming_it(tmp_path, monkeypatch):
    need("onnxruntime")
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder should be")
    monkeypatch.setenv("MESS_CACHE_DIR", str(blocked))
    net = convert_backbone("mobilenet_v2", CLASS_SETS.get("camvid"), heads=[HeadConfig("fcn", "64", 0)])
    with pytest.raises(ConfigError, match=r"cannot write the graph .*set MESS_CACHE_DIR to a writable folder"):
        EarlyExitRunner(net, ExitConfig.static("final"), get_backend("onnxruntime").pieces(net, SIZE, BackendOptions()))


@pytest.mark.parametrize("backend", GRAPH_BACKENDS)
def test_logits_a_caller_holds_survive_the_next_run_of_the_head(backend):
    """OpenVINO hands back its own output buffers (no copy): the head's logits must still be the caller's."""
    need(backend)
    net = convert_backbone("mobilenet_v2", CLASS_SETS.get("camvid"), heads=[HeadConfig("fcn", "64", 0)], seed=2).eval()
    pieces = get_backend(backend).pieces(net, SIZE, BackendOptions("fp32"))
    x = three_images(torch.float32)
    exit_id = sorted(net.exit_ids(), key=net.exit_segment)[0]
    state = pieces.advance(pieces.start(x[:1]), net.exit_segment(exit_id))
    _, first = pieces.head(state, exit_id)
    kept = first.copy()
    other = pieces.advance(pieces.start(x[1:2]), net.exit_segment(exit_id))
    _, second = pieces.head(other, exit_id)
    assert not np.array_equal(second, kept)
    np.testing.assert_array_equal(first, kept)


@pytest.mark.parametrize("backend", ["torch", *GRAPH_BACKENDS])
def test_labels_in_the_dtype_asked_for_equal_the_int64_ones(backend):
    need(backend)
    net, x, config = three_exit_setup()
    runner = EarlyExitRunner(net, config, get_backend(backend).pieces(net, SIZE, BackendOptions()))
    for images in (x, x[:1], x[2:]):     # images leaving at three exits, and one image alone
        wide = runner.run(images)
        narrow = runner.run(images, labels_dtype=torch.uint8)
        assert wide.labels.dtype == torch.int64 and narrow.labels.dtype == torch.uint8
        assert narrow.exit_index == wide.exit_index
        assert torch.equal(narrow.labels.to(torch.int64), wide.labels)

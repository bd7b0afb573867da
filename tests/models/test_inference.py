"""The inference form (BatchNorm folded, channels-last): same outputs, faster, never saved."""

from __future__ import annotations

import copy

import pytest
import torch

from core.errors import MessError
from core.models import load_model, save_model
from core.models.inference import is_inference_optimized, optimize_for_inference
from core.runtime.config import ExitConfig
from core.runtime.early_exit import EarlyExitRunner

from .conftest import image, make_tiny_net


def _batchnorms_left(net: torch.nn.Module) -> int:
    return sum(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())


@pytest.mark.parametrize("backbone", ["mobilenet_v3_large", "mobilenet_v2", "resnet18"])
def test_every_exit_gives_the_same_logits_after_folding(backbone):
    net = make_tiny_net(backbone, points=None)
    fast = optimize_for_inference(copy.deepcopy(net))
    x = image(batch=2)
    with torch.no_grad():
        ref, out = net(x), fast(x)
    assert set(ref) == set(out)
    for exit_id in ref:
        scale = ref[exit_id].abs().max().item()
        assert torch.allclose(out[exit_id], ref[exit_id], atol=1e-4 * max(scale, 1.0)), exit_id
    assert _batchnorms_left(fast) < _batchnorms_left(net)
    assert is_inference_optimized(fast) and not is_inference_optimized(net)


def test_every_conv_batchnorm_pair_of_mobilenet_v3_is_folded():
    fast = optimize_for_inference(make_tiny_net())
    assert _batchnorms_left(fast) == 0


def test_the_runtime_takes_the_same_exits_with_the_folded_network():
    net = make_tiny_net()
    fast = optimize_for_inference(copy.deepcopy(net))
    config = ExitConfig(net.exit_ids()[:2] + ["final"], th_pix=[0.5] * 3, th_img=[0.3] * 3)
    x = image(seed=3, batch=4)
    a, b = EarlyExitRunner(net, config).run(x), EarlyExitRunner(fast, config).run(x)
    assert a.exit_ids == b.exit_ids
    assert (a.labels == b.labels).float().mean().item() > 0.999


def test_a_folded_network_is_never_saved(tmp_path):
    fast = optimize_for_inference(make_tiny_net())
    with pytest.raises(MessError, match="inference"):
        save_model(fast, tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_load_model_for_inference(tmp_path):
    save_model(make_tiny_net(), tmp_path / "m")
    net, _ = load_model(tmp_path / "m", inference=True)
    plain, _ = load_model(tmp_path / "m")
    assert is_inference_optimized(net) and not is_inference_optimized(plain)
    assert optimize_for_inference(net) is net, "optimising twice changes nothing"


def test_half_precision_storage_halves_the_file_and_loads_as_float32(tmp_path):
    net = make_tiny_net()
    save_model(net, tmp_path / "full")
    save_model(net, tmp_path / "half", half=True)
    full, half = ((tmp_path / "full" / "weights.safetensors").stat().st_size,
                  (tmp_path / "half" / "weights.safetensors").stat().st_size)
    assert half < 0.55 * full
    loaded, _ = load_model(tmp_path / "half")
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    x = image(seed=5)
    with torch.no_grad():
        a, b = net(x)["final"], loaded(x)["final"]
    assert (a.argmax(1) == b.argmax(1)).float().mean().item() > 0.99

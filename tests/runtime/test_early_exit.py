"""Real early exit, for every registered backbone.

The runtime's output for an image equals the training forward's output of the
exit it took, each image of a batch leaves on its own, and forward hooks show
that segments after an image's exit never ran for it.

The every-backbone check runs in float64: randomly initialised deep ResNets
have logits in the thousands, where float32 kernels chosen per batch size
differ by more than 1e-5 whatever the routing does. A float32 check on the
MobileNet networks keeps the bound relative to the logits' magnitude.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.data.classes import CLASS_SETS
from core.models import BACKBONES, HeadConfig, convert_backbone
from core.runtime.config import ExitConfig
from core.runtime.early_exit import EarlyExitRunner
from core.runtime.policy import PolicySettings, confidence_histograms, image_confidence

SIZE = (64, 96)


def three_images(dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """A flat image, a smooth gradient and noise: different confidence maps on any network."""
    torch.manual_seed(1)
    flat = torch.full((3, *SIZE), 0.3)
    ramp = torch.linspace(-2, 2, SIZE[1]).expand(3, *SIZE).clone()
    noise = torch.randn(3, *SIZE) * 2
    return torch.stack([flat, ramp, noise]).to(dtype)


def exit_histograms(net, x: torch.Tensor, exit_id: str, policy: PolicySettings) -> np.ndarray:
    taps: dict = {}
    features = net.run_segments(x, 0, net.exit_segment(exit_id), taps)
    logits = net.exit_logits(exit_id, features, taps)
    return confidence_histograms(logits, SIZE, net.exit_stride(exit_id), policy)


def splitting_threshold(histograms: np.ndarray) -> tuple[float, float]:
    """(th_pix, th_img) under which exactly the most confident image leaves."""
    grid = np.linspace(0.0, 1.0, 256)
    curves = np.sort(image_confidence(histograms, grid), axis=0)
    if len(curves) == 1:
        return 0.5, float(curves[0, 128])
    gaps = curves[-1] - curves[-2]
    best = int(np.argmax(gaps))
    assert gaps[best] > 0, "no pixel threshold separates the images"
    return float(grid[best]), float((curves[-1, best] + curves[-2, best]) / 2)


class SegmentCounter:
    """Counts the images each segment processed, through forward hooks."""

    def __init__(self, net) -> None:
        self.images = [0] * len(net.segments)
        self.handles = [s.register_forward_hook(self._hook(k)) for k, s in enumerate(net.segments)]

    def _hook(self, k):
        def hook(module, inputs, output):
            self.images[k] += inputs[0].shape[0]
        return hook

    def close(self) -> None:
        for handle in self.handles:
            handle.remove()


def trained_like(net, x: torch.Tensor):
    """Give a random network a trained network's statistics, so that exits tell images apart.

    BatchNorm running statistics are re-estimated on varied inputs (the defaults, mean 0 and
    variance 1, make deep random features the same for every image), then every exit's
    classifier is scaled so its logits spread with a std of about 4 (random heads give nearly
    uniform softmax maps).
    """
    generator = torch.Generator().manual_seed(5)
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None
    net.train()
    with torch.no_grad():
        for scale in (0.5, 1.0, 2.0):
            net(torch.randn(4, 3, *SIZE, generator=generator, dtype=x.dtype) * scale)
    net.eval()
    with torch.no_grad():
        outputs = net(x)
        for exit_id, logits in outputs.items():
            classifier = [m for m in net.head_module(exit_id).modules() if isinstance(m, torch.nn.Conv2d)][-1]
            spread = logits.std().item()
            if spread > 0:
                classifier.weight.mul_(4.0 / spread)
                if classifier.bias is not None:
                    classifier.bias.mul_(4.0 / spread)
    return net


@pytest.fixture(scope="module", params=BACKBONES.names())
def net(request):
    net = convert_backbone(request.param, CLASS_SETS.get("camvid"), heads=[HeadConfig("fcn", "64", 0)], seed=3)
    return trained_like(net.double().eval(), three_images())


def three_exit_config(net, x: torch.Tensor) -> ExitConfig:
    """A cascade (an early exit, a middle one, final) whose thresholds send each of three images elsewhere."""
    policy = PolicySettings()
    early = net.exit_ids()[:-1]
    first, second = early[0], early[len(early) // 2]
    with torch.no_grad():
        histograms = exit_histograms(net, x, first, policy)
        th_pix_1, th_img_1 = splitting_threshold(histograms)
        stays = torch.from_numpy(image_confidence(histograms, th_pix_1) < th_img_1)
        th_pix_2, th_img_2 = splitting_threshold(exit_histograms(net, x[stays], second, policy))
    return ExitConfig([first, second, "final"], [th_pix_1, th_pix_2, 0.5], [th_img_1, th_img_2, 0.5])


def check_routing(net, x: torch.Tensor, tolerance: float, relative: bool = False) -> None:
    config = three_exit_config(net, x)

    counter = SegmentCounter(net)
    try:
        result = EarlyExitRunner(net, config).run(x, keep_logits=True)
    finally:
        counter.close()
    assert sorted(result.exit_index) == [0, 1, 2], "each image should leave at a different exit"

    reference = net(x)
    for i, exit_id in enumerate(result.exit_ids):
        difference = (result.logits[i] - reference[exit_id][i]).abs().max().item()
        if relative:
            difference /= max(1.0, reference[exit_id][i].abs().max().item())
        assert difference < tolerance, f"{exit_id}: runtime differs from the training forward by {difference}"
        assert torch.equal(result.labels[i], result.logits[i].argmax(dim=0))

    # Segment k ran exactly for the images whose exit lies at or after it.
    exit_segments = [net.exit_segment(e) for e in result.exit_ids]
    expected = [sum(1 for s in exit_segments if s >= k) for k in range(len(net.segments))]
    assert counter.images == expected


def test_each_image_leaves_on_its_own_with_training_forward_outputs(net):
    check_routing(net, three_images(), 1e-5)


@pytest.mark.parametrize("backbone", ["mobilenet_v3_large", "lraspp_mobilenet_v3_large", "mobilenet_v2"])
def test_float32_runtime_matches_training_forward(backbone):
    net = convert_backbone(backbone, CLASS_SETS.get("camvid"), heads=[HeadConfig("fcn", "64", 0)], seed=3).eval()
    net = trained_like(net, three_images(torch.float32))
    check_routing(net, three_images(torch.float32), 1e-5, relative=True)


def test_static_early_exit_never_runs_the_rest_of_the_backbone(net):
    shallow = net.exit_ids()[0]
    counter = SegmentCounter(net)
    try:
        result = EarlyExitRunner(net, ExitConfig.static(shallow)).run(three_images())
    finally:
        counter.close()
    cut = net.exit_segment(shallow)
    assert result.exit_ids == [shallow] * 3
    assert all(n == 3 for n in counter.images[: cut + 1])
    assert all(n == 0 for n in counter.images[cut + 1:])

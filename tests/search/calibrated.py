"""A tiny model calibrated on eight CamVid-style images: what the search tests search."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from core.data import CLASS_SETS, eval_transform, open_dataset
from core.jobs import run_job
from core.models import HeadConfig, convert_backbone
from core.profile.costs import measure_costs
from core.search.calibration import calibrate
from core.search.search import SearchSpace, search
from tests.data.builders import write_camvid_pairs
from tests.runtime.test_early_exit import trained_like

SIZE = (64, 96)
SPACE = SearchSpace(max_early=2, th_pix=(0.3, 0.5, 0.7, 0.9), th_img=(0.2, 0.5, 0.8, 0.95))


def model():
    net = convert_backbone("mobilenet_v3_large", CLASS_SETS.get("camvid"),
                           [HeadConfig("fcn", "64", 0), HeadConfig("fcn", "half", 1, rdi=True)],
                           points=["features.3", "features.6", "features.10"], seed=4).eval()
    images = torch.rand(3, 3, *SIZE) * 4 - 2
    return trained_like(net, images)


def calibration_dataset(root: Path):
    """Eight CamVid-style images in ``root``: sky, road, a car; different layouts and noise per image."""
    rng = np.random.default_rng(0)
    samples = []
    for i in range(8):
        label = np.full(SIZE, 3, np.uint8)
        horizon = 16 + 4 * i
        label[:horizon] = 0
        label[horizon + 4: horizon + 14, 8 * i: 8 * i + 30] = 8
        label[-2:] = 11
        palette = {0: (128, 128, 128), 3: (128, 64, 128), 8: (64, 0, 128), 11: (0, 0, 0)}
        image = np.zeros((*SIZE, 3), np.uint8)
        for value, colour in palette.items():
            image[label == value] = colour
        image = np.clip(image + rng.normal(0, 10 + 8 * i, image.shape), 0, 255).astype(np.uint8)
        samples.append((f"{i:03d}.png", image[..., ::-1], label))
    write_camvid_pairs(root, samples)
    net = model()
    return open_dataset(root, "val", transform=eval_transform(net.spec.mean, net.spec.std))


def calibrated(dataset):
    """(net, cache, costs, result) for ``dataset``."""
    net = model()
    cache = run_job(calibrate(net, dataset, torch.device("cpu"), weights_sha256="test"))
    costs = measure_costs(net, SIZE, latency=True, warmup=1, repeats=2)
    return net, cache, costs, search(net, cache, costs, SPACE)

"""Photometric and occlusion augmentation presets for training (`mess train --augment NAME`).

A preset is a factory ``(ignore_index) -> list of transforms`` that runs on the uint8 crop,
after the random scale, crop and flip and before ``Normalize``. ``standard`` is what every
earlier run trained with (colour jitter 0.2); ``strong`` adds the candidates meant to carry a
model across drives and lighting (wider jitter, blur, cut-out), to be chosen by the held-out
folds, not assumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import cv2
import numpy as np

from core.data.transforms import (ColourJitter, Compose, Mask, Normalize, RandomHorizontalFlip, RandomScaleCrop,
                                  ToTensor, Transform)
from core.errors import ConfigError
from core.registry import Registry

AUGMENTATIONS: Registry[Callable[[int], list[Transform]]] = Registry("augmentation")


@dataclass(frozen=True)
class GaussianBlur:
    """With ``probability``, blur the image with a Gaussian of sigma drawn from ``sigma`` (pixels)."""

    probability: float = 0.3
    sigma: tuple[float, float] = (0.3, 1.5)

    def __post_init__(self) -> None:
        if not 0 <= self.probability <= 1:
            raise ConfigError(f"GaussianBlur probability {self.probability} must be in 0..1")
        if not 0 < self.sigma[0] <= self.sigma[1]:
            raise ConfigError(f"GaussianBlur sigma {self.sigma}: need 0 < min <= max")

    def __call__(self, image: np.ndarray, mask: Mask, rng: np.random.Generator) -> tuple[np.ndarray, Mask]:
        if rng.random() >= self.probability:
            return image, mask
        sigma = float(rng.uniform(*self.sigma))
        return cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, sigmaY=sigma), mask


@dataclass(frozen=True)
class Cutout:
    """With ``probability``, grey out one box whose sides are ``side`` (fractions) of the image's;
    the box's labels become ``ignore_index``, so nothing is learnt from the grey pixels."""

    ignore_index: int
    probability: float = 0.5
    side: tuple[float, float] = (0.1, 0.4)
    fill: tuple[int, int, int] = (124, 116, 104)  # the ImageNet mean in 8 bits (zero after a model normalised with it)

    def __post_init__(self) -> None:
        if not 0 <= self.probability <= 1:
            raise ConfigError(f"Cutout probability {self.probability} must be in 0..1")
        if not 0 < self.side[0] <= self.side[1] <= 1:
            raise ConfigError(f"Cutout side {self.side}: need 0 < min <= max <= 1")

    def __call__(self, image: np.ndarray, mask: Mask, rng: np.random.Generator) -> tuple[np.ndarray, Mask]:
        if rng.random() >= self.probability:
            return image, mask
        h, w = image.shape[:2]
        bh = max(1, int(round(h * rng.uniform(*self.side))))
        bw = max(1, int(round(w * rng.uniform(*self.side))))
        top, left = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
        image = image.copy()
        image[top:top + bh, left:left + bw] = np.asarray(self.fill, dtype=image.dtype)
        if mask is not None:
            mask = mask.copy()
            mask[top:top + bh, left:left + bw] = self.ignore_index
        return image, mask


@AUGMENTATIONS.register("standard")
def standard(ignore_index: int) -> list[Transform]:
    return [ColourJitter()]


@AUGMENTATIONS.register("strong")
def strong(ignore_index: int) -> list[Transform]:
    return [ColourJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.05), GaussianBlur(),
            Cutout(ignore_index)]


def train_transform(
    crop: tuple[int, int],
    mean: Sequence[float],
    std: Sequence[float],
    ignore_index: int,
    scale: tuple[float, float] = (0.5, 2.0),
    augmentation: str = "standard",
) -> Compose:
    """Random scale and crop, flip, the ``augmentation`` preset, normalise."""
    return Compose([
        RandomScaleCrop(crop, scale, ignore_index),
        RandomHorizontalFlip(),
        *AUGMENTATIONS.get(augmentation)(ignore_index),
        Normalize(tuple(mean), tuple(std)),
        ToTensor(),
    ])

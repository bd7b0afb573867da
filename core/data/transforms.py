"""Joint image/mask transforms (OpenCV + numpy).

A transform is a callable ``(image, mask, rng) -> (image, mask)``: the image is HxWx3 uint8 RGB
(float32 after ``Normalize``), the mask HxW integer or None (unlabelled images; it passes through
as None). Every random choice is drawn from ``rng``, so a seeded generator replays a run exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Sequence

import cv2
import numpy as np
import torch

from core.errors import ConfigError

Mask = np.ndarray | None
Transform = Callable[[np.ndarray, Mask, np.random.Generator], tuple[np.ndarray, Mask]]

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)

# dtypes cv2.resize accepts for INTER_NEAREST on single-channel arrays.
_CV2_MASK_DTYPES = (np.uint8, np.int8, np.uint16, np.int16, np.int32)
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _check_size(size: Sequence[int], what: str) -> tuple[int, int]:
    if len(size) != 2 or not all(isinstance(v, (int, np.integer)) and v > 0 for v in size):
        raise ConfigError(f"{what} {tuple(size)!r} must be two positive integers (h, w)")
    return int(size[0]), int(size[1])


def _resize_mask(mask: np.ndarray, h: int, w: int) -> np.ndarray:
    if mask.dtype not in _CV2_MASK_DTYPES:
        mask = mask.astype(np.int32)
    return cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST)


def _resize(image: np.ndarray, mask: Mask, h: int, w: int) -> tuple[np.ndarray, Mask]:
    if image.shape[:2] == (h, w):
        return image, mask
    image = cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)
    return image, None if mask is None else _resize_mask(mask, h, w)


def _dtype_holding(mask: np.ndarray, value: int) -> np.ndarray:
    info = np.iinfo(mask.dtype)
    return mask if info.min <= value <= info.max else mask.astype(np.int32)


@dataclass(frozen=True)
class Resize:
    """Resize to ``size`` (h, w): image bilinear, mask nearest."""

    size: tuple[int, int]

    def __post_init__(self) -> None:
        object.__setattr__(self, "size", _check_size(self.size, "Resize size"))

    def __call__(self, image: np.ndarray, mask: Mask, rng: np.random.Generator) -> tuple[np.ndarray, Mask]:
        return _resize(image, mask, *self.size)


@dataclass(frozen=True)
class RandomScaleCrop:
    """Scale by a random factor in ``scale``, then take a random ``crop`` (h, w).

    When the scaled image is smaller than the crop it is padded at the bottom/right with 0
    (image) and ``ignore_index`` (mask).
    """

    crop: tuple[int, int]
    scale: tuple[float, float] = (0.5, 2.0)
    ignore_index: int = 255

    def __post_init__(self) -> None:
        object.__setattr__(self, "crop", _check_size(self.crop, "RandomScaleCrop crop"))
        lo, hi = self.scale
        if not 0 < lo <= hi:
            raise ConfigError(f"RandomScaleCrop scale {tuple(self.scale)!r} must satisfy 0 < lo <= hi")

    def __call__(self, image: np.ndarray, mask: Mask, rng: np.random.Generator) -> tuple[np.ndarray, Mask]:
        s = rng.uniform(*self.scale)
        h, w = image.shape[:2]
        image, mask = _resize(image, mask, max(1, round(h * s)), w=max(1, round(w * s)))
        ch, cw = self.crop
        pad_h, pad_w = max(ch - image.shape[0], 0), max(cw - image.shape[1], 0)
        if pad_h or pad_w:
            image = np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), constant_values=0)
            if mask is not None:
                mask = np.pad(_dtype_holding(mask, self.ignore_index), ((0, pad_h), (0, pad_w)),
                              constant_values=self.ignore_index)
        y = int(rng.integers(0, image.shape[0] - ch + 1))
        x = int(rng.integers(0, image.shape[1] - cw + 1))
        image = image[y:y + ch, x:x + cw]
        return image, None if mask is None else mask[y:y + ch, x:x + cw]


@dataclass(frozen=True)
class RandomHorizontalFlip:
    p: float = 0.5

    def __call__(self, image: np.ndarray, mask: Mask, rng: np.random.Generator) -> tuple[np.ndarray, Mask]:
        if rng.random() >= self.p:
            return image, mask
        image = np.ascontiguousarray(image[:, ::-1])
        return image, None if mask is None else np.ascontiguousarray(mask[:, ::-1])


@dataclass(frozen=True)
class ColourJitter:
    """Random brightness, contrast and saturation factors in [1-x, 1+x], hue shift in [-hue, hue] turns.

    Works on uint8 RGB (apply before ``Normalize``); the mask is untouched.
    """

    brightness: float = 0.2
    contrast: float = 0.2
    saturation: float = 0.2
    hue: float = 0.02

    def __post_init__(self) -> None:
        for name in ("brightness", "contrast", "saturation"):
            if getattr(self, name) < 0:
                raise ConfigError(f"ColourJitter {name} {getattr(self, name)} must be >= 0")
        if not 0 <= self.hue <= 0.5:
            raise ConfigError(f"ColourJitter hue {self.hue} must be in 0..0.5")

    def __call__(self, image: np.ndarray, mask: Mask, rng: np.random.Generator) -> tuple[np.ndarray, Mask]:
        if image.dtype != np.uint8:
            raise ValueError(f"ColourJitter expects a uint8 image, got {image.dtype} (put it before Normalize)")
        b = rng.uniform(max(0.0, 1 - self.brightness), 1 + self.brightness)
        c = rng.uniform(max(0.0, 1 - self.contrast), 1 + self.contrast)
        s = rng.uniform(max(0.0, 1 - self.saturation), 1 + self.saturation)
        h = rng.uniform(-self.hue, self.hue)
        out = image.astype(np.float32)
        out = np.clip(out * b, 0, 255)
        mean = float((out @ _LUMA).mean())
        out = np.clip((out - mean) * c + mean, 0, 255)
        grey = (out @ _LUMA)[..., None]
        out = np.clip((out - grey) * s + grey, 0, 255)
        if h != 0.0:
            hsv = cv2.cvtColor(out * (1 / 255), cv2.COLOR_RGB2HSV)  # float input: H in degrees [0, 360)
            hsv[..., 0] = np.mod(hsv[..., 0] + h * 360.0, 360.0)
            out = np.clip(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB) * 255, 0, 255)
        return np.rint(out).astype(np.uint8), mask


@dataclass(frozen=True)
class Normalize:
    """(x - mean) / std per channel, mean/std given for input in [0, 1]; uint8 input is scaled by 1/255 first.

    The result is float32 HxWx3.
    """

    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    _scale: np.ndarray = field(init=False, repr=False, compare=False)
    _offset: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        mean, std = tuple(float(v) for v in self.mean), tuple(float(v) for v in self.std)
        if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
            raise ConfigError(f"Normalize mean {mean} / std {std}: need three values each, std > 0")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)
        object.__setattr__(self, "_scale", (1.0 / np.asarray(std)).astype(np.float32))
        object.__setattr__(self, "_offset", (-np.asarray(mean) / np.asarray(std)).astype(np.float32))

    def uint8_affine(self) -> tuple[np.ndarray, np.ndarray]:
        """(scale, offset), float32 per channel: a uint8 image normalises to ``x * scale + offset``."""
        return self._scale / 255.0, self._offset

    def __call__(self, image: np.ndarray, mask: Mask, rng: np.random.Generator) -> tuple[np.ndarray, Mask]:
        scale = self._scale / 255.0 if image.dtype == np.uint8 else self._scale
        out = image.astype(np.float32)
        out *= scale
        out += self._offset
        return out, mask


@dataclass(frozen=True)
class ToTensor:
    """Image -> float32 tensor 3xHxW (uint8 scaled to [0, 1]); mask -> int64 tensor HxW.

    Tensors already converted pass through unchanged.
    """

    def __call__(
        self, image: np.ndarray | torch.Tensor, mask: np.ndarray | torch.Tensor | None, rng: np.random.Generator
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if not isinstance(image, torch.Tensor):
            if image.ndim != 3:
                raise ValueError(f"ToTensor expects an HxWxC image, got shape {image.shape}")
            array = image.astype(np.float32) * np.float32(1 / 255) if image.dtype == np.uint8 else image
            image = torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1), dtype=np.float32))
        if mask is not None and not isinstance(mask, torch.Tensor):
            mask = torch.from_numpy(np.ascontiguousarray(mask, dtype=np.int64))
        return image, mask


@dataclass
class Compose:
    transforms: list[Transform]

    def __call__(self, image: np.ndarray, mask: Mask, rng: np.random.Generator) -> tuple[Any, Any]:
        """numpy in; numpy or tensors out, depending on whether the list ends with ToTensor."""
        for t in self.transforms:
            image, mask = t(image, mask, rng)
        return image, mask


def eval_transform(mean: Sequence[float], std: Sequence[float], size: tuple[int, int] | None = None) -> Compose:
    resize: list[Transform] = [Resize(size)] if size is not None else []
    return Compose([*resize, Normalize(tuple(mean), tuple(std)), ToTensor()])


_NO_RANDOMNESS = np.random.default_rng(0)  # eval transforms draw nothing


@lru_cache(maxsize=8)
def _cached_normalize(mean: tuple[float, ...], std: tuple[float, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalize's uint8 scale and offset as (3, 1, 1) float32 tensors."""
    scale, offset = Normalize(mean, std).uint8_affine()
    return torch.from_numpy(scale).view(3, 1, 1), torch.from_numpy(offset).view(3, 1, 1)


def preprocess_frame(
    image_rgb_uint8: np.ndarray,
    mean: Sequence[float],
    std: Sequence[float],
    size: tuple[int, int] | None = None,
) -> torch.Tensor:
    """A live video frame (HxWx3 uint8 RGB) -> float32 tensor 3xHxW, equal to ``eval_transform``'s.

    The same two float32 operations as ``Normalize`` (times scale/255, plus offset), done in
    torch on the frame's own HxWxC layout: the tensor comes out with channels-last strides
    (what the inference form of a model wants) and about twice as fast as the numpy path.
    """
    if image_rgb_uint8.ndim != 3 or image_rgb_uint8.shape[2] != 3 or image_rgb_uint8.dtype != np.uint8:
        raise ValueError(
            f"preprocess_frame expects an HxWx3 uint8 RGB frame, got shape {image_rgb_uint8.shape}"
            f" of {image_rgb_uint8.dtype}"
        )
    if size is not None:
        image_rgb_uint8, _ = Resize(tuple(size))(image_rgb_uint8, None, _NO_RANDOMNESS)
    scale, offset = _cached_normalize(tuple(float(v) for v in mean), tuple(float(v) for v in std))
    x = torch.from_numpy(np.ascontiguousarray(image_rgb_uint8)).permute(2, 0, 1).float()
    return x.mul_(scale).add_(offset)

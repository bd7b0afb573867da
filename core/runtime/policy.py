"""The exit policy of method section 4.

For one exit's logits: upsample to the *policy resolution* (choice: a quarter
of the input size in each direction), softmax, per-pixel confidence (top-1
probability or 1 - normalised entropy), quantised to 8 bits (choice: steps of
1/255). Edge smoothing: pixels where the predicted label changes, dilated by a
few pixels, take the median confidence of a window of about 2 x the exit's
output stride (in input pixels). The result is summarised as a 256-bin
histogram per image; the image confidence for any pixel threshold is the
fraction of pixels at or above it, read off that histogram. The search cache
stores the same histograms, so its predicted exits are the runtime's exactly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from core.errors import ConfigError
from core.models.heads import class_labels
from core.registry import Registry

LEVELS = 256


def top1_confidence(probs: torch.Tensor) -> torch.Tensor:
    return probs.max(dim=1).values


def entropy_confidence(probs: torch.Tensor) -> torch.Tensor:
    entropy = -(probs * torch.log(probs.clamp_min(1e-12))).sum(dim=1)
    return 1.0 - entropy / float(np.log(probs.shape[1]))


CONFIDENCE_MEASURES: Registry[Callable[[torch.Tensor], torch.Tensor]] = Registry("confidence measure")
CONFIDENCE_MEASURES.add("top1", top1_confidence)
CONFIDENCE_MEASURES.add("entropy", entropy_confidence)


@dataclass(frozen=True)
class PolicySettings:
    confidence: str = "top1"
    edge_smoothing: bool = True
    scale: float = 0.25
    edge_dilation: int = 2

    def __post_init__(self) -> None:
        CONFIDENCE_MEASURES.get(self.confidence)
        if not 0 < self.scale <= 1:
            raise ConfigError(f"policy scale must be in (0, 1], got {self.scale}")
        if self.edge_dilation < 0:
            raise ConfigError(f"edge dilation must be >= 0, got {self.edge_dilation}")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "PolicySettings":
        return cls(**{k: data[k] for k in ("confidence", "edge_smoothing", "scale", "edge_dilation") if k in data})

    def policy_size(self, input_hw: tuple[int, int]) -> tuple[int, int]:
        return max(1, round(input_hw[0] * self.scale)), max(1, round(input_hw[1] * self.scale))

    def median_window(self, stride: int) -> int:
        """Odd window of about 2 x output stride input pixels, at policy resolution."""
        return max(3, int(2 * stride * self.scale)) | 1


def quantise(th_pix: float | np.ndarray) -> np.ndarray:
    """Pixel threshold -> 8-bit confidence level (same rounding as the confidences)."""
    return np.clip(np.rint(np.asarray(th_pix, dtype=np.float64) * (LEVELS - 1)), 0, LEVELS - 1).astype(np.int64)


def label_edges(labels: np.ndarray) -> np.ndarray:
    """Pixels whose label differs from a 4-neighbour's."""
    edges = np.zeros(labels.shape, dtype=bool)
    horizontal = labels[:, :-1] != labels[:, 1:]
    vertical = labels[:-1, :] != labels[1:, :]
    edges[:, :-1] |= horizontal
    edges[:, 1:] |= horizontal
    edges[:-1, :] |= vertical
    edges[1:, :] |= vertical
    return edges


def smooth_edges(confidence: np.ndarray, labels: np.ndarray, stride: int, settings: PolicySettings) -> np.ndarray:
    """Replace the confidence on (dilated) label edges by the neighbourhood median."""
    edges = label_edges(labels).astype(np.uint8)
    if not edges.any():
        return confidence
    if settings.edge_dilation > 0:
        size = 2 * settings.edge_dilation + 1
        edges = cv2.dilate(edges, np.ones((size, size), np.uint8))
    median = cv2.medianBlur(confidence, settings.median_window(stride))
    out = confidence.copy()
    mask = edges.astype(bool)
    out[mask] = median[mask]
    return out


@torch.no_grad()
def confidence_maps(logits: torch.Tensor, input_hw: tuple[int, int], stride: int,
                    settings: PolicySettings) -> np.ndarray:
    """8-bit (smoothed) pixel confidence maps, (B, h, w) uint8 at policy resolution."""
    size = settings.policy_size(input_hw)
    probs = F.interpolate(logits.float(), size=size, mode="bilinear", align_corners=False).softmax(dim=1)
    confidence = CONFIDENCE_MEASURES.get(settings.confidence)(probs)
    conf_u8 = (confidence * (LEVELS - 1)).round().clamp(0, LEVELS - 1).to(torch.uint8).cpu().numpy()
    if not settings.edge_smoothing:
        return conf_u8
    labels = class_labels(probs).to(torch.int32).cpu().numpy()
    return np.stack([smooth_edges(c, l, stride, settings) for c, l in zip(conf_u8, labels)])


def confidence_histograms(logits: torch.Tensor, input_hw: tuple[int, int], stride: int,
                          settings: PolicySettings) -> np.ndarray:
    """(B, 256) int64 histograms of the smoothed 8-bit pixel confidence."""
    maps = confidence_maps(logits, input_hw, stride, settings)
    return np.stack([np.bincount(m.ravel(), minlength=LEVELS) for m in maps]).astype(np.int64)


def image_confidence(histograms: np.ndarray, th_pix: float | np.ndarray) -> np.ndarray:
    """Fraction of pixels whose confidence reaches ``th_pix``, from (..., 256) histograms.

    With an array of thresholds, the result gains a trailing axis (one value per threshold).
    """
    tail = np.cumsum(histograms[..., ::-1], axis=-1)[..., ::-1]
    total = histograms.sum(axis=-1)
    levels = quantise(th_pix)
    return tail[..., levels] / (total[..., None] if levels.ndim else total)

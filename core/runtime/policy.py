"""The exit policy of method section 4, as the engine sees it.

The policy itself (upsampling to the policy resolution, 8-bit confidence, edge
smoothing, histograms, image confidence) lives in ``core.runtime.host``, numpy
and OpenCV only, so that every execution backend and every exported runner
routes with the same code. This module adds the validated settings
(``PolicySettings``), the registry of confidence measures, and wrappers that take
torch tensors or numpy arrays. The search cache stores the same histograms, so
its predicted exits are the runtime's exactly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from core.errors import ConfigError
from core.registry import Registry
from core.runtime import host
from core.runtime.host import LEVELS, image_confidence, label_edges, quantise  # noqa: F401 - re-exported

MAX_EDGE_DILATION = 32  # pixels at policy resolution: far more than any stride needs

CONFIDENCE_MEASURES: Registry[str] = Registry("confidence measure")
for _measure in host.MEASURES:
    CONFIDENCE_MEASURES.add(_measure, _measure)


@dataclass(frozen=True)
class PolicySettings:
    confidence: str = "top1"
    edge_smoothing: bool = True
    scale: float = 0.25
    edge_dilation: int = 2

    def __post_init__(self) -> None:
        if not isinstance(self.confidence, str):
            raise ConfigError(f"policy confidence must be a name (top1 or entropy), got {self.confidence!r}")
        CONFIDENCE_MEASURES.get(self.confidence)
        if not isinstance(self.edge_smoothing, bool):
            raise ConfigError(f"policy edge_smoothing must be true or false, got {self.edge_smoothing!r}")
        if isinstance(self.scale, bool) or not isinstance(self.scale, (int, float)) or not 0 < self.scale <= 1:
            raise ConfigError(f"policy scale must be a number in (0, 1], got {self.scale!r}")
        if isinstance(self.edge_dilation, bool) or not isinstance(self.edge_dilation, int) \
                or not 0 <= self.edge_dilation <= MAX_EDGE_DILATION:
            raise ConfigError(f"policy edge_dilation must be a whole number 0..{MAX_EDGE_DILATION}, "
                              f"got {self.edge_dilation!r}")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "PolicySettings":
        known = ("confidence", "edge_smoothing", "scale", "edge_dilation")
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ConfigError(f"unknown policy setting '{unknown[0]}' (known: {', '.join(known)})")
        return cls(**{k: data[k] for k in known if k in data})

    def host_kwargs(self) -> dict:
        """The keyword settings of ``core.runtime.host.confidence_maps``."""
        return {"measure": self.confidence, "edge_smoothing": bool(self.edge_smoothing), "scale": float(self.scale),
                "edge_dilation": int(self.edge_dilation)}

    def policy_size(self, input_hw: tuple[int, int]) -> tuple[int, int]:
        return host.policy_size(input_hw, self.scale)

    def median_window(self, stride: int) -> int:
        """Odd window of about 2 x output stride input pixels, at policy resolution."""
        return host.median_window(stride, self.scale)


def as_array(logits: Any) -> np.ndarray:
    """Logits as a contiguous float32 numpy array (a torch tensor is moved to the CPU)."""
    if hasattr(logits, "detach"):
        logits = logits.detach().float().cpu().contiguous().numpy()
    return np.ascontiguousarray(logits, dtype=np.float32)


def smooth_edges(confidence: np.ndarray, labels: np.ndarray, stride: int, settings: PolicySettings) -> np.ndarray:
    """Replace the confidence on (dilated) label edges by the neighbourhood median."""
    return host.smooth_edges(confidence, labels, window=settings.median_window(stride), dilation=settings.edge_dilation)


def confidence_maps(logits: Any, input_hw: tuple[int, int], stride: int, settings: PolicySettings) -> np.ndarray:
    """8-bit (smoothed) pixel confidence maps, (B, h, w) uint8 at policy resolution."""
    return host.confidence_maps(as_array(logits), input_hw, stride, **settings.host_kwargs())


def confidence_histograms(logits: Any, input_hw: tuple[int, int], stride: int,
                          settings: PolicySettings) -> np.ndarray:
    """(B, 256) int64 histograms of the smoothed 8-bit pixel confidence."""
    return host.confidence_histograms(as_array(logits), input_hw, stride, **settings.host_kwargs())


def confident_fraction(logits: Any, input_hw: tuple[int, int], stride: int, *, th_pix: float,
                       settings: PolicySettings) -> np.ndarray:
    """(B,) image confidence at one pixel threshold, equal to ``image_confidence(confidence_histograms(...),
    th_pix)``: what the runtime computes at each exit it evaluates."""
    return host.confident_fraction(as_array(logits), input_hw, stride, th_pix=th_pix, **settings.host_kwargs())

"""One frame through every exit: labels, the policy's confidence maps, and where the frame would leave.

``inspect_frame`` runs the backbone once, segment by segment, and at each exit its head, as the
runtime does (through any backend's pieces), and applies the policy of ``core.runtime.host`` to
every exit: the raw 8-bit pixel confidence, the edge-smoothed map the policy thresholds, and the
image confidence (the fraction of pixels reaching th_pix). Under a configuration, the exit the frame
leaves at is the first kept exit whose image confidence reaches its th_img (the last kept one
always answers): the decision ``EarlyExitRunner`` takes, from the same functions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from core.data.metrics import ConfusionMatrix
from core.models.network import MultiExitNet
from core.models.spec import FINAL_EXIT
from core.runtime import host
from core.runtime.backends.base import RunnablePieces
from core.runtime.backends.torch_backend import TorchPieces
from core.runtime.config import ExitConfig
from core.runtime.early_exit import config_steps

DEFAULT_TH_PIX = 0.9  # the threshold an exit outside the configuration is shown against


@dataclass(frozen=True)
class ExitView:
    """What one exit makes of the frame."""

    exit_id: str
    stride: int
    labels: np.ndarray            # HxW int32 at input size
    confidence: np.ndarray        # hxw uint8 at policy resolution, before edge smoothing
    smoothed: np.ndarray          # hxw uint8: what the policy thresholds
    th_pix: float
    th_img: float | None          # None: the exit is not kept by the configuration
    image_confidence: float       # fraction of smoothed pixels >= th_pix
    kept: bool
    leaves: bool                  # the frame leaves here under the configuration
    miou: float | None = None     # with a label: this image's mIoU (%)
    agreement: float = 0.0        # % of pixels labelled as the final exit labels them

    def to_json(self) -> dict:
        return {"exit": self.exit_id, "stride": self.stride, "kept": self.kept, "th_pix": self.th_pix,
                "th_img": self.th_img, "image_confidence": self.image_confidence,
                "reaches_th_img": None if self.th_img is None else bool(self.image_confidence >= self.th_img),
                "leaves": self.leaves, "miou": self.miou, "agreement_with_final": self.agreement}


@dataclass(frozen=True)
class FrameInspection:
    image: np.ndarray             # HxWx3 uint8 RGB at input size
    label: np.ndarray | None      # HxW train ids at input size (ignore index kept)
    exits: list[ExitView]         # depth order, final last
    config: ExitConfig
    leaves_at: str
    ignore_index: int

    def view(self, exit_id: str) -> ExitView:
        return next(v for v in self.exits if v.exit_id == exit_id)

    def to_json(self) -> dict:
        return {"format_version": 1, "input_size": list(self.image.shape[:2]), "leaves_at": self.leaves_at,
                "config": self.config.to_json(), "labelled": self.label is not None,
                "exits": [v.to_json() for v in self.exits]}


def depth_order(net: MultiExitNet) -> list[str]:
    """Exit ids from shallow to deep (by segment, then as the model lists them), final last."""
    ids = net.exit_ids()
    return sorted(ids, key=lambda e: (e == FINAL_EXIT, net.exit_segment(e), ids.index(e)))


def image_miou(labels: np.ndarray, label: np.ndarray, num_classes: int, ignore_index: int) -> float:
    cm = ConfusionMatrix(num_classes, ignore_index)
    cm.update(labels, label)
    return 100.0 * cm.mean_iou()


@torch.no_grad()
def inspect_frame(net: MultiExitNet, image: np.ndarray, tensor: torch.Tensor, *, config: ExitConfig | None = None,
                  label: np.ndarray | None = None, pieces: RunnablePieces | None = None) -> FrameInspection:
    """Every exit of ``net`` on one frame.

    ``image``: the HxWx3 uint8 RGB frame at input size; ``tensor``: it preprocessed (3xHxW);
    ``config``: what decides where the frame leaves (default: the full network alone);
    ``label``: HxW train ids at input size, for each exit's mIoU."""
    config = config or ExitConfig.static(FINAL_EXIT)
    steps = {s.exit_id: s for s in config_steps(net, config)}
    pieces = pieces if pieces is not None else TorchPieces(net)
    classes = net.spec.classes
    size = (int(tensor.shape[-2]), int(tensor.shape[-1]))
    policy = config.policy.host_kwargs()
    state = pieces.start(tensor.unsqueeze(0))
    raw: dict[str, tuple] = {}
    for exit_id in depth_order(net):
        state = pieces.advance(state, net.exit_segment(exit_id))
        handle, low = pieces.head(state, exit_id)
        labels = pieces.labels(handle, exit_id, None)
        labels = (labels.cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels))[0]
        stride = net.exit_stride(exit_id)
        plain = host.confidence_maps(low, size, stride, **{**policy, "edge_smoothing": False})[0]
        smoothed = host.confidence_maps(low, size, stride, **policy)[0]
        raw[exit_id] = (stride, labels.astype(np.int32), plain, smoothed)
    final_labels = raw[FINAL_EXIT][1]
    leaves_at = config.exits[-1]
    for exit_id in config.exits:          # shallow to deep, as the cascade decides
        step = steps[exit_id]
        histogram = np.bincount(raw[exit_id][3].ravel(), minlength=host.LEVELS)
        if float(host.image_confidence(histogram, step.th_pix)) >= step.th_img:
            leaves_at = exit_id
            break
    views = []
    for exit_id, (stride, labels, plain, smoothed) in raw.items():
        step = steps.get(exit_id)
        th_pix = step.th_pix if step else DEFAULT_TH_PIX
        histogram = np.bincount(smoothed.ravel(), minlength=host.LEVELS)
        views.append(ExitView(
            exit_id=exit_id, stride=stride, labels=labels, confidence=plain, smoothed=smoothed, th_pix=th_pix,
            th_img=step.th_img if step else None, image_confidence=float(host.image_confidence(histogram, th_pix)),
            kept=step is not None, leaves=exit_id == leaves_at,
            miou=None if label is None else image_miou(labels, label, classes.num_classes,
                                                       ignore_index=classes.ignore_index),
            agreement=100.0 * float(np.mean(labels == final_labels))))
    return FrameInspection(image=image, label=label, exits=views, config=config, leaves_at=leaves_at,
                           ignore_index=classes.ignore_index)

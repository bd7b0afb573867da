"""Confusion matrix and the scores derived from it (IoU, mIoU, pixel accuracy).

Rows are ground truth, columns prediction. The score functions take plain arrays so a search can
sum matrices (e.g. per exit, per image) and score the sums without this class.
"""

from __future__ import annotations

import numpy as np
import torch

ArrayLike = np.ndarray | torch.Tensor


class ConfusionMatrix:
    def __init__(self, num_classes: int, ignore_index: int) -> None:
        if num_classes < 1:
            raise ValueError(f"num_classes {num_classes} must be >= 1")
        self.num_classes = int(num_classes)
        self.ignore_index = int(ignore_index)
        self.matrix = np.zeros((self.num_classes, self.num_classes), dtype=np.int64)

    def update(self, pred: ArrayLike, target: ArrayLike) -> None:
        """Count pixels where target is a class index (ignore index and out-of-range targets are skipped).

        pred values are assumed to be in 0..C-1. Two torch tensors are counted on their own device.
        """
        if tuple(pred.shape) != tuple(target.shape):
            raise ValueError(f"pred shape {tuple(pred.shape)} differs from target shape {tuple(target.shape)}")
        c = self.num_classes
        if isinstance(pred, torch.Tensor) and isinstance(target, torch.Tensor):
            t, p = target.reshape(-1).long(), pred.reshape(-1).to(device=target.device, dtype=torch.long)
            valid = (t >= 0) & (t < c)
            counts = torch.bincount(c * t[valid] + p[valid], minlength=c * c).cpu().numpy()
        else:
            t, p = _numpy(target).reshape(-1), _numpy(pred).reshape(-1)
            valid = (t >= 0) & (t < c)
            counts = np.bincount(c * t[valid].astype(np.int64) + p[valid], minlength=c * c)
        self.matrix += counts[: c * c].reshape(c, c).astype(np.int64, copy=False)

    def reset(self) -> None:
        self.matrix[:] = 0

    def merge(self, other: ConfusionMatrix | np.ndarray) -> ConfusionMatrix:
        """Add another matrix (same class count) into this one; returns self."""
        m = other.matrix if isinstance(other, ConfusionMatrix) else np.asarray(other)
        if m.shape != self.matrix.shape:
            raise ValueError(f"cannot merge a {m.shape} confusion matrix into a {self.matrix.shape} one")
        self.matrix += m.astype(np.int64, copy=False)
        return self

    def __iadd__(self, other: ConfusionMatrix | np.ndarray) -> ConfusionMatrix:
        return self.merge(other)

    def iou_per_class(self) -> np.ndarray:
        return iou_per_class(self.matrix)

    def mean_iou(self) -> float:
        return mean_iou(self.matrix)

    def pixel_accuracy(self) -> float:
        return pixel_accuracy(self.matrix)


def _numpy(x: ArrayLike) -> np.ndarray:
    a = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    return a.astype(np.int64, copy=False)


def iou_per_class(cm: np.ndarray) -> np.ndarray:
    """IoU of each class; NaN for a class absent from both ground truth and prediction."""
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    union = cm.sum(axis=-1) + cm.sum(axis=-2) - tp
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, tp / union, np.nan)


def mean_iou(cm: np.ndarray) -> float:
    """Mean IoU over classes present in ground truth or prediction, as a fraction 0..1 (NaN if none)."""
    return float(mean_iou_batch(np.asarray(cm)[None])[0])


def mean_iou_batch(cms: np.ndarray) -> np.ndarray:
    """mean_iou of each of N matrices, shape (N, C, C) -> (N,)."""
    cms = np.asarray(cms)
    if cms.ndim != 3 or cms.shape[1] != cms.shape[2]:
        raise ValueError(f"mean_iou_batch expects shape (N, C, C), got {cms.shape}")
    iou = iou_per_class(cms)
    present = ~np.isnan(iou)
    count = present.sum(axis=-1)
    total = np.where(present, iou, 0.0).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(count > 0, total / count, np.nan)


def pixel_accuracy(cm: np.ndarray) -> float:
    """Correct pixels / counted pixels (NaN when nothing was counted)."""
    cm = np.asarray(cm)
    total = cm.sum()
    return float(np.trace(cm) / total) if total > 0 else float("nan")

"""Training losses: class-weighted cross-entropy, OHEM, and positive-filtering distillation."""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from core.registry import Registry


def class_weights_from_counts(counts: np.ndarray) -> torch.Tensor:
    """ENet-style weights 1 / ln(1.02 + p_c) from per-class pixel counts (absent classes get the largest)."""
    freq = counts / max(1, counts.sum())
    weights = 1.0 / np.log(1.02 + freq)
    return torch.tensor(weights, dtype=torch.float32)


def cross_entropy(logits: torch.Tensor, target: torch.Tensor, ignore_index: int,
                  weight: torch.Tensor | None = None) -> torch.Tensor:
    return F.cross_entropy(logits, target, weight=weight, ignore_index=ignore_index)


def ohem_cross_entropy(logits: torch.Tensor, target: torch.Tensor, ignore_index: int,
                       weight: torch.Tensor | None = None, threshold: float = 0.7,
                       min_kept_fraction: float = 1 / 16) -> torch.Tensor:
    """Online hard example mining: average CE over pixels whose true-class probability is
    below ``threshold``, keeping at least ``min_kept_fraction`` of the valid pixels."""
    pixel_loss = F.cross_entropy(logits, target, weight=weight, ignore_index=ignore_index, reduction="none").flatten()
    valid = (target != ignore_index).flatten()
    losses = pixel_loss[valid]
    if losses.numel() == 0:
        return logits.sum() * 0.0
    hard_loss = -np.log(threshold)
    min_kept = max(1, int(min_kept_fraction * losses.numel()))
    hard = losses[losses > hard_loss]
    if hard.numel() < min_kept:
        hard = torch.topk(losses, min_kept).values
    return hard.mean()


SegLoss = Callable[[torch.Tensor, torch.Tensor, int, torch.Tensor | None], torch.Tensor]
SEGMENTATION_LOSSES: Registry[SegLoss] = Registry("loss")
SEGMENTATION_LOSSES.add("ce", lambda logits, target, ignore, weight: cross_entropy(logits, target, ignore, weight=None))
SEGMENTATION_LOSSES.add("weighted_ce", cross_entropy)
SEGMENTATION_LOSSES.add("ohem", ohem_cross_entropy)


def _pixel_kl(teacher_logits: torch.Tensor, student_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Per-pixel KL(softmax(t/T) || softmax(s/T)), shape (B, H, W)."""
    teacher = F.log_softmax(teacher_logits.detach().float() / temperature, dim=1)
    student = F.log_softmax(student_logits.float() / temperature, dim=1)
    return (teacher.exp() * (teacher - student)).sum(dim=1)


def positive_filtering_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, target: torch.Tensor,
                            ignore_index: int, alpha: float = 1.0, temperature: float = 1.5,
                            weight: torch.Tensor | None = None, seg_loss: SegLoss = cross_entropy) -> torch.Tensor:
    """Method section 3: CE(student, gt) + alpha T^2 KL(teacher || student) on pixels the teacher
    gets right, the KL averaged over valid (non-void) pixels."""
    valid = target != ignore_index
    correct = (teacher_logits.argmax(dim=1) == target) & valid
    kl = _pixel_kl(teacher_logits, student_logits, temperature)
    distill = (kl * correct).sum() / valid.sum().clamp_min(1)
    return seg_loss(student_logits, target, ignore_index, weight) + alpha * temperature ** 2 * distill


def self_distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                           temperature: float = 1.5) -> torch.Tensor:
    """Label-free stage 2: T^2 KL(teacher || student) averaged over every pixel."""
    return temperature ** 2 * _pixel_kl(teacher_logits, student_logits, temperature).mean()

"""Poly learning-rate schedule with linear warm-up, as a pure function of the step."""

from __future__ import annotations


def poly_lr(base_lr: float, step: int, total_steps: int, warmup_steps: int = 0, power: float = 0.9,
            warmup_ratio: float = 0.1) -> float:
    """Learning rate at ``step`` (0-based): linear warm-up from ``warmup_ratio * base_lr``, then poly decay."""
    if warmup_steps > 0 and step < warmup_steps:
        return base_lr * (warmup_ratio + (1 - warmup_ratio) * step / warmup_steps)
    progress = min(1.0, max(0, step - warmup_steps) / max(1, total_steps - warmup_steps))
    return base_lr * (1 - progress) ** power


def averaging_lr(base_lr: float, step: int, total_steps: int, warmup_steps: int, average_steps: int,
                 average_lr: float) -> float:
    """Poly decay over the steps before weight averaging starts, then the constant ``average_lr``
    for the last ``average_steps`` (the SWA phase); plain poly when ``average_steps`` is 0."""
    decay_steps = total_steps - average_steps
    if average_steps > 0 and step >= decay_steps:
        return average_lr
    return poly_lr(base_lr, step, decay_steps, warmup_steps=warmup_steps)

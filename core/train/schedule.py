"""Poly learning-rate schedule with linear warm-up, as a pure function of the step."""

from __future__ import annotations


def poly_lr(base_lr: float, step: int, total_steps: int, warmup_steps: int = 0, power: float = 0.9,
            warmup_ratio: float = 0.1) -> float:
    """Learning rate at ``step`` (0-based): linear warm-up from ``warmup_ratio * base_lr``, then poly decay."""
    if warmup_steps > 0 and step < warmup_steps:
        return base_lr * (warmup_ratio + (1 - warmup_ratio) * step / warmup_steps)
    progress = min(1.0, max(0, step - warmup_steps) / max(1, total_steps - warmup_steps))
    return base_lr * (1 - progress) ** power

"""Training losses and the learning-rate schedule (method section 3), checked on hand-built logits."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core.train.losses import (
    SEGMENTATION_LOSSES,
    class_weights_from_counts,
    ohem_cross_entropy,
    positive_filtering_loss,
    self_distillation_loss,
)
from core.train.schedule import poly_lr

IGNORE = 255


def no_seg_loss(logits, target, ignore, weight):
    return logits.sum() * 0.0


# --- positive-filtering distillation ---------------------------------------------------------

# One image, 3 classes, 1 x 4 pixels. Labels: 0, 1, 2, void.
TARGET = torch.tensor([[[0, 1, 2, IGNORE]]])
# Teacher argmax per pixel: 0 (right), 2 (wrong: label 1), 2 (right), 1 (void pixel).
TEACHER = torch.tensor([[[3.0, 0.5, 0.2, 0.1],
                         [0.2, 0.1, 0.3, 2.0],
                         [0.1, 1.5, 2.5, 0.3]]]).reshape(1, 3, 1, 4)
STUDENT = torch.tensor([[[0.5, 1.0, -0.3, 0.7],
                         [1.2, -0.4, 0.8, 0.1],
                         [-0.6, 0.3, 0.4, -1.0]]]).reshape(1, 3, 1, 4)
RIGHT, WRONG, RIGHT2, VOID_PIXEL = 0, 1, 2, 3


def test_the_hand_built_teacher_is_right_and_wrong_where_intended():
    argmax = TEACHER.argmax(dim=1)[0, 0]
    assert argmax.tolist()[:3] == [0, 2, 2]
    assert argmax[RIGHT] == TARGET[0, 0, RIGHT] and argmax[RIGHT2] == TARGET[0, 0, RIGHT2]
    assert argmax[WRONG] != TARGET[0, 0, WRONG]


def perturbed(pixel: int, delta=(2.0, -1.0, 0.5)) -> torch.Tensor:
    student = STUDENT.clone()
    student[0, :, 0, pixel] += torch.tensor(delta)
    return student


def kl_part(student: torch.Tensor) -> float:
    return float(positive_filtering_loss(student, TEACHER, TARGET, IGNORE, alpha=1.0, temperature=1.5,
                                         seg_loss=no_seg_loss))


def test_kl_ignores_pixels_where_the_teacher_is_wrong():
    assert kl_part(perturbed(WRONG)) == pytest.approx(kl_part(STUDENT), abs=1e-7)


@pytest.mark.parametrize("pixel", [RIGHT, RIGHT2])
def test_kl_counts_pixels_where_the_teacher_is_right(pixel):
    assert abs(kl_part(perturbed(pixel)) - kl_part(STUDENT)) > 1e-3


def test_kl_part_is_positive_when_student_and_teacher_differ_on_right_pixels():
    assert kl_part(STUDENT) > 0


def test_void_pixels_contribute_nothing():
    base = float(positive_filtering_loss(STUDENT, TEACHER, TARGET, IGNORE))
    changed = float(positive_filtering_loss(perturbed(VOID_PIXEL, (5.0, -3.0, 1.0)), TEACHER, TARGET, IGNORE))
    assert changed == pytest.approx(base, abs=1e-7)
    # Even a teacher whose argmax 'equals' the void label value cannot bring the pixel in.
    teacher = TEACHER.clone()
    teacher[0, :, 0, VOID_PIXEL] = torch.tensor([0.0, 9.0, 0.0])
    assert float(positive_filtering_loss(STUDENT, teacher, TARGET, IGNORE)) == pytest.approx(base, abs=1e-7)


def log_softmax(values: list[float]) -> list[float]:
    top = max(values)
    total = math.log(sum(math.exp(v - top) for v in values)) + top
    return [v - total for v in values]


@pytest.mark.parametrize("alpha,temperature", [(1.0, 1.0), (1.0, 1.5), (0.5, 2.0)])
def test_equals_ce_plus_alpha_t2_kl_by_hand(alpha, temperature):
    student = STUDENT[0, :, 0, :].T.tolist()   # per pixel, 3 logits
    teacher = TEACHER[0, :, 0, :].T.tolist()
    labels = TARGET[0, 0].tolist()
    valid = [p for p in range(4) if labels[p] != IGNORE]
    ce = sum(-log_softmax(student[p])[labels[p]] for p in valid) / len(valid)
    kl_sum = 0.0
    for p in valid:
        if max(range(3), key=lambda c: teacher[p][c]) != labels[p]:
            continue
        log_t = log_softmax([v / temperature for v in teacher[p]])
        log_s = log_softmax([v / temperature for v in student[p]])
        kl_sum += sum(math.exp(lt) * (lt - ls) for lt, ls in zip(log_t, log_s))
    expected = ce + alpha * temperature ** 2 * kl_sum / len(valid)   # averaged over the valid pixels
    got = positive_filtering_loss(STUDENT, TEACHER, TARGET, IGNORE, alpha=alpha, temperature=temperature)
    assert float(got) == pytest.approx(expected, rel=1e-5)


def test_teacher_gets_no_gradient_and_student_does():
    student = STUDENT.clone().requires_grad_(True)
    teacher = TEACHER.clone().requires_grad_(True)
    positive_filtering_loss(student, teacher, TARGET, IGNORE).backward()
    assert teacher.grad is None or torch.count_nonzero(teacher.grad) == 0
    assert student.grad is not None and torch.count_nonzero(student.grad[0, :, 0, :3]) > 0
    assert torch.count_nonzero(student.grad[0, :, 0, VOID_PIXEL]) == 0


def test_weighted_seg_loss_is_used_for_the_ce_term():
    weight = torch.tensor([1.0, 5.0, 0.2])
    got = positive_filtering_loss(STUDENT, TEACHER, TARGET, IGNORE, alpha=0.0, weight=weight,
                                  seg_loss=SEGMENTATION_LOSSES.get("weighted_ce"))
    expected = F.cross_entropy(STUDENT, TARGET, weight=weight, ignore_index=IGNORE)
    assert float(got) == pytest.approx(float(expected), rel=1e-6)


# --- self-distillation -------------------------------------------------------------------------

def test_self_distillation_is_zero_when_student_equals_teacher():
    logits = torch.randn(2, 5, 4, 6, generator=torch.Generator().manual_seed(0))
    assert float(self_distillation_loss(logits.clone(), logits, temperature=1.5)) == pytest.approx(0.0, abs=1e-6)


def test_self_distillation_is_positive_otherwise():
    gen = torch.Generator().manual_seed(1)
    teacher = torch.randn(2, 5, 4, 6, generator=gen)
    student = torch.randn(2, 5, 4, 6, generator=gen)
    assert float(self_distillation_loss(student, teacher, temperature=1.5)) > 1e-3
    # Only the student changing one pixel is enough.
    student = teacher.clone()
    student[0, :, 0, 0] += torch.tensor([3.0, -2.0, 0.0, 1.0, 0.5])
    assert float(self_distillation_loss(student, teacher, temperature=1.0)) > 1e-4


def test_self_distillation_equals_t2_kl_mean_by_hand():
    gen = torch.Generator().manual_seed(2)
    teacher = torch.randn(1, 3, 2, 2, generator=gen)
    student = torch.randn(1, 3, 2, 2, generator=gen)
    t = 2.0
    pt = F.softmax(teacher / t, dim=1)
    kl = (pt * (F.log_softmax(teacher / t, dim=1) - F.log_softmax(student / t, dim=1))).sum(dim=1)
    assert float(self_distillation_loss(student, teacher, temperature=t)) == pytest.approx(float(t * t * kl.mean()),
                                                                                           rel=1e-5)


# --- OHEM ------------------------------------------------------------------------------------------

def two_class_logits(true_probs: list[float]) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits of N pixels (1 x 2 x 1 x N) whose probability of the true class 0 is ``true_probs``."""
    p = torch.tensor(true_probs, dtype=torch.float64)
    logits = torch.stack([torch.log(p), torch.log1p(-p)]).float().reshape(1, 2, 1, -1)
    return logits, torch.zeros(1, 1, len(true_probs), dtype=torch.long)


def test_ohem_averages_only_hard_pixels_when_there_are_enough():
    probs = [0.1, 0.2, 0.3, 0.5] + [0.95] * 12        # 4 hard (p < 0.7), 12 easy
    logits, target = two_class_logits(probs)
    got = ohem_cross_entropy(logits, target, IGNORE, threshold=0.7, min_kept_fraction=1 / 16)
    expected = np.mean([-math.log(p) for p in probs[:4]])
    assert float(got) == pytest.approx(expected, rel=1e-5)


def test_ohem_keeps_at_least_the_minimum_fraction():
    probs = [0.2] + [0.9, 0.95, 0.8, 0.85, 0.99, 0.97, 0.75] + [0.999] * 8   # 1 hard of 16
    logits, target = two_class_logits(probs)
    got = ohem_cross_entropy(logits, target, IGNORE, threshold=0.7, min_kept_fraction=0.25)   # keep >= 4
    hardest = sorted((-math.log(p) for p in probs), reverse=True)[:4]
    assert float(got) == pytest.approx(np.mean(hardest), rel=1e-5)


def test_ohem_ignores_void_pixels():
    probs = [0.1, 0.2, 0.95, 0.95]
    logits, target = two_class_logits(probs)
    target[0, 0, 0] = IGNORE          # the hardest pixel is void
    got = ohem_cross_entropy(logits, target, IGNORE, threshold=0.7, min_kept_fraction=0.25)
    assert float(got) == pytest.approx(-math.log(0.2), rel=1e-5)


def test_ohem_with_only_void_pixels_is_zero_and_differentiable():
    logits, target = two_class_logits([0.3, 0.6])
    logits.requires_grad_(True)
    target[:] = IGNORE
    loss = ohem_cross_entropy(logits, target, IGNORE)
    assert float(loss.detach()) == 0.0
    loss.backward()


# --- class weights -------------------------------------------------------------------------------

def test_rarer_classes_get_larger_weights():
    counts = np.array([100000, 5000, 300, 10, 0])
    weights = class_weights_from_counts(counts)
    assert weights.dtype == torch.float32 and weights.shape == (5,)
    assert all(float(a) < float(b) for a, b in zip(weights[:-1], weights[1:]))
    freq = counts / counts.sum()
    assert np.allclose(weights.numpy(), 1.0 / np.log(1.02 + freq), rtol=1e-6)


def test_equal_counts_give_equal_weights():
    weights = class_weights_from_counts(np.array([7, 7, 7]))
    assert torch.allclose(weights, weights[0].expand(3))


# --- poly schedule with warm-up ---------------------------------------------------------------------

BASE, TOTAL, WARMUP, RATIO = 0.05, 100, 10, 0.1


def lr(step: int) -> float:
    return poly_lr(BASE, step, TOTAL, WARMUP, power=0.9, warmup_ratio=RATIO)


def test_warmup_starts_at_the_ratio_of_the_base_lr():
    assert lr(0) == pytest.approx(RATIO * BASE)


def test_warmup_rises_linearly():
    values = [lr(s) for s in range(WARMUP)]
    steps = np.diff(values)
    assert np.all(steps > 0)
    assert np.allclose(steps, steps[0])


def test_warmup_reaches_the_base_lr_at_its_end():
    assert lr(WARMUP) == pytest.approx(BASE)
    assert max(lr(s) for s in range(TOTAL + 1)) == pytest.approx(BASE)


def test_decays_to_zero_at_total_steps():
    assert lr(TOTAL) == pytest.approx(0.0, abs=1e-12)
    assert lr(TOTAL + 5) == pytest.approx(0.0, abs=1e-12)
    assert lr(TOTAL - 1) > 0


def test_monotone_non_increasing_after_warmup():
    values = [lr(s) for s in range(WARMUP, TOTAL + 1)]
    assert all(b <= a for a, b in zip(values[:-1], values[1:]))
    assert values[0] > values[-1]


def test_without_warmup_starts_at_the_base_lr():
    assert poly_lr(BASE, 0, TOTAL, 0) == pytest.approx(BASE)
    assert poly_lr(BASE, TOTAL // 2, TOTAL, 0) == pytest.approx(BASE * 0.5 ** 0.9)

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from core.data import ConfusionMatrix, iou_per_class, mean_iou, mean_iou_batch, pixel_accuracy

IGNORE = 255
# 4 classes; class 3 appears in neither target nor prediction.
TARGET = np.array([[0, 0, 1, 1], [2, 2, IGNORE, 1]])
PRED = np.array([[0, 1, 1, 1], [2, 0, 0, 2]])  # the pixel under IGNORE predicts 0 and is not counted
# rows = ground truth, cols = prediction, counted by hand from the arrays above
EXPECTED = np.array([
    [1, 1, 0, 0],
    [0, 2, 1, 0],
    [1, 0, 1, 0],
    [0, 0, 0, 0],
])


def test_hand_computed_matrix_numpy_and_torch() -> None:
    cm = ConfusionMatrix(4, IGNORE)
    cm.update(PRED, TARGET)
    assert cm.matrix.dtype == np.int64
    np.testing.assert_array_equal(cm.matrix, EXPECTED)
    t = ConfusionMatrix(4, IGNORE)
    t.update(torch.from_numpy(PRED), torch.from_numpy(TARGET).to(torch.uint8))
    np.testing.assert_array_equal(t.matrix, EXPECTED)
    mixed = ConfusionMatrix(4, IGNORE)
    mixed.update(torch.from_numpy(PRED)[None], TARGET[None].astype(np.uint8))
    np.testing.assert_array_equal(mixed.matrix, EXPECTED)


def test_scores_from_the_hand_computed_matrix() -> None:
    iou = iou_per_class(EXPECTED)
    # class 0: tp 1, gt 2, pred 2 -> 1/3; class 1: tp 2, gt 3, pred 3 -> 2/4; class 2: tp 1, gt 2, pred 2 -> 1/3
    np.testing.assert_allclose(iou[:3], [1 / 3, 1 / 2, 1 / 3])
    assert math.isnan(iou[3])
    assert mean_iou(EXPECTED) == pytest.approx((1 / 3 + 1 / 2 + 1 / 3) / 3)
    assert pixel_accuracy(EXPECTED) == pytest.approx(4 / 7)
    cm = ConfusionMatrix(4, IGNORE)
    cm.update(PRED, TARGET)
    assert cm.mean_iou() == pytest.approx(mean_iou(EXPECTED))


def test_class_only_predicted_counts_with_zero_iou() -> None:
    cm = np.array([[2, 1], [0, 0]])
    np.testing.assert_allclose(iou_per_class(cm), [2 / 3, 0.0])
    assert mean_iou(cm) == pytest.approx(1 / 3)


def test_empty_matrix_scores_are_nan() -> None:
    empty = np.zeros((3, 3), dtype=np.int64)
    assert math.isnan(mean_iou(empty)) and math.isnan(pixel_accuracy(empty))


def test_merge_iadd_reset() -> None:
    a, b = ConfusionMatrix(4, IGNORE), ConfusionMatrix(4, IGNORE)
    a.update(PRED, TARGET)
    b.update(PRED[:1], TARGET[:1])
    a += b
    np.testing.assert_array_equal(a.matrix, EXPECTED + b.matrix)
    assert a.merge(EXPECTED) is a
    np.testing.assert_array_equal(a.matrix, 2 * EXPECTED + b.matrix)
    a.reset()
    assert a.matrix.sum() == 0
    with pytest.raises(ValueError, match="cannot merge"):
        a.merge(np.zeros((3, 3)))


def test_shape_mismatch_is_rejected() -> None:
    with pytest.raises(ValueError, match="differs from target shape"):
        ConfusionMatrix(4, IGNORE).update(PRED[:, :3], TARGET)


def test_mean_iou_batch_matches_single() -> None:
    rng = np.random.default_rng(0)
    cms = rng.integers(0, 50, size=(5, 4, 4))
    cms[1, 2, :] = cms[1, :, 2] = 0  # class 2 absent
    cms[3] = 0  # nothing counted
    batch = mean_iou_batch(cms)
    assert batch.shape == (5,)
    for i in (0, 1, 2, 4):
        assert batch[i] == pytest.approx(mean_iou(cms[i]))
    assert math.isnan(batch[3])
    assert batch[1] == pytest.approx(np.nanmean(iou_per_class(cms[1])))


def test_large_random_update_matches_a_direct_count() -> None:
    rng = np.random.default_rng(1)
    target = rng.integers(0, 6, size=(4, 64, 64))
    target[:, :5] = IGNORE
    pred = rng.integers(0, 5, size=(4, 64, 64))
    cm = ConfusionMatrix(5, IGNORE)
    cm.update(pred, target)
    direct = np.zeros((5, 5), dtype=np.int64)
    for t, p in zip(target.ravel(), pred.ravel()):
        if t < 5:
            direct[t, p] += 1
    np.testing.assert_array_equal(cm.matrix, direct)

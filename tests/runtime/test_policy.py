"""The exit policy on hand-made probability maps (method section 4)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.errors import ConfigError
from core.runtime.config import ExitConfig
from core.runtime.host import interpolation_matrix, pixel_confidence, resize_bilinear
from core.runtime.policy import (
    PolicySettings,
    confidence_histograms,
    confidence_maps,
    confident_fraction,
    image_confidence,
    label_edges,
    quantise,
)

H, W = 24, 32  # policy resolution; the input is 4x larger so no resampling happens
INPUT = (4 * H, 4 * W)


def logits_from(probs: np.ndarray) -> torch.Tensor:
    """Logits whose softmax is ``probs`` (C, H, W)."""
    return torch.from_numpy(np.log(probs)).float().unsqueeze(0)


def two_class_map(top: np.ndarray, label: np.ndarray) -> np.ndarray:
    """Probabilities with top-1 value ``top`` at class ``label`` (2 classes)."""
    probs = np.empty((2, H, W))
    probs[0] = np.where(label == 0, top, 1 - top)
    probs[1] = 1 - probs[0]
    return probs


def test_fraction_of_confident_pixels():
    top = np.full((H, W), 0.6)
    top[:, : int(W * 0.25)] = 0.95  # a quarter of the pixels are confident
    logits = logits_from(two_class_map(top, np.zeros((H, W), int)))
    hist = confidence_histograms(logits, INPUT, 8, PolicySettings(edge_smoothing=False))
    assert hist.sum() == H * W
    assert image_confidence(hist, 0.9)[0] == pytest.approx(0.25)
    assert image_confidence(hist, 0.5)[0] == pytest.approx(1.0)
    assert image_confidence(hist, 0.96)[0] == pytest.approx(0.0)
    grid = image_confidence(hist, np.array([0.5, 0.9, 0.96]))
    assert grid.shape == (1, 3)
    np.testing.assert_allclose(grid[0], [1.0, 0.25, 0.0])


def test_fraction_is_monotone_in_the_pixel_threshold():
    rng = np.random.default_rng(0)
    hist = rng.integers(0, 50, size=(5, 256))
    curve = image_confidence(hist, np.linspace(0, 1, 101))
    assert np.all(np.diff(curve, axis=1) <= 0)
    assert np.allclose(curve[:, 0], 1.0)


def test_edge_pixels_do_not_block_an_exit():
    label = np.zeros((H, W), int)
    label[:, W // 2:] = 1
    top = np.full((H, W), 0.95)
    top[:, W // 2 - 1: W // 2 + 1] = 0.55  # uncertain only along the semantic edge
    logits = logits_from(two_class_map(top, label))
    plain = image_confidence(confidence_histograms(logits, INPUT, 8, PolicySettings(edge_smoothing=False)), 0.9)[0]
    smooth = image_confidence(confidence_histograms(logits, INPUT, 8, PolicySettings(edge_smoothing=True)), 0.9)[0]
    assert plain == pytest.approx(1 - 2 / W)
    assert smooth == pytest.approx(1.0)


def test_uncertain_regions_away_from_edges_still_count():
    label = np.zeros((H, W), int)
    top = np.full((H, W), 0.95)
    top[8:16, 8:16] = 0.55  # an uncertain blob with one label: no edge there
    logits = logits_from(two_class_map(top, label))
    smooth = image_confidence(confidence_histograms(logits, INPUT, 8, PolicySettings(edge_smoothing=True)), 0.9)[0]
    assert smooth == pytest.approx(1 - 64 / (H * W))


def test_edge_smoothing_uses_a_median_of_the_neighbourhood():
    label = np.zeros((H, W), int)
    label[:, W // 2:] = 1
    top = np.full((H, W), 0.55)  # everything uncertain: the median stays uncertain
    logits = logits_from(two_class_map(top, label))
    maps = confidence_maps(logits, INPUT, 8, PolicySettings(edge_smoothing=True))
    assert np.all(maps == quantise(0.55))


def regions_of_logits(rng: np.random.Generator, batch: int, classes: int, h: int, w: int) -> np.ndarray:
    """Logits with regions of one class and soft boundaries, as a segmentation head gives."""
    import cv2

    logits = rng.normal(size=(batch, classes, h, w)).astype(np.float32) * 4
    for b in range(batch):
        for c in range(classes):
            logits[b, c] = cv2.GaussianBlur(logits[b, c], (0, 0), 1.5) * 3
    return logits


@pytest.mark.parametrize("stride", [4, 8, 16, 32])
@pytest.mark.parametrize("settings", [PolicySettings(), PolicySettings(confidence="entropy"),
                                      PolicySettings(edge_smoothing=False), PolicySettings(edge_dilation=0),
                                      PolicySettings(edge_dilation=5, scale=0.5), PolicySettings(scale=1.0)])
def test_the_runtimes_confident_fraction_equals_the_searchs_histograms_at_every_threshold(stride, settings):
    """The runtime counts the pixels that reach th_pix without the median filter (more than half of
    the window reaching it); the search reads the same fraction off the histograms of the medians."""
    rng = np.random.default_rng(stride)
    size = (360, 480)
    logits = regions_of_logits(rng, 2, 11, size[0] // stride, size[1] // stride)
    logits[1] *= 0.2                                   # an uncertain image beside a confident one
    histograms = confidence_histograms(logits, size, stride, settings)
    fractions = []
    for th_pix in (0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0):
        fraction = confident_fraction(logits, size, stride, th_pix=th_pix, settings=settings)
        assert fraction.dtype == np.float64 and fraction.shape == (2,)
        np.testing.assert_array_equal(fraction, image_confidence(histograms, th_pix), err_msg=f"th_pix {th_pix}")
        fractions.append(fraction)
    assert len({tuple(f) for f in fractions}) > 4, "the thresholds tell the images apart"


@pytest.mark.parametrize("shape, size, stride, settings", [
    ((3, 5, 2, 3), (8, 12), 4, PolicySettings(scale=1.0, edge_dilation=32)),     # window larger than the image
    ((1, 4, 1, 1), (32, 32), 32, PolicySettings(scale=1.0)),                       # one logit pixel
    ((2, 3, 3, 4), (96, 128), 32, PolicySettings(scale=0.5, edge_dilation=1)),
])
def test_the_confident_fraction_holds_on_tiny_maps_ties_and_large_windows(shape, size, stride, settings):
    rng = np.random.default_rng(sum(shape))
    logits = rng.integers(-2, 3, size=shape).astype(np.float32)      # many tied classes
    histograms = confidence_histograms(logits, size, stride, settings)
    for level in range(256):
        th_pix = level / 255
        np.testing.assert_array_equal(confident_fraction(logits, size, stride, th_pix=th_pix, settings=settings),
                                      image_confidence(histograms, th_pix), err_msg=f"level {level}")


@pytest.mark.parametrize("th_pix", [float("nan"), -0.01, 1.01])
def test_the_confident_fraction_refuses_a_threshold_outside_0_1(th_pix):
    logits = np.zeros((1, 2, 4, 4), np.float32)
    with pytest.raises(ValueError, match="th_pix"):
        confident_fraction(logits, (16, 16), 4, th_pix=th_pix, settings=PolicySettings())


def test_top1_confidence_of_float64_logits_is_rounded_once():
    """1 / sum(exp) in the logits' precision, then float32 (as before the in-place rewrite)."""
    logits = np.random.default_rng(5).normal(size=(1, 7, 20, 30)) * 3
    top = logits.max(axis=1)
    expected = (1.0 / np.exp(logits - top[:, None]).sum(axis=1)).astype(np.float32)
    confidence, _ = pixel_confidence(logits)
    assert confidence.dtype == np.float32
    np.testing.assert_array_equal(confidence, expected)


def test_8bit_confidence_is_255_c_rounded_half_to_even():
    """The policy's levels (one OpenCV call) equal clip(rint(255 c)) of the float confidence, halves included."""
    from core.runtime.host import _raw_confidence

    logits = np.random.default_rng(6).normal(size=(2, 11, 90, 120)).astype(np.float32) * 4
    logits[0, 0, :2] = 50.0               # confidence 1 (level 255) and ties of two classes (level 128)
    logits[0, 1, 1] = 50.0
    confidence, labels = pixel_confidence(logits)
    levels, same_labels = _raw_confidence(logits, (360, 480), scale=0.25, measure="top1")
    expected = np.clip(np.rint(confidence * np.float32(255)), 0, 255).astype(np.uint8)
    assert levels.dtype == np.uint8
    np.testing.assert_array_equal(levels, expected)
    np.testing.assert_array_equal(same_labels, labels)
    assert levels[0, 0, 0] == 255 and levels[0, 1, 0] == 128


@pytest.mark.parametrize("shape", [(1, 11, 90, 120), (1, 11, 45, 60), (2, 11, 23, 30)])
def test_the_policy_leaves_the_callers_logits_as_they_were(shape):
    """The softmax may write over the upsampled logits (its own temporary), never over the caller's."""
    logits = np.random.default_rng(7).normal(size=shape).astype(np.float32) * 4
    before = logits.copy()
    stride = 360 // shape[2]
    confident_fraction(logits, (360, 480), stride, th_pix=0.8, settings=PolicySettings())
    confidence_histograms(logits, (360, 480), stride, PolicySettings())
    np.testing.assert_array_equal(logits, before)


@pytest.mark.parametrize("layout", ["fortran", "torch", "view"])
def test_the_host_policy_takes_logits_of_any_layout_and_leaves_them_as_they_were(layout):
    """At the policy's own size (stride 4) the logits are not upsampled: a Fortran-order array must give
    the C-order answer, and a float32 tensor or a view that np.asarray only wraps must not be written over."""
    from core.runtime import host

    logits = np.random.default_rng(8).normal(size=(2, 11, 90, 120)).astype(np.float32) * 4
    expected = host.confident_fraction(logits.copy(), (360, 480), 4, th_pix=0.8)
    given = {"fortran": np.asfortranarray(logits), "torch": torch.from_numpy(logits.copy()),
             "view": logits.copy().view(np.ndarray)[:]}[layout]
    before = np.asarray(given).copy()
    np.testing.assert_array_equal(host.confident_fraction(given, (360, 480), 4, th_pix=0.8), expected)
    np.testing.assert_array_equal(host.confidence_histograms(given, (360, 480), 4)[:, -1],
                                  host.confidence_histograms(logits.copy(), (360, 480), 4)[:, -1])
    np.testing.assert_array_equal(np.asarray(given), before)


def test_label_edges_marks_both_sides_of_a_boundary():
    label = np.zeros((4, 6), int)
    label[:, 3:] = 1
    edges = label_edges(label)
    assert edges[:, 2].all() and edges[:, 3].all()
    assert not edges[:, [0, 1, 4, 5]].any()


def test_entropy_confidence_extremes():
    uniform = np.zeros((1, 4, 2, 2), np.float32)
    one_hot = np.full((1, 4, 2, 2), -40.0, np.float32)
    one_hot[:, 2] = 40.0
    np.testing.assert_allclose(pixel_confidence(uniform, "entropy")[0], np.zeros((1, 2, 2)), atol=1e-6)
    np.testing.assert_allclose(pixel_confidence(one_hot, "entropy")[0], np.ones((1, 2, 2)), atol=1e-6)


@pytest.mark.parametrize("size", [(90, 120), (7, 5), (23, 30), (360, 480)])
def test_host_resampling_matches_torch_bilinear(size):
    """The numpy policy upsamples (and downsamples) exactly as torch's bilinear, align_corners=False."""
    logits = torch.randn(2, 5, 23, 30)
    expected = torch.nn.functional.interpolate(logits, size=size, mode="bilinear", align_corners=False)
    np.testing.assert_allclose(resize_bilinear(logits.numpy(), size), expected.numpy(), atol=2e-5)
    assert interpolation_matrix(23, size[0]).sum(axis=1) == pytest.approx(np.ones(size[0]))


def test_host_confidence_matches_torch_softmax():
    logits = torch.randn(2, 11, 16, 16) * 4
    probs = logits.softmax(dim=1)
    top1, labels = pixel_confidence(logits.numpy(), "top1")
    np.testing.assert_allclose(top1, probs.max(dim=1).values.numpy(), atol=1e-6)
    np.testing.assert_array_equal(labels, probs.argmax(dim=1).numpy())
    entropy = 1 - (-(probs * probs.clamp_min(1e-12).log()).sum(dim=1)) / np.log(11)
    np.testing.assert_allclose(pixel_confidence(logits.numpy(), "entropy")[0], entropy.numpy(), atol=1e-5)


def test_entropy_measure_ranks_peaked_maps_higher():
    flat = np.full((2, H, W), 0.5)
    peaked = two_class_map(np.full((H, W), 0.99), np.zeros((H, W), int))
    settings = PolicySettings(confidence="entropy", edge_smoothing=False)
    low = image_confidence(confidence_histograms(logits_from(flat), INPUT, 8, settings), 0.5)[0]
    high = image_confidence(confidence_histograms(logits_from(peaked), INPUT, 8, settings), 0.5)[0]
    assert low == 0.0 and high == 1.0


def test_quantise_matches_confidence_rounding():
    assert quantise(0.0) == 0 and quantise(1.0) == 255
    assert quantise(0.9) == round(0.9 * 255)
    np.testing.assert_array_equal(quantise(np.array([0.0, 0.5, 1.0])), [0, 128, 255])


def test_config_validation():
    with pytest.raises(ConfigError, match="th_pix value 1.5"):
        ExitConfig(["a", "final"], [0.9, 1.5], [0.5, 0.5])
    with pytest.raises(ConfigError, match="need 2 th_pix"):
        ExitConfig(["a", "final"], [0.9], [0.5, 0.5])
    with pytest.raises(ConfigError, match="exactly one exit"):
        ExitConfig(["a", "final"], mode="static")
    with pytest.raises(ConfigError, match="unknown mode"):
        ExitConfig(["final"], mode="anytime")
    with pytest.raises(ConfigError, match="unknown confidence measure"):
        PolicySettings(confidence="margin")


def test_config_json_round_trip(tmp_path):
    config = ExitConfig(["layer2:fcn-c64-b0", "final"], [0.8, 0.9], [0.7, 0.0],
                        policy=PolicySettings(confidence="entropy", edge_smoothing=False))
    config.save(tmp_path / "c.json")
    assert ExitConfig.load(tmp_path / "c.json") == config
    (tmp_path / "bad.json").write_text('{"format_version": 7, "exits": ["final"]}')
    with pytest.raises(ConfigError, match="bad.json: unknown exit-config format version 7"):
        ExitConfig.load(tmp_path / "bad.json")


def test_fast_argmax_takes_the_first_of_tied_classes():
    from core.runtime.host import argmax_classes

    values = np.array([[[1.0, 3.0], [3.0, 0.0], [3.0, 3.0]]], np.float32).transpose(0, 2, 1)  # (1, 2, 3): ties
    np.testing.assert_array_equal(argmax_classes(values, axis=1), values.argmax(axis=1))
    rng = np.random.default_rng(2)
    many = rng.integers(0, 4, (3, 11, 7, 9)).astype(np.float32)
    np.testing.assert_array_equal(argmax_classes(many, axis=1), many.argmax(axis=1))
    pixels = np.ascontiguousarray(many.transpose(0, 2, 3, 1).reshape(-1, 11))   # pixels x classes, ties too
    by_comparison = argmax_classes(pixels, axis=-1, top=pixels.max(axis=-1))      # ``top`` given: compared
    np.testing.assert_array_equal(by_comparison, pixels.argmax(axis=-1))
    for axis in (-1, 1):
        got = argmax_classes(pixels, axis=axis)                                    # numpy's own (contiguous)
        assert got.dtype == np.int32 and got.shape == (pixels.shape[0],)
        np.testing.assert_array_equal(got, by_comparison)
    np.testing.assert_array_equal(argmax_classes(pixels.T, axis=0), by_comparison)


@pytest.mark.parametrize("shape,size", [((1, 11, 45, 60), (360, 480)), ((2, 11, 23, 30), (360, 480)),
                                        ((1, 5, 7, 9), (50, 33)), ((1, 3, 1, 1), (4, 4))])
def test_host_labels_equal_torch_upsample_and_argmax(shape, size):
    """Labels read off the low resolution where four source pixels agree, as torch computes them."""
    from core.runtime.host import class_labels

    generator = torch.Generator().manual_seed(4)
    logits = torch.nn.functional.avg_pool2d(torch.randn(shape[0], shape[1], shape[2] * 2, shape[3] * 2,
                                                        generator=generator) * 6, 2) if shape[2] > 1 else \
        torch.randn(shape, generator=generator)
    expected = torch.nn.functional.interpolate(logits, size=size, mode="bilinear", align_corners=False).argmax(1)
    got = class_labels(logits.numpy(), size)
    assert got.dtype == np.uint8 and got.shape == (shape[0], *size)
    assert (got == expected.numpy()).mean() > 0.9999


@pytest.mark.parametrize("size", [(360, 480), (7, 5)])
def test_a_graphs_planar_input_equals_the_normalised_tensor(size):
    """The graph backends' input, written plane by plane, has the values of torch's preprocessing."""
    from core.data.transforms import Normalize, preprocess_frame
    from core.runtime.backends.base import as_numpy_images
    from core.runtime.host import planar_input

    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    frame = np.random.default_rng(5).integers(0, 256, (*size, 3), dtype=np.uint8)
    got = planar_input(frame, *Normalize(mean, std).uint8_affine())
    assert got.shape == (1, 3, *size) and got.dtype == np.float32 and got.flags.c_contiguous
    np.testing.assert_array_equal(got, as_numpy_images(preprocess_frame(frame, mean, std).unsqueeze(0)))
    for bad in (frame[..., 0], np.dstack([frame, frame[..., :1]]), frame.astype(np.float32)):
        with pytest.raises(ValueError, match="expects an HxWx3 uint8 RGB frame"):
            planar_input(bad, *Normalize(mean, std).uint8_affine())


@pytest.mark.parametrize("classes", [2, 11, 24, 25, 40])
def test_fast_argmax_equals_numpy_with_ties_at_any_class_count(classes):
    """Up to 24 classes the max's classes are coded as bits of one number, beyond that compared one by one:
    both the first of tied classes, as numpy's argmax."""
    from core.runtime.host import argmax_classes

    rng = np.random.default_rng(classes)
    values = rng.integers(0, 3, (2, classes, 6, 7)).astype(np.float32)      # many ties
    values[0, -1, 0, 0] = 9.0                                                # the last class alone on top
    got = argmax_classes(values, axis=1)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, values.argmax(axis=1))
    assert got[0, 0, 0] == classes - 1


def test_fast_argmax_answers_class_0_where_a_pixel_has_no_max():
    from core.runtime.host import argmax_classes

    values = np.zeros((1, 11, 2, 2), np.float32)
    values[0, 3] = 1.0
    values[0, :, 1, 1] = np.nan
    np.testing.assert_array_equal(argmax_classes(values, axis=1), [[[3, 3], [3, 0]]])


def test_upsampling_by_opencv_equals_the_matrix_form():
    """The policy's upsampling (OpenCV, a pass per axis) and the matrix products agree (to float rounding with
    IPP; to OpenCV's weight rounding, 3e-5 here, without)."""
    from core.runtime import host

    logits = np.random.default_rng(4).standard_normal((2, 11, 23, 30)).astype(np.float32) * 4
    rows, cols = host.interpolation_matrix(23, 90), host.interpolation_matrix(30, 120)
    np.testing.assert_allclose(host.resize_bilinear(logits, (90, 120)), rows @ logits @ cols.T, atol=5e-5)
    even = logits[:, :, :, :15]                                     # integer scales: OpenCV's weights are exact
    np.testing.assert_allclose(host.resize_bilinear(even, (92, 120)),
                               host.interpolation_matrix(23, 92) @ even @ host.interpolation_matrix(15, 120).T,
                               atol=1e-5)
    one_class = logits[:, :1]
    np.testing.assert_allclose(host.resize_bilinear(one_class, (90, 120)), rows @ one_class @ cols.T, atol=5e-5)


@pytest.mark.parametrize("classes", [128, 150])
def test_the_policy_runs_for_more_classes_than_an_opencv_image_holds(classes):
    """OpenCV 5 images hold at most 128 channels; the policy's passes use single-channel images, so a model
    of 150 classes (ADE20K) runs too."""
    from core.runtime import host

    logits = np.random.default_rng(classes).standard_normal((1, classes, 23, 30)).astype(np.float32)
    up = host.resize_bilinear(logits, (90, 120))
    rows, cols = host.interpolation_matrix(23, 90), host.interpolation_matrix(30, 120)
    np.testing.assert_allclose(up, rows @ logits @ cols.T, atol=2e-5)
    fraction = host.confident_fraction(logits, (360, 480), 16, th_pix=0.1)
    assert fraction.shape == (1,) and 0.0 <= fraction[0] <= 1.0

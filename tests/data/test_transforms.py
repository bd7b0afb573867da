from __future__ import annotations

import numpy as np
import pytest
import torch

from core.data import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    ColourJitter,
    Compose,
    Normalize,
    RandomHorizontalFlip,
    RandomScaleCrop,
    Resize,
    ToTensor,
    eval_transform,
    preprocess_frame,
    train_transform,
)
from core.errors import ConfigError

IGNORE = 255
# Class k is drawn in colour COLOURS[k]; blocks of 6x6 pixels so interpolation leaves block interiors exact.
COLOURS = np.array([[200, 10, 10], [10, 200, 10], [10, 10, 200], [200, 200, 10], [10, 200, 200]], dtype=np.uint8)


def block_pair(h: int = 24, w: int = 36, block: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """A mask of class blocks and the image drawn from it (so alignment can be checked pixel by pixel)."""
    ys, xs = np.mgrid[0:h, 0:w]
    mask = ((ys // block) * 7 + (xs // block) * 3) % len(COLOURS)
    mask = mask.astype(np.uint8)
    return COLOURS[mask], mask


def assert_aligned(image: np.ndarray, mask: np.ndarray, ignore: int = IGNORE) -> int:
    """Where the image's 3x3 neighbourhood is uniform and the mask is a class, the colour is the class's.

    Returns how many pixels were checked.
    """
    img = image.astype(np.int32)
    uniform = np.ones(mask.shape, dtype=bool)
    uniform[0, :] = uniform[-1, :] = uniform[:, 0] = uniform[:, -1] = False
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            shifted = np.roll(img, (dy, dx), axis=(0, 1))
            uniform &= (shifted == img).all(axis=2)
    check = uniform & (mask != ignore)
    np.testing.assert_array_equal(image[check], COLOURS[mask[check]])
    return int(check.sum())


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_resize_sizes_and_nearest_mask() -> None:
    image, mask = block_pair()
    out_i, out_m = Resize((48, 18))(image, mask, rng())
    assert out_i.shape == (48, 18, 3) and out_i.dtype == np.uint8
    assert out_m.shape == (48, 18) and out_m.dtype == np.uint8
    assert set(np.unique(out_m)) <= set(np.unique(mask))
    assert assert_aligned(out_i, out_m) > 100


def test_resize_handles_int64_masks() -> None:
    image, mask = block_pair()
    _, out_m = Resize((12, 18))(image, mask.astype(np.int64), rng())
    assert out_m.shape == (12, 18)
    np.testing.assert_array_equal(out_m, mask[::2, ::2])


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_flip_keeps_alignment(p: float) -> None:
    image, mask = block_pair()
    out_i, out_m = RandomHorizontalFlip(p)(image, mask, rng())
    expected = mask[:, ::-1] if p == 1.0 else mask
    np.testing.assert_array_equal(out_m, expected)
    np.testing.assert_array_equal(out_i, COLOURS[expected])


def test_flip_probability_is_drawn_from_rng() -> None:
    image, mask = block_pair()
    flips = sum(
        bool((RandomHorizontalFlip(0.5)(image, mask, rng(s))[1] != mask).any()) for s in range(200)
    )
    assert 60 < flips < 140


@pytest.mark.parametrize("seed", range(6))
def test_random_scale_crop_keeps_alignment(seed: int) -> None:
    image, mask = block_pair(48, 60)
    out_i, out_m = RandomScaleCrop((32, 40), (0.75, 2.0), IGNORE)(image, mask, rng(seed))
    assert out_i.shape == (32, 40, 3) and out_m.shape == (32, 40)
    assert assert_aligned(out_i, out_m) > 100


def test_alignment_check_catches_a_two_pixel_shift() -> None:
    image, mask = block_pair(48, 60)
    out_i, out_m = RandomScaleCrop((32, 40), (0.75, 0.75), IGNORE)(image, mask, rng(0))
    with pytest.raises(AssertionError):
        assert_aligned(out_i[:, 2:], out_m[:, :-2])


@pytest.mark.parametrize("seed", range(4))
def test_unscaled_crop_is_pixel_exact(seed: int) -> None:
    image, mask = block_pair(48, 60)
    out_i, out_m = RandomScaleCrop((32, 40), (1.0, 1.0), IGNORE)(image, mask, rng(seed))
    np.testing.assert_array_equal(out_i, COLOURS[out_m])
    assert any(np.array_equal(out_m, mask[y:y + 32, x:x + 40]) for y in range(17) for x in range(21))


def test_random_scale_crop_pads_with_zero_and_ignore() -> None:
    image, mask = block_pair(24, 36)
    out_i, out_m = RandomScaleCrop((40, 50), (0.5, 0.5), IGNORE)(image, mask, rng())
    assert out_i.shape == (40, 50, 3) and out_m.shape == (40, 50)
    # scaled to 12x18, padded bottom/right: the crop must start at (0, 0)
    assert (out_m[12:, :] == IGNORE).all() and (out_m[:, 18:] == IGNORE).all()
    assert (out_i[12:, :] == 0).all() and (out_i[:, 18:] == 0).all()
    assert (out_m[:12, :18] != IGNORE).all()
    assert assert_aligned(out_i[:12, :18], out_m[:12, :18]) > 0


def test_random_scale_crop_promotes_mask_dtype_for_a_large_ignore_index() -> None:
    image, mask = block_pair(24, 36)
    _, out_m = RandomScaleCrop((30, 40), (1.0, 1.0), ignore_index=300)(image, mask, rng())
    assert (out_m[24:] == 300).all()


def test_colour_jitter_changes_colours_not_mask() -> None:
    image, mask = block_pair()
    out_i, out_m = ColourJitter(0.4, 0.4, 0.4, 0.1)(image, mask, rng(3))
    assert out_i.dtype == np.uint8 and out_i.shape == image.shape
    assert out_m is mask
    assert not np.array_equal(out_i, image)


def test_colour_jitter_with_zero_strength_is_identity() -> None:
    image, mask = block_pair()
    out_i, _ = ColourJitter(0, 0, 0, 0)(image, mask, rng())
    np.testing.assert_array_equal(out_i, image)


def test_hue_shift_moves_hue_only() -> None:
    image = np.full((4, 4, 3), (200, 40, 40), dtype=np.uint8)
    out, _ = ColourJitter(0, 0, 0, 0.5)(image, None, rng(1))
    assert not np.array_equal(out, image)
    # brightness (max channel) and saturation range (max - min) survive a pure hue rotation
    assert abs(int(out.max()) - 200) <= 1 and abs(int(out.max()) - int(out.min()) - 160) <= 2


def test_normalize_and_to_tensor_values() -> None:
    image = np.zeros((2, 3, 3), dtype=np.uint8)
    image[0, 1] = (255, 128, 0)
    out_i, _ = Normalize(IMAGENET_MEAN, IMAGENET_STD)(image, None, rng())
    assert out_i.dtype == np.float32 and out_i.shape == (2, 3, 3)
    expected = (np.array([255, 128, 0]) / 255 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    np.testing.assert_allclose(out_i[0, 1], expected, rtol=1e-5)
    t, m = ToTensor()(out_i, None, rng())
    assert m is None
    assert t.shape == (3, 2, 3) and t.dtype == torch.float32
    np.testing.assert_allclose(t[:, 0, 1].numpy(), expected, rtol=1e-5)  # no second scaling


def test_to_tensor_scales_uint8_and_converts_mask() -> None:
    image, mask = block_pair(4, 6, 2)
    t, m = ToTensor()(image, mask, rng())
    assert t.shape == (3, 4, 6) and t.dtype == torch.float32
    assert m.shape == (4, 6) and m.dtype == torch.int64
    np.testing.assert_allclose(t.permute(1, 2, 0).numpy(), image / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(m.numpy(), mask)


@pytest.mark.parametrize(
    ("transform", "shape"),
    [
        (Resize((12, 12)), (12, 12, 3)),
        (RandomScaleCrop((10, 10), ignore_index=IGNORE), (10, 10, 3)),
        (RandomHorizontalFlip(1.0), (24, 36, 3)),
        (ColourJitter(), (24, 36, 3)),
        (Normalize(IMAGENET_MEAN, IMAGENET_STD), (24, 36, 3)),
        (ToTensor(), (3, 24, 36)),
    ],
    ids=lambda v: type(v).__name__,
)
def test_none_mask_passes_through(transform, shape: tuple[int, ...]) -> None:
    image, _ = block_pair()
    out_i, out_m = transform(image, None, rng())
    assert out_m is None
    assert tuple(out_i.shape) == shape


def test_train_transform_output_and_reproducibility() -> None:
    image, mask = block_pair(48, 60)
    tf = train_transform((32, 40), IMAGENET_MEAN, IMAGENET_STD, IGNORE)
    a_i, a_m = tf(image, mask, rng(7))
    b_i, b_m = tf(image, mask, rng(7))
    c_i, _ = tf(image, mask, rng(8))
    assert a_i.shape == (3, 32, 40) and a_i.dtype == torch.float32
    assert a_m.shape == (32, 40) and a_m.dtype == torch.int64
    assert torch.equal(a_i, b_i) and torch.equal(a_m, b_m)
    assert not torch.equal(a_i, c_i)


def test_eval_transform_and_preprocess_frame_agree() -> None:
    image, mask = block_pair()
    tf = eval_transform(IMAGENET_MEAN, IMAGENET_STD)
    t, m = tf(image, mask, rng())
    assert t.shape == (3, 24, 36) and m.shape == (24, 36)
    assert torch.equal(preprocess_frame(image, IMAGENET_MEAN, IMAGENET_STD), t)
    sized, _ = eval_transform(IMAGENET_MEAN, IMAGENET_STD, (12, 18))(image, None, rng())
    assert sized.shape == (3, 12, 18)
    assert torch.equal(preprocess_frame(image, IMAGENET_MEAN, IMAGENET_STD, (12, 18)), sized)


def test_preprocess_frame_rejects_non_rgb_uint8() -> None:
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        preprocess_frame(np.zeros((4, 4), dtype=np.uint8), IMAGENET_MEAN, IMAGENET_STD)


def test_compose_runs_in_order() -> None:
    image, mask = block_pair()
    out_i, out_m = Compose([RandomHorizontalFlip(1.0), Resize((12, 18)), ToTensor()])(image, mask, rng())
    np.testing.assert_array_equal(out_m.numpy(), mask[:, ::-1][::2, ::2])


@pytest.mark.parametrize(
    "make",
    [lambda: Resize((0, 4)), lambda: RandomScaleCrop((4, 4), (2.0, 1.0)), lambda: Normalize((0, 0), (1, 1)),
     lambda: Normalize((0, 0, 0), (1, 0, 1)), lambda: ColourJitter(hue=0.7)],
)
def test_bad_parameters_are_config_errors(make) -> None:
    with pytest.raises(ConfigError):
        make()

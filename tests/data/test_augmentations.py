from __future__ import annotations

import numpy as np
import pytest

from core.data import IMAGENET_MEAN, IMAGENET_STD, ColourJitter, Compose, train_transform
from core.data.augmentations import AUGMENTATIONS, Cutout, GaussianBlur
from core.errors import ConfigError
from core.train.config import TrainConfig
from core.train.recipe import Recipe

IGNORE = 255


def noisy_pair(h: int = 40, w: int = 60) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    mask = rng.integers(0, 5, size=(h, w)).astype(np.uint8)
    return image, mask


def test_the_standard_preset_is_the_pipeline_every_earlier_run_trained_with():
    image, mask = noisy_pair()
    default = train_transform((32, 40), IMAGENET_MEAN, IMAGENET_STD, IGNORE)
    standard = train_transform((32, 40), IMAGENET_MEAN, IMAGENET_STD, IGNORE, augmentation="standard")
    assert [type(t).__name__ for t in default.transforms] == [
        "RandomScaleCrop", "RandomHorizontalFlip", "ColourJitter", "Normalize", "ToTensor"]
    assert default.transforms[2] == ColourJitter()
    a = default(image, mask, np.random.default_rng(0))
    b = standard(image, mask, np.random.default_rng(0))
    assert np.array_equal(a[0].numpy(), b[0].numpy()) and np.array_equal(a[1].numpy(), b[1].numpy())


def test_the_strong_preset_replays_with_a_seed_and_changes_the_crops():
    image, mask = noisy_pair()
    strong = train_transform((32, 40), IMAGENET_MEAN, IMAGENET_STD, IGNORE, augmentation="strong")
    standard = train_transform((32, 40), IMAGENET_MEAN, IMAGENET_STD, IGNORE)
    names = [type(t).__name__ for t in strong.transforms]
    assert names[2:5] == ["ColourJitter", "GaussianBlur", "Cutout"]
    first, again = strong(image, mask, np.random.default_rng(7)), strong(image, mask, np.random.default_rng(7))
    assert np.array_equal(first[0].numpy(), again[0].numpy()) and np.array_equal(first[1].numpy(), again[1].numpy())
    differs = [not np.array_equal(strong(image, mask, np.random.default_rng(s))[0].numpy(),
                                  standard(image, mask, np.random.default_rng(s))[0].numpy()) for s in range(5)]
    assert any(differs)


def test_cutout_greys_a_box_and_ignores_its_labels():
    image, mask = noisy_pair()
    cut = Cutout(IGNORE, probability=1.0, side=(0.25, 0.25))
    out, out_mask = cut(image, mask, np.random.default_rng(0))
    grey = np.all(out == np.asarray(cut.fill, np.uint8), axis=-1)
    assert grey.sum() == 10 * 15
    assert np.all(out_mask[grey] == IGNORE) and np.array_equal(out_mask[~grey], mask[~grey])
    assert np.array_equal(out[~grey], image[~grey])
    assert np.array_equal(image, noisy_pair()[0]), "the input was changed in place"
    unlabelled, none = cut(image, None, np.random.default_rng(0))
    assert none is None and np.array_equal(unlabelled, out)


def test_blur_and_cutout_at_probability_zero_change_nothing():
    image, mask = noisy_pair()
    for transform in (GaussianBlur(probability=0.0), Cutout(IGNORE, probability=0.0)):
        out, out_mask = transform(image, mask, np.random.default_rng(0))
        assert out is image and out_mask is mask


def test_blur_smooths_and_keeps_the_mask():
    image, mask = noisy_pair()
    out, out_mask = GaussianBlur(probability=1.0, sigma=(1.0, 1.0))(image, mask, np.random.default_rng(0))
    assert out.dtype == np.uint8 and out.shape == image.shape and out_mask is mask
    assert np.abs(np.diff(out.astype(int), axis=1)).mean() < np.abs(np.diff(image.astype(int), axis=1)).mean() / 2


@pytest.mark.parametrize("make", [lambda: GaussianBlur(probability=1.5), lambda: GaussianBlur(sigma=(0.0, 1.0)),
                                  lambda: Cutout(IGNORE, probability=-0.1), lambda: Cutout(IGNORE, side=(0.5, 0.2))])
def test_out_of_range_parameters_are_refused(make):
    with pytest.raises(ConfigError):
        make()


def test_an_unknown_preset_gives_one_line_naming_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown augmentation 'heavy' \(known: standard, strong\)"):
        train_transform((32, 40), IMAGENET_MEAN, IMAGENET_STD, IGNORE, augmentation="heavy")
    with pytest.raises(ConfigError, match="augment"):
        TrainConfig(data="d", out="o", augment="heavy")
    assert isinstance(Compose(AUGMENTATIONS.get("strong")(IGNORE)), Compose)


def test_the_setting_round_trips_through_run_json_and_recipes(tmp_path):
    config = TrainConfig(data="d", out="o", augment="strong")
    assert TrainConfig.from_json(config.to_json()).augment == "strong"
    assert TrainConfig(data="d", out="o").augment == "standard"
    path = tmp_path / "recipe.json"
    path.write_text('{"format_version": 1, "common": {"augment": "strong"}, "phases": [{"epochs_stage1": 2}]}')
    (phase,) = Recipe.load(path).configs("data", tmp_path / "run")
    assert phase.augment == "strong"

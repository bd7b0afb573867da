"""The Live page's pictures and threshold edits, without Qt (core.runtime.video.live_view)."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import ConfigError
from core.data.classes import CLASS_SETS
from core.models import FINAL_EXIT, HeadConfig, convert_backbone
from core.runtime.config import ExitConfig
from core.runtime.live import FrameResult, LiveRunner
from core.runtime.video.live_view import (GAP, border_width, compose, describe_exits, exit_depths, fit_size,
                                    full_network_result, overlay_at, pair_layout, uniform_thresholds, with_thresholds)
from core.runtime.video.overlay import exit_colour

PALETTE = [(0, 0, 255), (255, 0, 0)]


def result(full: bool = False, h: int = 36, w: int = 48) -> FrameResult:
    labels = np.zeros((h, w), np.uint8)
    labels[:, w // 2:] = 1
    out = FrameResult(index=3, image=np.full((h, w, 3), 100, np.uint8), labels=labels,
                      exit_id="features.3:fcn-c64-b0", exit_index=0, exit_depth=0.2, latency_ms=12.3, confidence=0.9)
    if full:
        out.full_labels = np.ones((h, w), np.uint8)
        out.full_latency_ms = 45.6
    return out


def test_fit_size_keeps_the_aspect_inside_the_box():
    assert fit_size((540, 960), (480, 480)) == (480, 270)
    assert fit_size((360, 480), (1000, 360)) == (480, 360)
    assert fit_size((100, 100), (0, 0)) == (1, 1)
    with pytest.raises(ValueError):
        fit_size((0, 10), (10, 10))


def test_overlay_at_resizes_frame_and_labels_and_blends():
    frame = np.full((54, 96, 3), 200, np.uint8)
    labels = result().labels
    out = overlay_at(frame, labels, PALETTE, 1.0, (192, 108))
    assert out.shape == (108, 192, 3)
    assert out[50, 10].tolist() == [0, 0, 255] and out[50, 180].tolist() == [255, 0, 0]  # sharp classes
    assert np.array_equal(overlay_at(frame, labels, PALETTE, 0.0, (96, 54)), frame)


def test_compose_draws_the_exit_border_at_display_size():
    frame = np.full((54, 96, 3), 128, np.uint8)
    out = compose(frame, result(), PALETTE, 0.5, box=(400, 400))
    assert out.shape == (225, 400, 3)                       # the source's 16:9, not the model's 4:3
    colour = list(exit_colour(0.2))
    t = border_width((400, 225))
    assert out[t // 2, 200].tolist() == colour and out[-1, -1].tolist() == colour
    native = compose(frame, result(), PALETTE, 0.5)
    assert native.shape == frame.shape
    plain = compose(frame, result(), PALETTE, 1.0, annotated=False)
    assert plain[27, 10].tolist() == [0, 0, 255]


def test_compose_side_by_side_with_the_full_network():
    frame = np.full((36, 48, 3), 128, np.uint8)
    out = compose(frame, result(full=True), PALETTE, 1.0, box=(2 * 240 + GAP, 200))    # a wide box: a row
    assert out.shape == (180, 2 * 240 + GAP, 3)
    assert out[90, 240 + GAP // 2].tolist() == [255, 255, 255]                  # the gap
    assert out[-1, -1].tolist() == list(exit_colour(1.0))                      # the full side: the final's red
    assert out[-1, 0].tolist() == list(exit_colour(0.2))
    full = full_network_result(result(full=True))
    assert full.exit_id == FINAL_EXIT and full.latency_ms == pytest.approx(45.6) and full.full_labels is None
    assert full_network_result(result()) is None


def test_compose_stacks_the_full_network_below_in_a_tall_box():
    frame = np.full((36, 48, 3), 128, np.uint8)
    out = compose(frame, result(full=True), PALETTE, 1.0, box=(486, 500))
    assert out.shape == (2 * 247 + GAP, 329, 3), "one above the other: larger than 240x180 side by side"
    assert out[247 + GAP // 2, 160].tolist() == [255, 255, 255]                # the gap, across
    assert out[-1, -1].tolist() == list(exit_colour(1.0)) and out[0, 0].tolist() == list(exit_colour(0.2))


@pytest.mark.parametrize("frame_hw", [(720, 1280), (360, 480), (1080, 1920), (480, 640)])
@pytest.mark.parametrize("box", [(1000, 625), (1280, 720), (1600, 780), (900, 700), (1920, 1000), (700, 900)])
def test_side_by_side_pictures_cover_at_least_half_of_the_view(frame_hw, box):
    """Two pictures fill at least half of the view whatever the aspects (a row only: 16:9 in 16:10, 45 %)."""
    layout, (w, h) = pair_layout(frame_hw, box)
    drawn = (2 * w + GAP) * h if layout == "row" else w * (2 * h + GAP)
    assert drawn / (box[0] * box[1]) >= 0.48, (layout, w, h)
    assert (2 * w + GAP <= box[0] and h <= box[1]) if layout == "row" else (w <= box[0] and 2 * h + GAP <= box[1])
    out = compose(np.zeros((*frame_hw, 3), np.uint8), result(full=True), PALETTE, 0.5, box=box)
    assert out.shape[1] <= box[0] and out.shape[0] <= box[1]
    assert out.shape[0] * out.shape[1] == drawn


def test_with_thresholds_sets_every_exit_and_validates():
    config = ExitConfig(["a", "b", "c"], [0.9, 0.8, 0.7], [0.5, 0.5, 0.5])
    edited = with_thresholds(config, 0.25, 1.0)
    assert edited.th_pix == [0.25] * 3 and edited.th_img == [1.0] * 3 and edited.exits == config.exits
    assert config.th_pix == [0.9, 0.8, 0.7], "the original is left alone"
    assert edited.policy == config.policy and edited.mode == "dynamic"
    static = ExitConfig.static("a")
    assert with_thresholds(static, 0.1, 0.1) is static
    with pytest.raises(ConfigError):
        with_thresholds(config, 1.5, 0.5)
    assert uniform_thresholds(config) == (0.9, 0.5)
    assert uniform_thresholds(static) is None and uniform_thresholds(None) is None


def test_exit_depths_are_the_runners_and_configs_are_described():
    net = convert_backbone("mobilenet_v3_large", CLASS_SETS.get("camvid"), [HeadConfig("fcn", "64", 0)],
                           points=["features.6", "features.12"], input_size=(48, 64))
    assert exit_depths(net) == LiveRunner(net).exit_depths
    first = net.exit_ids()[0]
    assert describe_exits(ExitConfig([first, FINAL_EXIT])) == "features.6 › final  (dynamic)"
    assert describe_exits(None) == "full network"

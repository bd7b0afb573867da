"""Overlay drawing: class colours, blending, the exit colour ramp, the border and the badge."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest

from core.data.classes import CLASS_SETS
from core.models import FINAL_EXIT
from core.runtime.live import FrameResult
from core.runtime.video.overlay import (
    annotate,
    badge_text,
    blend,
    colorize,
    exit_colour,
    OVERLAY_STYLES,
    boundaries,
    check_style,
    exit_legend,
    fill_palette,
    high_contrast_palette,
    legend,
    outline_palette,
    render,
    short_exit_name,
    side_by_side,
    stacked,
    style_overlay,
)

PALETTE = [(10, 20, 30), (200, 0, 0), (0, 0, 255)]


def result(h: int = 360, w: int = 480, exit_id: str = "features.6:fcn-c64-b0", depth: float = 0.4,
           latency: float = 23.4) -> FrameResult:
    return FrameResult(index=0, image=np.full((h, w, 3), 90, np.uint8), labels=np.zeros((h, w), np.uint8),
                       exit_id=exit_id, exit_index=0, exit_depth=depth, latency_ms=latency, confidence=0.8)


def test_colorize_uses_the_palette_and_blacks_out_the_rest():
    labels = np.array([[0, 1], [2, 255]], np.uint8)
    out = colorize(labels, PALETTE)
    assert out.shape == (2, 2, 3) and out.dtype == np.uint8
    assert (out[0, 0].tolist() == [10, 20, 30] and out[0, 1].tolist() == [200, 0, 0]
            and out[1, 0].tolist() == [0, 0, 255])
    assert out[1, 1].tolist() == [0, 0, 0]
    wide = colorize(np.array([[0, 1], [2, -1]], np.int64), np.array(PALETTE))
    assert wide[:, :].tolist()[0] == out.tolist()[0] and wide[1, 1].tolist() == [0, 0, 0]
    camvid = CLASS_SETS.get("camvid")
    labels = np.arange(camvid.num_classes, dtype=np.uint8).reshape(1, -1)
    np.testing.assert_array_equal(colorize(labels, camvid), camvid.colorize(labels))
    with pytest.raises(ValueError):
        colorize(np.zeros((2, 2, 3), np.uint8), PALETTE)


def test_blend():
    image = np.full((4, 4, 3), 100, np.uint8)
    colour = np.full((4, 4, 3), 200, np.uint8)
    assert np.array_equal(blend(image, colour, 0.0), image)
    assert np.array_equal(blend(image, colour, 1.0), colour)
    assert np.all(np.abs(blend(image, colour, 0.5).astype(int) - 150) <= 1)
    assert np.array_equal(blend(image, colour, 7.0), colour)  # clamped
    with pytest.raises(ValueError):
        blend(image, colour[:2], 0.5)


def test_exit_colour_ramp_green_to_red():
    shallow, final = exit_colour(0.0), exit_colour(1.0)
    assert shallow[1] > 150 and shallow[0] < 50  # green
    assert final[0] > 200 and final[1] < 60  # red
    middle = exit_colour(0.45)
    assert middle[0] > 200 and middle[1] > 180  # yellow
    ramp = [exit_colour(d) for d in np.linspace(0, 1, 11)]
    hues = [colorsys.rgb_to_hsv(*(v / 255 for v in c))[0] for c in ramp]
    assert all(a > b for a, b in zip(hues, hues[1:]))  # warmer and warmer as exits get deeper
    assert len(set(ramp)) == len(ramp)
    for c in ramp:  # bold, saturated colours, readable from afar
        assert max(c) - min(c) >= 150
    assert exit_colour(-1) == shallow and exit_colour(2) == final


def test_short_names_and_badge_text():
    assert short_exit_name("features.12:fcn-c128-b2-rdi") == "features.12"
    assert short_exit_name(FINAL_EXIT) == FINAL_EXIT
    assert badge_text(result(latency=23.4)) == "exit features.6  23 ms"


def test_annotate_draws_a_border_and_a_big_badge_at_480x360():
    r = result()
    out = annotate(r.image, r)
    assert out.shape == r.image.shape and out.dtype == np.uint8
    assert np.all(r.image == 90)  # the input is untouched
    colour = np.array(exit_colour(r.exit_depth))
    assert np.array_equal(out[0, 0], colour) and np.array_equal(out[-1, -1], colour)
    assert np.array_equal(out[180, 3], colour) and np.array_equal(out[3, 240], colour)
    # the badge: a block of the exit colour inside the border, top left, large enough to read
    inner = np.all(out[12:180, 12:400] == colour, axis=-1)
    rows, cols = np.nonzero(inner)
    assert rows.size > 0
    assert rows.max() - rows.min() >= 24 and cols.max() - cols.min() >= 150
    # and text on it in a contrasting colour
    badge = out[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    assert np.any(np.all(badge == 0, axis=-1) | np.all(badge == 255, axis=-1))


def test_annotate_small_frames_and_long_names_fit():
    r = result(48, 64, exit_id="features.12:dlb-c128-b1", depth=0.9, latency=1234.0)
    out = annotate(r.image, r)
    assert out.shape == (48, 64, 3)
    assert not np.array_equal(out, r.image)


def test_render_blends_and_annotates():
    r = result(60, 80)
    r.labels[:, 40:] = 1
    out = render(r, PALETTE, opacity=1.0, annotated=False)
    assert out[30, 70].tolist() == [200, 0, 0] and out[30, 10].tolist() == [10, 20, 30]
    assert render(r, PALETTE, opacity=0.0, annotated=False).tolist() == r.image.tolist()
    assert render(r, PALETTE).shape == (60, 80, 3)


def test_legends_and_side_by_side():
    camvid = CLASS_SETS.get("camvid")
    entries = legend(camvid)
    assert [name for name, _ in entries] == list(camvid.names)
    assert entries[0][1] == tuple(camvid.palette[0])
    assert legend((["a", "b"], PALETTE[:2])) == [("a", (10, 20, 30)), ("b", (200, 0, 0))]
    with pytest.raises(ValueError):
        legend((["a"], PALETTE))
    exits = exit_legend({FINAL_EXIT: 1.0, "features.3:x": 0.2})
    assert [name for name, _ in exits] == ["features.3", FINAL_EXIT]
    both = side_by_side(np.zeros((10, 8, 3), np.uint8), np.zeros((10, 6, 3), np.uint8), gap=2)
    assert both.shape == (10, 16, 3)


CAMVID_DARK = [(128, 64, 128), (64, 0, 128), (64, 64, 0), (128, 128, 128)]   # road, car, pedestrian, sky


def road_with_a_car(h: int = 60, w: int = 80) -> tuple[np.ndarray, np.ndarray]:
    """A dark road picture with a car (class 1) in the middle; the labels and the frame."""
    labels = np.zeros((h, w), np.uint8)
    labels[20:40, 30:50] = 1
    return labels, np.full((h, w, 3), 70, np.uint8)


def test_the_outline_style_draws_class_boundaries_at_full_opacity():
    labels, frame = road_with_a_car()
    out = style_overlay(frame, labels, CAMVID_DARK, 0.5, "outline")
    outline = outline_palette(CAMVID_DARK)
    assert out[20, 40].tolist() == outline[1].tolist(), "the car's boundary pixel in the car's outline colour"
    assert out[19, 40].tolist() == outline[0].tolist(), "the road's side of the boundary in the road's"
    assert out[30, 40].tolist() == style_overlay(frame, labels, CAMVID_DARK, 0.5, "plain")[30, 40].tolist()
    edge = boundaries(labels)
    assert edge[20, 40] and edge[39, 49] and not edge[30, 40] and not edge[5, 5]
    assert edge.sum() == 76 + 80, "the car's own outer ring (20x20: 76 pixels) and the road's beside it (4 x 20)"


def test_outline_colours_of_dark_classes_are_lifted_and_stand_out_on_a_dark_road():
    outline = outline_palette(CAMVID_DARK).astype(float)
    luma = outline @ np.array([0.299, 0.587, 0.114])
    assert (luma >= 149).all(), "every outline at least medium bright"
    assert outline_palette([(255, 255, 0)]).tolist() == [[255, 255, 0]], "a bright colour is kept"
    labels, frame = road_with_a_car()
    plain = style_overlay(frame, labels, CAMVID_DARK, 0.5, "plain")
    lined = style_overlay(frame, labels, CAMVID_DARK, 0.5, "outline")
    road = plain[5, 5].astype(int)
    assert np.abs(lined[20, 40].astype(int) - road).sum() > 3 * np.abs(plain[30, 40].astype(int) - road).sum()


def test_the_high_contrast_palette_is_vivid_and_keeps_hues():
    vivid = high_contrast_palette(CAMVID_DARK)
    assert vivid[1].tolist() == [128, 0, 255] and vivid[2].tolist() == [255, 255, 0]
    assert vivid[3].tolist() == [255, 255, 255] and high_contrast_palette([(20, 20, 20)]).tolist() == [[0, 0, 0]]
    labels, frame = road_with_a_car()
    out = style_overlay(frame, labels, CAMVID_DARK, 1.0, "high-contrast")
    assert out[30, 40].tolist() == [128, 0, 255]
    assert fill_palette(CAMVID_DARK, "high-contrast").tolist() == vivid.tolist()
    assert fill_palette(CAMVID_DARK, "outline").tolist() == [list(c) for c in CAMVID_DARK]


def test_overlay_styles_are_checked_and_render_takes_one():
    assert OVERLAY_STYLES == ("plain", "outline", "high-contrast") and check_style("outline") == "outline"
    with pytest.raises(ValueError, match="plain, outline, high-contrast"):
        check_style("neon")
    r = result()
    r.labels[100:200, 100:200] = 1
    lined = render(r, PALETTE, 0.5, annotated=False, style="outline")
    assert lined[100, 150].tolist() == outline_palette(PALETTE)[1].tolist()
    assert render(r, PALETTE, 0.5, annotated=False)[100, 150].tolist() != lined[100, 150].tolist()


def test_stacked_puts_one_picture_above_the_other():
    top, bottom = np.zeros((10, 20, 3), np.uint8), np.full((5, 20, 3), 9, np.uint8)
    out = stacked(top, bottom, gap=2)
    assert out.shape == (17, 20, 3) and out[11].tolist() == [[255, 255, 255]] * 20 and out[-1, 0].tolist() == [9] * 3
    with pytest.raises(ValueError):
        stacked(top, np.zeros((5, 21, 3), np.uint8))

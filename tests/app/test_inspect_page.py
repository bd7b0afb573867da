"""The Inspect page, clicked through: open an image or a video, scrub, add a label, click an exit, save;
the Live page's 'Inspect' hands its frame over."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.pages.inspect_page import InspectPage
from core.models.spec import FINAL_EXIT
from core.runtime.config import ExitConfig
from tests.data.builders import street_frames, street_image, write_camvid, write_video
from tests.train.conftest import one_thread

from .conftest import LOAD_TIMEOUT_MS


@pytest.fixture(autouse=True)
def single_thread():
    with one_thread():
        yield


def street(seed: int, h: int = 360, w: int = 480) -> np.ndarray:
    """BGR: sky over road with a box, plus noise."""
    return street_image((h, w), box_x=40 + 30 * seed, rng=np.random.default_rng(seed), box=(90, 30, 40), noise=10)


@pytest.fixture
def page(qtbot, loaded_state, settings):
    page = InspectPage(loaded_state, settings)
    qtbot.addWidget(page)
    page.show()
    yield page
    page.shutdown()


def wait_done(qtbot, page) -> None:
    qtbot.waitUntil(lambda: page.outcome is not None and not page.busy, timeout=LOAD_TIMEOUT_MS)


def test_an_image_is_shown_through_every_exit_and_a_click_scrolls_to_an_exit(qtbot, page, loaded_state, tmp_path):
    picture = tmp_path / "street.png"
    cv2.imwrite(str(picture), street(0))
    assert page.open_source(picture)
    wait_done(qtbot, page)
    exits = page.outcome.inspection.exits
    assert page.table.rowCount() == len(loaded_state.net.exit_ids()) == len(exits)
    assert [page.table.item(r, 0).text() for r in range(page.table.rowCount())][-1] == FINAL_EXIT
    leaving = [r for r in range(page.table.rowCount()) if page.table.item(r, 3).text() == "leaves"]
    assert len(leaving) == 1 and page.table.item(leaving[0], 0).text() == page.outcome.inspection.leaves_at
    shown = page.picture.pixmap()
    assert not shown.isNull() and shown.width() <= page.outcome.grid.shape[1]
    assert abs(shown.height() / shown.width() - page.outcome.grid.shape[0] / page.outcome.grid.shape[1]) < 0.01
    assert not page.slider.isEnabled()                       # an image has no frames to scrub
    page.resize(1200, 700)
    row = 8
    rect = page.table.visualItemRect(page.table.item(row, 0))
    qtbot.mouseClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    expected = min(round(page.outcome.rows[exits[row].exit_id] * page.grid_scale),
                   page.scroll.verticalScrollBar().maximum())
    assert page.scroll.verticalScrollBar().value() == expected > 0
    assert page.table.item(row, 4).text() == "-"             # no label: no mIoU


def test_the_live_configuration_decides_where_the_frame_leaves(qtbot, page, loaded_state, tmp_path):
    picture = tmp_path / "street.png"
    cv2.imwrite(str(picture), street(1))
    early = "features.6:fcn-c128-b2-rdi"
    loaded_state.set_config(ExitConfig([early, FINAL_EXIT], th_pix=[0.0, 0.0], th_img=[0.0, 0.0]))
    assert page.open_source(picture)
    wait_done(qtbot, page)
    assert page.outcome.inspection.leaves_at == early          # th 0: everything leaves at the first exit
    loaded_state.set_config(ExitConfig([early, FINAL_EXIT], th_pix=[1.0, 0.0], th_img=[1.0, 0.0]))
    qtbot.waitUntil(lambda: not page.busy and page.outcome.inspection.leaves_at == FINAL_EXIT,
                    timeout=LOAD_TIMEOUT_MS)


def test_a_video_is_scrubbed_and_a_label_adds_miou(qtbot, page, tmp_path):
    video = tmp_path / "clip.mp4"
    write_video(video, (street(i) for i in range(4)))
    assert page.open_source(video)
    wait_done(qtbot, page)
    assert page.slider.isEnabled() and page.frame_box.maximum() == 3
    page.slider.setValue(2)
    qtbot.waitUntil(lambda: not page.busy and page.outcome.request.frame == 2, timeout=LOAD_TIMEOUT_MS)
    assert "clip.mp4, frame 2" in page.status.text()
    label = tmp_path / "label.png"
    mask = np.full((360, 480), 3, np.uint8)
    mask[:180] = 0
    cv2.imwrite(str(label), mask)
    page.set_label(label)
    qtbot.waitUntil(lambda: not page.busy and page.outcome.inspection.label is not None, timeout=LOAD_TIMEOUT_MS)
    assert all(page.table.item(r, 4).text() != "-" for r in range(page.table.rowCount()))
    saved = page.save_grid(tmp_path / "out" / "grid.png")
    assert saved is not None and cv2.imread(str(saved)).shape[:2] == page.outcome.grid.shape[:2]
    record = json.loads(saved.with_suffix(".json").read_text())
    assert record["labelled"] is True and record["image"] == "clip.mp4, frame 2"
    assert all(e["miou"] is not None for e in record["exits"])


def test_bad_files_say_so_and_keep_what_was_shown(qtbot, page, tmp_path):
    picture = tmp_path / "street.png"
    cv2.imwrite(str(picture), street(0))
    assert page.open_source(picture)
    wait_done(qtbot, page)
    shown = page.outcome
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    assert not page.open_source(broken)
    assert "broken.png: cannot be read as an image" in page.status.text()
    cv2.imwrite(str(tmp_path / "small.png"), np.zeros((10, 10), np.uint8))    # before the worker reads it
    page.set_label(tmp_path / "small.png")
    qtbot.waitUntil(lambda: "mask is 10x10" in page.status.text(), timeout=LOAD_TIMEOUT_MS)
    assert page.outcome is shown                               # the last good inspection stays on screen


def test_live_pages_inspect_hands_its_frame_over(qtbot, window, loaded_state):
    live, inspect = window.pages["live"], window.pages["inspect"]
    window.show_page("live")
    assert not live.inspect_frame()                            # nothing played yet
    assert "No frame yet" in live.status.text()
    frame = cv2.cvtColor(street(2), cv2.COLOR_BGR2RGB)
    loaded_state.inspect_requested.emit(frame, "live frame 7")
    assert window.tabs.currentWidget() is inspect
    qtbot.waitUntil(lambda: inspect.outcome is not None and not inspect.busy, timeout=LOAD_TIMEOUT_MS)
    assert inspect.outcome.request.name == "live frame 7"
    assert np.array_equal(inspect.outcome.inspection.image, frame)


def test_the_live_pages_inspect_button_shows_the_playing_frame_on_the_inspect_page(qtbot, window, loaded_state,
                                                                                      tmp_path):
    """A clip really plays on the Live page; its Inspect button, clicked, hands the frame on screen over."""
    live, inspect = window.pages["live"], window.pages["inspect"]
    window.show_page("live")
    live.realtime_check.setChecked(False)
    clip = write_video(tmp_path / "clip.mp4", street_frames(6, (120, 160), seed=4, x0=10, dx=12, box=(30, 10, 15)))
    live.source.set_source("file", clip)
    qtbot.mouseClick(live.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: live.last_frame is not None or live.has_error, timeout=LOAD_TIMEOUT_MS)
    assert not live.has_error, live.status.text()
    qtbot.mouseClick(live.pause_button, Qt.MouseButton.LeftButton)
    handed = []                                # what the click handed over, and the frame then on screen
    loaded_state.inspect_requested.connect(lambda image, name: handed.append((image, name, live.last_frame)))
    qtbot.mouseClick(live.inspect_button, Qt.MouseButton.LeftButton)
    assert len(handed) == 1, "the Inspect button hands the frame over"
    image, name, shown = handed[0]
    assert image is shown.result.image and name == f"live frame {shown.result.index}"
    assert image.shape[:2] == tuple(loaded_state.net.spec.input_size)    # the frame at the processing size
    assert window.tabs.currentWidget() is inspect
    qtbot.waitUntil(lambda: inspect.outcome is not None and not inspect.busy, timeout=LOAD_TIMEOUT_MS)
    assert inspect.outcome.request.name == name
    assert np.array_equal(inspect.outcome.inspection.image, image)
    assert inspect.status.text().startswith(f"{name}: leaves at ")
    assert not inspect.picture.pixmap().isNull()


# --- the dataset view ----------------------------------------------------------------------------

def test_the_dataset_tab_draws_the_heat_map_and_a_listed_image_opens_with_its_label(qtbot, page, loaded_state,
                                                                                       settings, tmp_path):
    write_camvid(tmp_path / "camvid", "val", n=3)
    view = page.dataset
    view.folder.set_text(str(tmp_path / "camvid"))
    view.limit.setValue(2)
    qtbot.keyClick(page, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert page.tabs.currentWidget() is view
    qtbot.waitUntil(lambda: view.inspection is not None and not view.busy, timeout=LOAD_TIMEOUT_MS)
    exits = loaded_state.net.exit_ids()
    classes = loaded_state.net.spec.classes.names
    assert view.table.rowCount() == len(exits) and view.table.columnCount() == len(classes) + 2
    assert view.table.verticalHeaderItem(view.table.rowCount() - 1).text() == FINAL_EXIT
    agree = view.table.item(view.table.rowCount() - 1, len(classes) + 1)
    assert agree.text() == "100.0" and agree.background().color().name() != "#000000"
    assert view.worst.count() == 2 and "pp" in view.worst.item(0).text()
    assert settings.get("inspect/dataset", "") == str(tmp_path / "camvid") and settings.get("inspect/limit", 0) == 2
    rect = view.worst.visualItemRect(view.worst.item(0))
    qtbot.mouseClick(view.worst.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert page.tabs.currentIndex() == 0 and page.session.label is not None
    wait_done(qtbot, page)
    assert all(e.miou is not None for e in page.outcome.inspection.exits)   # inspected with its label


def test_the_dataset_tab_says_what_is_missing(qtbot, page, tmp_path):
    view = page.dataset
    view.folder.set_text("")
    assert not view.start() and "dataset folder" in view.status.text()
    view.folder.set_text(str(tmp_path / "absent"))
    assert view.start()
    qtbot.waitUntil(lambda: not view.busy, timeout=LOAD_TIMEOUT_MS)
    assert str(tmp_path / "absent") in view.status.text() and view.inspection is None

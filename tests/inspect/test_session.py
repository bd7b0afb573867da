"""InspectSession: the Inspect page's choices, checked without Qt."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.errors import DataError
from core.inspect.session import InspectSession
from tests.data.builders import flat_frames, write_video


def test_a_video_has_frames_to_choose_and_an_image_has_none(tmp_path):
    video = tmp_path / "v.mp4"
    write_video(video, flat_frames(5, (48, 64), step=40))
    session = InspectSession()
    with pytest.raises(DataError, match="open an image or a video"):
        session.request()
    session.open(video)
    assert session.is_video and session.frames == 5
    session.set_frame(99)
    assert session.frame == 4 and session.request().name == "v.mp4, frame 4"
    session.set_label(tmp_path / "l.png")
    picture = tmp_path / "p.png"
    cv2.imwrite(str(picture), np.zeros((48, 64, 3), np.uint8))
    session.open(picture)
    assert not session.is_video and session.label is None and session.frame == 0   # the label was another frame's
    with pytest.raises(DataError, match="only a video has frames"):
        session.set_frame(1)


def test_bad_sources_are_refused_and_leave_the_session_as_it_was(tmp_path):
    session = InspectSession()
    picture = tmp_path / "p.png"
    cv2.imwrite(str(picture), np.zeros((8, 8, 3), np.uint8))
    session.open(picture)
    (tmp_path / "bad.png").write_bytes(b"no")
    (tmp_path / "bad.mp4").write_bytes(b"no")
    for bad, message in ((tmp_path / "absent.png", "file is missing"), (tmp_path / "bad.png", "cannot be read"),
                         (tmp_path / "bad.mp4", "cannot be read as a video")):
        with pytest.raises(DataError, match=message):
            session.open(bad)
        assert session.path == picture
    with pytest.raises(DataError, match="not an RGB frame"):
        session.use_frame(np.zeros((8, 8), np.uint8), "live frame 1")
    session.use_frame(np.zeros((8, 8, 3), np.uint8), "live frame 2")
    assert session.path is None and session.request().name == "live frame 2"

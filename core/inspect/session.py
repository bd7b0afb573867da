"""What the Inspect page shows, without Qt: the frame's source, which frame, its label, and the job.

``InspectSession`` holds the choices (an image or video file and a frame of it, or a frame handed
over from the live view; an optional label image); ``inspection_job`` is the slow part, run on a
worker: it builds the backend's pieces, runs every exit and draws the grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.data.video_frames import frame_count, is_video_file
from core.errors import DataError
from core.inspect.frame import FrameInspection, inspect_frame
from core.inspect.grid import render_grid_rows
from core.inspect.loading import at_input_size, read_frame, read_label
from core.jobs import CancelToken, Job, Progress


@dataclass(frozen=True)
class InspectRequest:
    """Everything one inspection needs, read once (the session may change while it runs)."""

    path: Path | None
    frame: int
    image: np.ndarray | None      # a handed-over frame (RGB), used when ``path`` is None
    label: Path | None
    name: str


@dataclass(frozen=True)
class InspectOutcome:
    request: InspectRequest
    inspection: FrameInspection
    grid: np.ndarray              # RGB uint8
    rows: dict[str, int]          # each exit's top in the grid (pixels)


class InspectSession:
    """The source the page inspects. Setting a source checks it and raises a DataError naming it."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self.frame = 0
        self.frames = 0                        # a video's length; 0 for an image or a handed-over frame
        self.image: np.ndarray | None = None
        self.label: Path | None = None
        self.name = ""

    @property
    def ready(self) -> bool:
        return self.path is not None or self.image is not None

    @property
    def is_video(self) -> bool:
        return self.frames > 0

    def open(self, path: str | Path) -> None:
        """An image or a video file (its first frame); the label is dropped (it belonged to another frame)."""
        path = Path(path)
        if not path.is_file():
            raise DataError(f"{path}: file is missing")
        frames = frame_count(path) if is_video_file(path) else 0
        if is_video_file(path) and frames < 1:
            raise DataError(f"{path}: cannot be read as a video")
        if not frames:
            read_frame(path)                   # an unreadable image fails now, not on the worker
        self.path, self.frames, self.frame, self.image, self.label = path, frames, 0, None, None
        self.name = path.name

    def use_frame(self, image: np.ndarray, name: str) -> None:
        """A frame from elsewhere (the Live page's current one), HxWx3 uint8 RGB."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise DataError(f"{name}: not an RGB frame")
        self.path, self.frames, self.frame, self.label = None, 0, 0, None
        self.image, self.name = np.ascontiguousarray(image).copy(), name

    def set_frame(self, index: int) -> None:
        if not self.is_video:
            raise DataError(f"{self.name or 'the source'}: only a video has frames to choose from")
        self.frame = int(np.clip(index, 0, self.frames - 1))

    def set_label(self, path: str | Path | None) -> None:
        self.label = Path(path) if path else None

    def request(self) -> InspectRequest:
        if not self.ready:
            raise DataError("open an image or a video to inspect first")
        name = f"{self.name}, frame {self.frame}" if self.is_video else self.name
        return InspectRequest(self.path, self.frame, self.image, label=self.label, name=name)


def inspection_job(net, request: InspectRequest, *, config=None, backend: str | None = None,
                   precision: str = "fp32", cancel: CancelToken | None = None) -> Job[InspectOutcome]:
    """Job: read the frame (and label), build the backend's pieces, run every exit, draw the grid."""
    from core.runtime.backends import make_pieces

    cancel = cancel or CancelToken()
    spec = net.spec
    yield Progress("inspect", 0, 3, message=f"reading {request.name}")
    image = read_frame(request.path, request.frame) if request.path is not None else request.image
    image_path = request.path or request.name
    label = read_label(request.label, image, image_path, classes=spec.classes) if request.label else None
    size = tuple(spec.input_size) if spec.input_size else None
    image, label, tensor = at_input_size(image, label, size, mean=spec.mean, std=spec.std)
    cancel.check()
    yield Progress("inspect", 1, 3, message=f"preparing the {backend or 'default'} backend")
    device = next(net.parameters()).device
    pieces = make_pieces(net, (int(tensor.shape[-2]), int(tensor.shape[-1])), backend, precision=precision)
    cancel.check()
    yield Progress("inspect", 2, 3, message="running every exit")
    inspection = inspect_frame(net, image, tensor.to(device), config=config, label=label, pieces=pieces)
    grid, rows = render_grid_rows(inspection, spec.classes)
    return InspectOutcome(request, inspection, grid, rows=rows)

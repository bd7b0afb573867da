"""Class sets: the names, display colours and ignore index of a label space."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import DataError
from core.registry import Registry

RGB = tuple[int, int, int]


@dataclass
class ClassSet:
    """The label space of a dataset or model: class ``i`` is ``names[i]``, drawn ``palette[i]`` (RGB).

    ``ignore_index`` marks pixels left out of loss and metrics (void, border); it is
    never a class index.
    """

    name: str
    names: list[str]
    palette: list[RGB]
    ignore_index: int
    _lut: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.names:
            raise DataError(f"class set '{self.name}': it has no class names")
        if len(self.palette) != len(self.names):
            raise DataError(
                f"class set '{self.name}': palette has {len(self.palette)} colours"
                f" but there are {len(self.names)} class names"
            )
        self.names = [str(n) for n in self.names]
        self.palette = [_colour(c, self.name, i) for i, c in enumerate(self.palette)]
        if isinstance(self.ignore_index, bool) or not isinstance(self.ignore_index, (int, np.integer)):
            raise DataError(f"class set '{self.name}': ignore_index {self.ignore_index!r} is not an integer")
        self.ignore_index = int(self.ignore_index)
        if 0 <= self.ignore_index < len(self.names):
            raise DataError(
                f"class set '{self.name}': ignore_index {self.ignore_index} is a class index"
                f" (0..{len(self.names) - 1}); use a value outside that range"
            )
        self._lut = np.asarray(self.palette, dtype=np.uint8).reshape(-1, 3)

    @property
    def num_classes(self) -> int:
        return len(self.names)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "names": list(self.names),
            "palette": [list(c) for c in self.palette],
            "ignore_index": self.ignore_index,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ClassSet:
        if not isinstance(d, dict):
            raise DataError(f"class set: expected a JSON object, got {type(d).__name__}")
        missing = [k for k in ("names", "palette", "ignore_index") if k not in d]
        if missing:
            raise DataError(f"class set: missing key(s) {', '.join(missing)}")
        names, palette = d["names"], d["palette"]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise DataError("class set: 'names' must be a list of strings")
        if not isinstance(palette, list):
            raise DataError("class set: 'palette' must be a list of [r, g, b] colours")
        return cls(
            name=str(d.get("name", "custom")),
            names=list(names),
            palette=list(palette),
            ignore_index=d["ignore_index"],
        )

    def colorize(self, labels: np.ndarray) -> np.ndarray:
        """HxW class indices -> HxWx3 uint8 RGB; the ignore index and out-of-range values are black."""
        labels = np.asarray(labels)
        if labels.ndim != 2:
            raise ValueError(f"colorize expects an HxW label array, got shape {labels.shape}")
        out = np.zeros((*labels.shape, 3), dtype=np.uint8)
        valid = (labels >= 0) & (labels < self.num_classes)
        out[valid] = self._lut[labels[valid].astype(np.intp)]
        return out


def _colour(c: Any, set_name: str, i: int) -> RGB:
    ok = (
        isinstance(c, (list, tuple))
        and len(c) == 3
        and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= v <= 255 for v in c)
    )
    if not ok:
        raise DataError(f"class set '{set_name}': colour {i} {c!r} is not three integers 0..255")
    return (int(c[0]), int(c[1]), int(c[2]))


def load_class_set(path: str | Path) -> ClassSet:
    """Read a classes.json file; every problem is a DataError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file is missing")
    from core.jsonio import read_json

    d = read_json(path, "class set", DataError, max_bytes=4 << 20)
    if isinstance(d, dict) and "name" not in d:
        d = {**d, "name": path.parent.name or "custom"}
    try:
        return ClassSet.from_json(d)
    except DataError as e:
        raise DataError(f"{path}: {e}") from None


def _voc_colormap(n: int) -> list[RGB]:
    """The standard PASCAL VOC colour map (bit-interleaved class index)."""
    colours = []
    for i in range(n):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        colours.append((r, g, b))
    return colours


CLASS_SETS: Registry[ClassSet] = Registry("class set")

CLASS_SETS.add(
    "camvid",
    ClassSet(
        name="camvid",
        names=[
            "Sky", "Building", "Pole", "Road", "Pavement", "Tree",
            "SignSymbol", "Fence", "Car", "Pedestrian", "Bicyclist",
        ],
        palette=[
            (128, 128, 128), (128, 0, 0), (192, 192, 128), (128, 64, 128), (60, 40, 222), (128, 128, 0),
            (192, 128, 128), (64, 64, 128), (64, 0, 128), (64, 64, 0), (0, 128, 192),
        ],
        ignore_index=11,
    ),
)

CLASS_SETS.add(
    "cityscapes",
    ClassSet(
        name="cityscapes",
        names=[
            "road", "sidewalk", "building", "wall", "fence", "pole", "traffic light",
            "traffic sign", "vegetation", "terrain", "sky", "person", "rider", "car",
            "truck", "bus", "train", "motorcycle", "bicycle",
        ],
        palette=[
            (128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156), (190, 153, 153),
            (153, 153, 153), (250, 170, 30), (220, 220, 0), (107, 142, 35), (152, 251, 152),
            (70, 130, 180), (220, 20, 60), (255, 0, 0), (0, 0, 142), (0, 0, 70),
            (0, 60, 100), (0, 80, 100), (0, 0, 230), (119, 11, 32),
        ],
        ignore_index=255,
    ),
)

CLASS_SETS.add(
    "voc",
    ClassSet(
        name="voc",
        names=[
            "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car",
            "cat", "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person",
            "pottedplant", "sheep", "sofa", "train", "tvmonitor",
        ],
        palette=_voc_colormap(21),
        ignore_index=255,
    ),
)

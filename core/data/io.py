"""Reading images and label masks from disk; every failure is a DataError naming the file."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from core.errors import DataError

IMAGE_EXTS: frozenset[str] = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_PALETTE_COLOUR_TYPE = 3


def list_images(folder: Path) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS)


def read_image(path: Path) -> np.ndarray:
    """HxWx3 uint8 RGB."""
    _require_file(path)
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise DataError(f"{path}: cannot be read as an image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_mask(path: Path) -> np.ndarray:
    """HxW integer label array, as stored (palette PNGs give their palette indices)."""
    _require_file(path)
    mask = _read_palette_indices(path) if is_palette_png(path) else cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if mask is None:
        raise DataError(f"{path}: cannot be read as a label image")
    if mask.ndim != 2:
        channels = mask.shape[2] if mask.ndim == 3 else mask.ndim
        raise DataError(f"{path}: label mask has {channels} channels, expected a single-channel image of class indices")
    if not np.issubdtype(mask.dtype, np.integer):
        raise DataError(f"{path}: label mask has {mask.dtype} pixels, expected integer class indices")
    return mask


def is_palette_png(path: Path) -> bool:
    """True when ``path`` is a PNG whose IHDR colour type is 'palette' (as VOC labels are)."""
    try:
        with open(path, "rb") as f:
            head = f.read(26)
    except OSError as e:
        raise DataError(f"{path}: cannot be opened ({e.strerror})") from None
    return (len(head) == 26 and head[:8] == _PNG_SIGNATURE and head[12:16] == b"IHDR"
            and head[25] == _PNG_PALETTE_COLOUR_TYPE)


def _read_palette_indices(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as im:
            if im.mode != "P":
                raise DataError(f"{path}: palette PNG decoded as mode {im.mode}, expected palette indices")
            return np.array(im, dtype=np.uint8)
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as e:
        raise DataError(f"{path}: cannot be read as a palette label image ({one_line(e)})") from None


def one_line(e: BaseException) -> str:
    """The first line of an exception's message (error messages are one line)."""
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _require_file(path: Path) -> None:
    if not path.is_file():
        raise DataError(f"{path}: file is missing")

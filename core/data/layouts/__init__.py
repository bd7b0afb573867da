"""Dataset layouts. Importing this package registers them; auto-detection tries them in this order
(the most specific folder signatures first)."""

from core.data.layouts.base import DATASET_LAYOUTS, DatasetLayout
from core.data.layouts import cityscapes as _cityscapes  # noqa: F401  (registers "cityscapes")
from core.data.layouts import voc as _voc  # noqa: F401  (registers "voc")
from core.data.layouts import camvid as _camvid  # noqa: F401  (registers "camvid")
from core.data.layouts import folders as _folders  # noqa: F401  (registers "folders")

__all__ = ["DATASET_LAYOUTS", "DatasetLayout"]

"""A conversion asked for in words (a form's fields), checked before anything runs.

What the GUI's Convert form sends: the fields as typed. ``check`` turns them into a ``Conversion``
or raises a ConfigError with one line naming the field at fault, before any work starts;
``Conversion.run`` is ``convert_to_folder`` (what `mess convert` does).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from core.data.classes import ClassSet
from core.errors import ConfigError
from core.models.create import check_output_folder, convert_to_folder, resolve_classes, resolve_heads
from core.models.heads import HeadConfig


def parse_input_size(text: str) -> tuple[int, int] | None:
    """'HxW' -> (H, W) as `mess convert --input` reads it; '' -> None; a ConfigError otherwise."""
    from core.cli.common import parse_size

    if not text.strip():
        return None
    try:
        return parse_size(text.strip())
    except argparse.ArgumentTypeError as exc:
        raise ConfigError(f"input size: {exc}") from None


@dataclass(frozen=True)
class Conversion:
    """A checked conversion: every value resolved, ready to run on a worker."""

    backbone: str
    out: str
    class_set: ClassSet
    heads: tuple[HeadConfig, ...]
    input_size: tuple[int, int] | None
    weights: str | None
    replace: bool

    def run(self) -> str:
        """Build and save the model folder; returns it."""
        convert_to_folder(self.backbone, self.out, self.class_set, heads=list(self.heads), weights=self.weights,
                          input_size=self.input_size, replace=self.replace)
        return self.out


@dataclass(frozen=True)
class ConvertRequest:
    """The fields as typed: ``classes`` is a registered class set or a classes.json path ("" none chosen),
    ``heads`` a preset or head keys, ``input_size`` 'HxW' or "" (any), ``weights`` a file or "" (random)."""

    backbone: str
    out: str
    classes: str
    heads: str
    input_size: str = ""
    weights: str = ""
    replace: bool = False

    def check(self) -> Conversion:
        """The conversion, or a ConfigError naming the first field to fix (in the form's order)."""
        if not self.out:
            raise ConfigError("choose the output model folder first")
        size = parse_input_size(self.input_size)
        if not self.classes:
            raise ConfigError("choose a classes.json file")
        class_set = resolve_classes(self.classes)
        heads = resolve_heads(self.heads.strip())
        check_output_folder(self.out, self.replace)
        weights = self.weights.strip() or None
        if weights and not Path(weights).is_file():
            raise ConfigError(f"{weights}: weights file not found")
        return Conversion(self.backbone, self.out, class_set, heads=tuple(heads), input_size=size, weights=weights,
                          replace=self.replace)

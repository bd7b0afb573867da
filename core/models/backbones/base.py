"""What a backbone adapter produces, and the slicing shared by all adapters.

An adapter turns a CNN into an ordered list of *blocks* (name, module, output
channels, output stride). Cutting the block list at the candidate exit points
(and at the taps a final head needs) gives the sequential *segments* that the
early-exit runtime executes one by one.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import Callable, Protocol

from torch import nn

from core.errors import ConfigError


@dataclass(frozen=True)
class Block:
    name: str
    module: nn.Module
    channels: int
    _: KW_ONLY
    stride: int


@dataclass(frozen=True)
class ExitPoint:
    """A candidate exit: the output of segment ``segment``."""

    name: str
    segment: int
    channels: int
    stride: int

    def to_json(self) -> dict:
        return {"name": self.name, "segment": self.segment, "channels": self.channels, "stride": self.stride}


@dataclass
class SlicedBackbone:
    """A backbone cut into segments, with its candidate exits and its final head."""

    segments: list[nn.Module]
    segment_names: list[str]
    exit_points: list[ExitPoint]
    out_channels: int
    out_stride: int
    final_head: nn.Module
    # Segment outputs the final head reads besides the last one, by tap name.
    taps: dict[str, int] = field(default_factory=dict)


class FinalHeadFactory(Protocol):
    def __call__(self, blocks: list[Block], taps: dict[str, Block], num_classes: int) -> nn.Module: ...


def slice_blocks(
    blocks: list[Block],
    exit_after: list[str],
    tap_after: dict[str, str],
    *,
    final_head: nn.Module,
) -> SlicedBackbone:
    """Cut ``blocks`` after every named candidate exit and tap."""
    index = {block.name: i for i, block in enumerate(blocks)}
    for name in list(exit_after) + list(tap_after.values()):
        if name not in index:
            raise ConfigError(f"cut point '{name}' is not a block of this backbone (blocks: {', '.join(index)})")
        if index[name] == len(blocks) - 1:
            raise ConfigError(f"cut point '{name}' is the backbone's last block: that is the final exit")
    cuts = sorted({index[n] for n in exit_after} | {index[n] for n in tap_after.values()})
    bounds = [-1] + cuts + [len(blocks) - 1]
    segments: list[nn.Module] = []
    names: list[str] = []
    segment_of_block: dict[int, int] = {}
    for k in range(len(bounds) - 1):
        members = blocks[bounds[k] + 1 : bounds[k + 1] + 1]
        segments.append(nn.Sequential(*[b.module for b in members]))
        names.append(members[-1].name)
        segment_of_block[bounds[k + 1]] = k
    exit_points = [
        ExitPoint(n, segment_of_block[index[n]], blocks[index[n]].channels, stride=blocks[index[n]].stride)
        for n in sorted(exit_after, key=index.__getitem__)
    ]
    taps = {tap: segment_of_block[index[name]] for tap, name in tap_after.items()}
    return SlicedBackbone(
        segments=segments,
        segment_names=names,
        exit_points=exit_points,
        out_channels=blocks[-1].channels,
        out_stride=blocks[-1].stride,
        final_head=final_head,
        taps=taps,
    )


@dataclass(frozen=True)
class BackboneAdapter:
    """A registered backbone: how to build it, and what it offers."""

    name: str
    description: str
    build: Callable[..., SlicedBackbone]
    _: KW_ONLY
    # Allowed values of the 'output_stride' option; the first is the default.
    output_strides: tuple[int, ...]
    # Final heads it can take; the first is the default. 'native' = the model's own.
    final_heads: tuple[str, ...]

    def resolve_options(self, options: dict) -> dict:
        """Fill defaults and check every option value; returns a new dict."""
        unknown = set(options) - {"output_stride", "final_head"}
        if unknown:
            raise ConfigError(f"backbone '{self.name}' has no option '{sorted(unknown)[0]}'")
        value = options.get("output_stride", self.output_strides[0])
        try:
            stride = int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"backbone '{self.name}': output_stride {value!r} is not an integer") from None
        if stride not in self.output_strides:
            allowed = ", ".join(map(str, self.output_strides))
            raise ConfigError(f"backbone '{self.name}' does not support output_stride {stride} (allowed: {allowed})")
        head = options.get("final_head", self.final_heads[0])
        if head not in self.final_heads:
            raise ConfigError(f"backbone '{self.name}' cannot take final head '{head}' "
                              f"(allowed: {', '.join(self.final_heads)})")
        return {"output_stride": stride, "final_head": head}


WeightsPath = Path | None

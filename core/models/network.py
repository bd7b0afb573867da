"""MultiExitNet: a backbone cut into segments, its final head and early-exit heads.

``forward`` is the training forward: one backbone pass that returns the
logits of any requested set of exits, upsampled to the input size. The
early-exit runtime (core.runtime) drives the same network segment by segment
through ``run_segments`` and ``exit_logits``.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import torch
from torch import nn

from core.errors import ConfigError
from core.models.backbones import BACKBONES, ExitPoint
from core.models.heads import ExitHead, upsample_logits
from core.models.spec import FINAL_EXIT, ExitHeadSpec, ModelSpec


def _module_key(exit_id: str) -> str:
    return exit_id.replace(".", "_").replace(":", "__")


class MultiExitNet(nn.Module):
    def __init__(self, spec: ModelSpec, pretrained: str | None = None) -> None:
        super().__init__()
        adapter = BACKBONES.get(spec.backbone)
        spec.backbone_options = adapter.resolve_options(spec.backbone_options)
        self.spec = spec
        sliced = adapter.build(spec.num_classes, spec.backbone_options, pretrained)
        self.segments = nn.ModuleList(sliced.segments)
        self.segment_names = sliced.segment_names
        self.final_head = sliced.final_head
        self.taps = dict(sliced.taps)
        self.out_stride = sliced.out_stride
        self.exit_points: dict[str, ExitPoint] = {p.name: p for p in sliced.exit_points}
        self.heads = nn.ModuleDict()
        self._head_specs: dict[str, ExitHeadSpec] = {}
        for head_spec in spec.exit_heads:
            self._attach(head_spec)

    # --- structure -----------------------------------------------------------------
    def _attach(self, head_spec: ExitHeadSpec) -> None:
        point = self.exit_points.get(head_spec.point)
        if point is None:
            known = ", ".join(self.exit_points)
            raise ConfigError(f"'{head_spec.point}' is not a candidate exit point of {self.spec.backbone} "
                              f"(points: {known})")
        if head_spec.exit_id in self._head_specs:
            raise ConfigError(f"exit '{head_spec.exit_id}' is attached twice")
        self.heads[_module_key(head_spec.exit_id)] = ExitHead(head_spec.head, point.channels, point.stride,
                                                              num_classes=self.spec.num_classes)
        self._head_specs[head_spec.exit_id] = head_spec

    def add_heads(self, head_specs: Iterable[ExitHeadSpec]) -> None:
        """Attach more early-exit heads (recorded in the spec)."""
        for head_spec in head_specs:
            self._attach(head_spec)
            self.spec.exit_heads.append(head_spec)

    def remove_heads(self, exit_ids: Iterable[str]) -> None:
        drop = set(exit_ids)
        for exit_id in drop:
            self._require(exit_id)
            del self.heads[_module_key(exit_id)]
            del self._head_specs[exit_id]
        self.spec.exit_heads = [h for h in self.spec.exit_heads if h.exit_id not in drop]

    def exit_ids(self) -> list[str]:
        """Every exit, early ones in depth order, then 'final'."""
        order = {name: i for i, name in enumerate(self.exit_points)}
        attached = list(self._head_specs)
        early = sorted(attached, key=lambda e: (order[self._head_specs[e].point], attached.index(e)))
        return early + [FINAL_EXIT]

    def exit_segment(self, exit_id: str) -> int:
        """Index of the last segment an exit needs."""
        if exit_id == FINAL_EXIT:
            return len(self.segments) - 1
        return self.exit_points[self._require(exit_id).point].segment

    def exit_stride(self, exit_id: str) -> int:
        if exit_id == FINAL_EXIT:
            return self.out_stride
        return self.exit_points[self._require(exit_id).point].stride

    def _require(self, exit_id: str) -> ExitHeadSpec:
        spec = self._head_specs.get(exit_id)
        if spec is None:
            raise ConfigError(f"the model has no exit '{exit_id}' (exits: {', '.join(self.exit_ids())})")
        return spec

    # --- execution -----------------------------------------------------------------
    def run_segments(self, x: torch.Tensor, start: int, stop: int, taps: dict[str, torch.Tensor]) -> torch.Tensor:
        """Run segments ``start..stop`` (inclusive) on ``x``, storing tapped outputs in ``taps``."""
        tap_of = {segment: name for name, segment in self.taps.items()}
        for k in range(start, stop + 1):
            x = self.segments[k](x)
            if k in tap_of:
                taps[tap_of[k]] = x
        return x

    def exit_logits(self, exit_id: str, features: torch.Tensor, taps: dict[str, torch.Tensor]) -> torch.Tensor:
        """Logits of one exit at its own (feature) resolution."""
        if exit_id == FINAL_EXIT:
            return self.final_head(features, taps)
        self._require(exit_id)
        return self.heads[_module_key(exit_id)](features)

    def forward(self, x: torch.Tensor, exits: Sequence[str] | None = None) -> dict[str, torch.Tensor]:
        """Logits of the requested exits (default: all), upsampled to the input size, from one pass."""
        wanted = list(self.exit_ids() if exits is None else exits)
        by_segment: dict[int, list[str]] = {}
        for exit_id in wanted:
            by_segment.setdefault(self.exit_segment(exit_id), []).append(exit_id)
        size = (x.shape[-2], x.shape[-1])
        out: dict[str, torch.Tensor] = {}
        taps: dict[str, torch.Tensor] = {}
        done = -1
        for segment in sorted(by_segment):
            x = self.run_segments(x, done + 1, segment, taps=taps)
            done = segment
            for exit_id in by_segment[segment]:
                out[exit_id] = upsample_logits(self.exit_logits(exit_id, x, taps), size)
        return {exit_id: out[exit_id] for exit_id in wanted}

    def backbone_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.segments.parameters()] + [p for p in self.final_head.parameters()]

    def head_module(self, exit_id: str) -> nn.Module:
        return self.final_head if exit_id == FINAL_EXIT else self.heads[_module_key(self._require(exit_id).exit_id)]

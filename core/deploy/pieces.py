"""The pieces of a MultiExitNet that an execution backend runs, as exportable torch modules.

A piece is one graph: a run of backbone segments ``a..b`` (its input the features of
segment a-1, or the image; its outputs the features of segment b and the taps made on
the way), or one exit head (features, and for the final head the taps, to logits at the
feature resolution). Routing between pieces, the exit policy and the labels stay in
host code (``core.runtime.host``), the same for every backend.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import torch
from torch import nn

from core.models.network import MultiExitNet
from core.models.spec import FINAL_EXIT

ONNX_OPSET = 17                      # the opset every exported graph uses (part of the graphs' fingerprint)


@dataclass(frozen=True)
class PieceKey:
    """Which piece: ``kind`` 'segments' (start..stop) or 'head' (exit_id)."""

    kind: str
    start: int = 0
    stop: int = 0
    exit_id: str = ""

    @property
    def name(self) -> str:
        """A file-name-safe, unique name: segments-0-3, head-features.6__fcn-c128-b2-rdi."""
        if self.kind == "segments":
            return f"segments-{self.start}-{self.stop}"
        return "head-" + re.sub(r"[^A-Za-z0-9_.-]", "_", self.exit_id.replace(":", "__"))

    @classmethod
    def segments(cls, start: int, stop: int) -> "PieceKey":
        return cls("segments", start=start, stop=stop)

    @classmethod
    def head(cls, exit_id: str) -> "PieceKey":
        return cls("head", exit_id=exit_id)



def taps_made(net: MultiExitNet, start: int, stop: int) -> list[str]:
    """Names of the taps that segments start..stop produce, sorted."""
    return sorted(name for name, segment in net.taps.items() if start <= segment <= stop)


def head_taps(net: MultiExitNet, exit_id: str) -> list[str]:
    """Taps a head reads besides its features (the final head may read all of them), sorted."""
    return sorted(net.taps) if exit_id == FINAL_EXIT else []


class SegmentsPiece(nn.Module):
    def __init__(self, net: MultiExitNet, start: int, stop: int) -> None:
        super().__init__()
        self.net, self.start, self.stop = net, start, stop
        self.tap_names = taps_made(net, start, stop)

    def forward(self, x: torch.Tensor):
        taps: dict[str, torch.Tensor] = {}
        x = self.net.run_segments(x, self.start, self.stop, taps=taps)
        return (x, *[taps[name] for name in self.tap_names])


class HeadPiece(nn.Module):
    def __init__(self, net: MultiExitNet, exit_id: str) -> None:
        super().__init__()
        self.net, self.exit_id = net, exit_id
        self.tap_names = head_taps(net, exit_id)

    def forward(self, features: torch.Tensor, *taps: torch.Tensor) -> torch.Tensor:
        return self.net.exit_logits(self.exit_id, features, dict(zip(self.tap_names, taps)))


def feature_shapes(net: MultiExitNet,
                   size: tuple[int, int]) -> tuple[list[tuple[int, ...]], dict[str, tuple[int, ...]]]:
    """Shapes (batch 1) of every segment's output and of every tap, at input ``size``."""
    outputs, taps = [], {}
    x = torch.zeros(1, 3, *size)
    with torch.no_grad():
        for k in range(len(net.segments)):
            x = net.run_segments(x, k, k, taps=taps)
            outputs.append(tuple(x.shape))
    return outputs, {name: tuple(t.shape) for name, t in taps.items()}


def example_inputs(net: MultiExitNet, key: PieceKey, size: tuple[int, int],
                   shapes: tuple[list[tuple[int, ...]], dict[str, tuple[int, ...]]]) -> tuple[torch.Tensor, ...]:
    outputs, taps = shapes
    if key.kind == "segments":
        shape = (1, 3, *size) if key.start == 0 else outputs[key.start - 1]
        return (torch.zeros(shape),)
    features = torch.zeros(outputs[net.exit_segment(key.exit_id)])
    return (features, *[torch.zeros(taps[name]) for name in head_taps(net, key.exit_id)])


def piece_module(net: MultiExitNet, key: PieceKey, size: tuple[int, int]) -> nn.Module:
    if key.kind == "segments":
        return SegmentsPiece(net, key.start, key.stop).eval()
    return HeadPiece(net, key.exit_id).eval()


def io_names(net: MultiExitNet, key: PieceKey) -> tuple[list[str], list[str]]:
    if key.kind == "segments":
        return ["x"], ["features", *[f"tap_{t}" for t in taps_made(net, key.start, key.stop)]]
    return ["features", *[f"tap_{t}" for t in head_taps(net, key.exit_id)]], ["logits"]


def weights_fingerprint(net: MultiExitNet) -> str:
    """SHA-256 of what the exported graphs depend on: the network's structure (its spec: backbone and
    options such as the output stride, heads, classes), the tensors as they run (names, shapes and
    bytes, in order), and the exporter (torch's version, the ONNX opset)."""
    import json

    digest = hashlib.sha256()
    spec = net.spec
    structure = {"backbone": spec.backbone, "options": spec.backbone_options, "classes": spec.num_classes,
                 "heads": [h.exit_id for h in spec.exit_heads], "taps": net.taps, "segments": len(net.segments),
                 "torch": torch.__version__, "opset": ONNX_OPSET}
    digest.update(json.dumps(structure, sort_keys=True, default=str).encode())
    for name, tensor in sorted(net.state_dict().items()):
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()

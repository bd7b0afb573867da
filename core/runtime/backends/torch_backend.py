"""The torch backend: the network itself (its inference form when loaded so), on its own device."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from core.models.heads import class_labels, upsample_logits
from core.models.network import MultiExitNet
from core.models.spec import FINAL_EXIT
from core.runtime.backends.base import BACKENDS, Backend, BackendOptions, RunnablePieces
from core.runtime.policy import as_array


class TorchPieces(RunnablePieces):
    backend = "torch"
    array_kind = "torch"

    def __init__(self, net: MultiExitNet, input_size: tuple[int, int] | None = None) -> None:
        self.net = net
        self.input_size = input_size
        self.kept_logits: list[torch.Tensor] | None = None  # set to a list to keep the upsampled logits

    def start(self, images: torch.Tensor) -> Any:
        return {"x": images, "taps": {}, "done": -1, "size": (int(images.shape[-2]), int(images.shape[-1]))}

    def advance(self, state: dict, stop: int) -> dict:
        if stop > state["done"]:
            state["x"] = self.net.run_segments(state["x"], state["done"] + 1, stop, taps=state["taps"])
            state["done"] = stop
        return state

    def head(self, state: dict, exit_id: str) -> tuple[Any, np.ndarray]:
        low = self.net.exit_logits(exit_id, state["x"], state["taps"])
        return (low, state["size"]), as_array(low)

    def labels(self, handle: Any, exit_id: str, rows: np.ndarray | None) -> torch.Tensor:
        low, size = handle
        if rows is not None:
            low = low[torch.from_numpy(rows).to(low.device)]
        up = upsample_logits(low, size)
        if self.kept_logits is not None:
            self.kept_logits.append(up)
        return class_labels(up)

    def keep(self, state: dict, rows: np.ndarray) -> dict:
        index = torch.from_numpy(rows).to(state["x"].device)
        state["x"] = state["x"][index]
        state["taps"] = {name: t[index] for name, t in state["taps"].items()}
        return state

    def timing_callables(self, image: torch.Tensor, check: Callable[[], None] | None = None
                         ) -> tuple[list[Callable[[], Any]], dict[str, Callable[[], Any]], Callable[[], Any]]:
        net = self.net
        inputs, taps = [], {}
        x = image
        with torch.no_grad():
            for k in range(len(net.segments)):
                inputs.append(x)
                x = net.run_segments(x, k, k, taps=taps)
            outputs = inputs[1:] + [x]
            final_logits = net.exit_logits(FINAL_EXIT, x, taps)
        size = (int(image.shape[-2]), int(image.shape[-1]))
        segments = [lambda k=k: net.segments[k](inputs[k]) for k in range(len(net.segments))]
        heads = {e: (lambda e=e: net.exit_logits(e, outputs[net.exit_segment(e)], taps)) for e in net.exit_ids()}
        return segments, heads, lambda: class_labels(upsample_logits(final_logits, size))

    def describe(self) -> str:
        device = next(self.net.parameters()).device
        return f"torch ({device.type}, fp32)"


@BACKENDS.register("torch")
class TorchBackend(Backend):
    """torch eager on the network's device (CUDA, MPS or CPU)."""

    name = "torch"
    precisions = ("fp32",)
    logit_tolerance = {"fp32": 0.0}

    def pieces(self, net: MultiExitNet, input_size: tuple[int, int], options: BackendOptions) -> TorchPieces:
        self.check_precision(options.precision)
        return TorchPieces(net, input_size)

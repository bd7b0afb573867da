"""Pieces run as ONNX graphs by a graph runtime (ONNX Runtime, OpenVINO), on numpy arrays.

Segments and heads are graphs; an exit's labels (upsampling and argmax) are host code
(``core.runtime.host.class_labels``), measured faster than the same step as a graph.
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from core.deploy.graph_store import GraphStore
from core.deploy.pieces import PieceKey, head_taps, taps_made
from core.deploy.quantize import Int8Graphs
from core.errors import ConfigError
from core.models.network import MultiExitNet
from core.models.spec import FINAL_EXIT
from core.runtime import host
from core.runtime.backends.base import Backend, BackendOptions, RunnablePieces, as_numpy_images

Graph = Callable[[Sequence[np.ndarray]], list[np.ndarray]]


class GraphBackend(Backend):
    """A backend that compiles ONNX graphs of the pieces."""

    @abstractmethod
    def compile(self, onnx_path: Path, options: BackendOptions, cache_folder: Path) -> Graph:
        """A callable running the graph at ``onnx_path`` on a list of input arrays."""

    def pieces(self, net: MultiExitNet, input_size: tuple[int, int], options: BackendOptions) -> "GraphPieces":
        self.check_precision(options.precision)
        return GraphPieces(net, input_size, self, options=options)


class GraphPieces(host.ArrayPieces, RunnablePieces):
    array_kind = "numpy"

    def __init__(self, net: MultiExitNet, input_size: tuple[int, int], backend: GraphBackend,
                 options: BackendOptions, store: GraphStore | None = None) -> None:
        store = store or GraphStore(net, input_size)
        super().__init__(store.input_size, dict(net.taps), {e: head_taps(net, e) for e in net.exit_ids()})
        self.net = net
        self.backend = backend.name
        self.precision = options.precision
        self._backend = backend
        self._options = options
        self.store = store
        self._graphs: dict[PieceKey, Graph] = {}
        self._int8 = Int8Graphs(store) if options.precision == "int8" else None
        self._segments = {e: net.exit_segment(e) for e in net.exit_ids()}

    def graph(self, key: PieceKey) -> Graph:
        graph = self._graphs.get(key)
        if graph is None:
            if self._int8 is not None:
                cache = self.store.folder / f"{self.backend}-int8-{self._int8.calibration.tag}"
                path = self._int8.path(key)
            else:
                cache = self.store.folder / f"{self.backend}-{self.precision}"
                path = self.store.onnx(key)
            graph = self._backend.compile(path, self._options, cache)
            self._graphs[key] = graph
        return graph

    @property
    def precision_id(self) -> str:
        return f"int8-{self.backend}-{self._int8.calibration.tag}" if self._int8 is not None else self.precision

    def segments_graph(self, start: int, stop: int) -> Graph:
        return self.graph(PieceKey.segments(start, stop))

    def head_graph(self, exit_id: str) -> Graph:
        return self.graph(PieceKey.head(exit_id))

    def prepare(self, exits: list[str]) -> None:
        done = -1
        for exit_id in exits:
            stop = self._segments[exit_id]
            if stop > done:
                self.graph(PieceKey.segments(done + 1, stop))
                done = stop
            self.graph(PieceKey.head(exit_id))

    def start(self, images: Any) -> dict:
        try:
            return super().start(as_numpy_images(images))
        except ValueError as exc:  # images of another size than the graphs'
            raise ConfigError(f"backend {self.backend}: {exc}; resize them all to one size (--input HxW) "
                              "or use --backend torch") from None

    # --- profiling -------------------------------------------------------------------------------
    def timing_callables(self, image: torch.Tensor, check: Callable[[], None] | None = None
                         ) -> tuple[list[Callable[[], Any]], dict[str, Callable[[], Any]], Callable[[], Any]]:
        check = check or (lambda: None)
        x = as_numpy_images(image)
        inputs, taps = [], {}
        for k in range(len(self.net.segments)):
            check()
            inputs.append(x)
            outputs = self.graph(PieceKey.segments(k, k))([x])
            x = outputs[0]
            taps.update(zip(taps_made(self.net, k, k), outputs[1:]))
        features = inputs[1:] + [x]
        segments = [lambda k=k: self.graph(PieceKey.segments(k, k))([inputs[k]]) for k in range(len(inputs))]

        def head_fn(exit_id: str) -> Callable[[], np.ndarray]:
            check()
            graph = self.graph(PieceKey.head(exit_id))
            args = [features[self._segments[exit_id]], *[taps[n] for n in head_taps(self.net, exit_id)]]
            return lambda: graph(args)[0]

        heads = {e: head_fn(e) for e in self.net.exit_ids()}
        final_low = heads[FINAL_EXIT]()
        return segments, heads, lambda: host.class_labels(final_low, self.input_size)

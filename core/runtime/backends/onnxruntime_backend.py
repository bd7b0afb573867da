"""The ONNX Runtime backend: the pieces' ONNX graphs on ONNX Runtime's CPU execution provider."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from core.interrupts import import_native
from core.runtime import host
from core.runtime.backends.base import BACKENDS, BackendOptions
from core.runtime.backends.graphs import Graph, GraphBackend
from core.threads import backend_threads


@BACKENDS.register("onnxruntime")
class OnnxRuntimeBackend(GraphBackend):
    """ONNX Runtime, CPU provider, all graph optimisations; float32 (its logits equal torch's to ~1e-5),
    or int8 QDQ graphs (core.deploy.quantize)."""

    name = "onnxruntime"
    precisions = ("fp32", "int8")
    logit_tolerance = {"fp32": 1e-4}

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return None if importlib.util.find_spec("onnxruntime") else "the onnxruntime package is not installed"

    def compile(self, onnx_path: Path, options: BackendOptions, cache_folder: Path) -> Graph:
        import_native("onnxruntime")     # its native modules initialise on import: not under a Ctrl-C
        return host.open_graph("onnxruntime", str(onnx_path), threads=backend_threads(options.threads))

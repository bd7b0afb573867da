"""The OpenVINO backend: the pieces' ONNX graphs compiled for OpenVINO's CPU plugin.

Precision fp32 sets OpenVINO's f32 inference precision (logits equal torch's to
~1e-5); bf16 lets it run bfloat16 kernels where the CPU has them (AMX or
AVX512-BF16), which is its own default on such CPUs. int8 runs the QDQ graphs of
``core.deploy.quantize`` (int8 kernels; what stays float runs f32). Compiled graphs are cached
beside the ONNX graphs (OpenVINO's CACHE_DIR), so a second start is fast.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from core.errors import ConfigError
from core.interrupts import import_native
from core.runtime import host
from core.runtime.backends.base import BACKENDS, BackendOptions
from core.runtime.backends.graphs import Graph, GraphBackend
from core.threads import backend_threads


def openvino_core():
    return import_native("openvino").Core()


def supports_bf16() -> bool:
    try:
        return "BF16" in openvino_core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    except Exception:  # noqa: BLE001 - no CPU plugin: no bf16
        return False


@BACKENDS.register("openvino")
class OpenVinoBackend(GraphBackend):
    """OpenVINO CPU plugin, latency hint, one stream."""

    name = "openvino"
    precisions = ("fp32", "bf16", "int8")
    logit_tolerance = {"fp32": 1e-4, "bf16": 0.5}

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return None if importlib.util.find_spec("openvino") else "the openvino package is not installed"

    def check_precision(self, precision: str) -> None:
        super().check_precision(precision)
        if precision == "bf16" and not supports_bf16():
            raise ConfigError("precision bf16: this CPU has no bfloat16 kernels for OpenVINO (use fp32)")

    def compile(self, onnx_path: Path, options: BackendOptions, cache_folder: Path) -> Graph:
        try:
            cache_folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"{cache_folder}: cannot create the compiled-graph cache ({exc.strerror})") from None
        import_native("openvino")        # its native modules initialise on import: not under a Ctrl-C
        return host.open_graph("openvino", str(onnx_path), precision=options.precision,
                               threads=backend_threads(options.threads), cache_dir=str(cache_folder))

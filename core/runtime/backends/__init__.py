"""Execution backends, one registry: torch, onnxruntime, openvino (see base.py)."""

from core.runtime.backends.base import (
    BACKENDS,
    PRECISIONS,
    Backend,
    BackendOptions,
    RunnablePieces,
    available_backends,
    get_backend,
)
from core.runtime.backends import onnxruntime_backend, openvino_backend, torch_backend  # noqa: F401 - registers

DEFAULT_BACKEND = "openvino"

__all__ = ["BACKENDS", "PRECISIONS", "Backend", "BackendOptions", "RunnablePieces", "available_backends",
           "get_backend", "DEFAULT_BACKEND", "default_backend"]


def default_backend() -> str:
    """OpenVINO where it is installed (the fastest on the CPUs measured), else ONNX Runtime, else torch."""
    for name in ("openvino", "onnxruntime", "torch"):
        if name in available_backends():
            return name
    return "torch"

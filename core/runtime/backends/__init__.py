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
# Registered in this order (torch first): the order lists, menus and help show.
from core.runtime.backends import torch_backend  # noqa: F401, I001 - registers
from core.runtime.backends import onnxruntime_backend  # noqa: F401, E402 - registers
from core.runtime.backends import openvino_backend  # noqa: F401, E402 - registers

DEFAULT_BACKEND = "openvino"

__all__ = ["BACKENDS", "PRECISIONS", "Backend", "BackendOptions", "RunnablePieces", "available_backends",
           "get_backend", "DEFAULT_BACKEND", "default_backend", "make_pieces"]


def default_backend() -> str:
    """OpenVINO where it is installed (the fastest on the CPUs measured), else ONNX Runtime, else torch."""
    for name in ("openvino", "onnxruntime", "torch"):
        if name in available_backends():
            return name
    return "torch"


def make_pieces(net, input_size: tuple[int, int], backend: str | None = None, *, precision: str = "fp32",
                threads: int | None = None) -> RunnablePieces:
    """The pieces of ``net`` on ``backend`` (None: the default, or torch when the net is not on the CPU)."""
    device = next(net.parameters()).device
    name = backend or (default_backend() if device.type == "cpu" else "torch")
    if name != "torch" and device.type != "cpu":
        from core.errors import ConfigError

        raise ConfigError(f"backend {name} runs on the CPU; the model is on {device} (choose device cpu)")
    return get_backend(name).pieces(net, tuple(input_size), BackendOptions(precision, threads))

"""Execution backends: what runs the pieces of a network (segments, heads, labels).

A backend is registered by name in ``BACKENDS``. Given a MultiExitNet and an input
size it returns ``Pieces`` (see ``core.runtime.host``) that the one host cascade
drives, so routing and the exit policy are the same code on every backend.
Graph backends (ONNX Runtime, OpenVINO) run ONNX graphs of the pieces, exported
once per network and input size and cached on disk (``core.deploy.graph_store``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

from core.errors import ConfigError
from core.models.network import MultiExitNet
from core.registry import Registry

PRECISIONS = ("fp32", "bf16", "int8")  # int8: graphs quantised with a stored calibration (core.deploy.quantize)


@dataclass(frozen=True)
class BackendOptions:
    """How a backend runs: numeric precision and CPU threads (None: the process's thread setting)."""

    precision: str = "fp32"
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ConfigError(f"unknown precision '{self.precision}' (known: {', '.join(PRECISIONS)})")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"threads must be at least 1, got {self.threads}")


class Backend(ABC):
    """One way of executing a network's pieces."""

    name: str = ""
    precisions: tuple[str, ...] = ("fp32",)
    # Largest difference from torch's float32 logits that the parity tests allow, per precision.
    logit_tolerance: dict[str, float] = {"fp32": 1e-4}

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """Why this backend cannot run here (a package missing), or None."""
        return None

    @abstractmethod
    def pieces(self, net: MultiExitNet, input_size: tuple[int, int], options: BackendOptions) -> "RunnablePieces":
        """Pieces of ``net`` for images of ``input_size`` (H, W)."""

    def check_precision(self, precision: str) -> None:
        if precision not in self.precisions:
            raise ConfigError(f"backend '{self.name}' runs precision {', '.join(self.precisions)}, not '{precision}'")


class RunnablePieces(ABC):
    """The ``core.runtime.host.Pieces`` protocol, plus what profiling and the runner need."""

    backend: str = ""
    precision: str = "fp32"
    # The images the pieces take: "torch" (a tensor on the net's device) or "numpy" (float32 NCHW).
    array_kind: str = "torch"

    @abstractmethod
    def start(self, images: Any) -> Any: ...

    @abstractmethod
    def advance(self, state: Any, stop: int) -> Any: ...

    @abstractmethod
    def head(self, state: Any, exit_id: str) -> tuple[Any, np.ndarray]: ...

    @abstractmethod
    def labels(self, handle: Any, exit_id: str, rows: np.ndarray | None) -> Any: ...

    @abstractmethod
    def keep(self, state: Any, rows: np.ndarray) -> Any: ...

    @abstractmethod
    def timing_callables(self, image: torch.Tensor, check: Callable[[], None] | None = None
                         ) -> tuple[list[Callable[[], Any]], dict[str, Callable[[], Any]], Callable[[], Any]]:
        """Callables that run each single segment, each head (returning its logits) and the final
        exit's labels step, on their real inputs for ``image``: what a latency table times.
        ``check`` is called between slow steps (building graphs) and may raise to cancel."""

    def prepare(self, exits: list[str]) -> None:
        """Build (or load) whatever the kept ``exits`` need now rather than on the first image."""

    def describe(self) -> str:
        return f"{self.backend} ({self.precision})"

    @property
    def precision_id(self) -> str:
        """The precision and what it was made from (int8: its calibration), naming caches of its outputs."""
        return self.precision


BACKENDS: Registry[type[Backend]] = Registry("backend")


def available_backends() -> list[str]:
    return [name for name in BACKENDS if BACKENDS.get(name).unavailable_reason() is None]


def get_backend(name: str) -> Backend:
    """The backend called ``name``; one line naming the available ones when it is unknown or cannot run."""
    if name not in BACKENDS:
        raise ConfigError(f"unknown backend '{name}' (available here: {', '.join(available_backends()) or 'none'})")
    cls = BACKENDS.get(name)
    reason = cls.unavailable_reason()
    if reason:
        raise ConfigError(f"backend '{name}' is not available here ({reason}); "
                          f"available: {', '.join(available_backends())}")
    return cls()


def as_numpy_images(images: Any) -> np.ndarray:
    """A float32, C-contiguous NCHW array of a tensor or array of images."""
    if isinstance(images, torch.Tensor):
        images = images.detach().to("cpu", torch.float32).contiguous().numpy()
    return np.ascontiguousarray(images, dtype=np.float32)

"""Choosing the torch device: cuda, then mps, then cpu, unless the user says."""

from __future__ import annotations

import torch

from core.errors import ConfigError

DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def select_device(preference: str | None = "auto") -> torch.device:
    """The best available device for ``auto``; the named one, checked, otherwise."""
    choice = (preference or "auto").lower()
    if choice.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"--device {preference}: CUDA is not available on this machine")
        return torch.device(choice)
    if choice == "mps":
        if not _mps_available():
            raise ConfigError("--device mps: Apple MPS is not available on this machine")
        return torch.device("mps")
    if choice == "cpu":
        return torch.device("cpu")
    if choice != "auto":
        raise ConfigError(f"--device {preference}: unknown device (choose from {', '.join(DEVICE_CHOICES)})")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def synchronize(device: torch.device) -> None:
    """Wait for queued kernels, so that a timer measures finished work."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()

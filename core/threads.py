"""Thread counts and the OpenMP wait policy, decided in one place."""

from __future__ import annotations

import os


def set_wait_policy() -> None:
    """OpenMP threads sleep when idle (unless the user set OMP_WAIT_POLICY): call before torch is imported.

    With the default (spinning) policy, torch's idle OpenMP threads keep both cores busy for
    a while after each operation, starving the graph runtimes, the video decoder and the UI
    that run next; measured on 2 cores, OpenVINO's full network ran 54.7 ms a frame in
    ``mess run`` beside torch's spinning threads, 41.1 ms with passive ones.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def backend_threads(requested: int | None = None) -> int:
    """Threads a backend's compute may use: ``requested``, else torch's intra-op setting for this process."""
    if requested:
        return int(requested)
    import torch

    return max(1, torch.get_num_threads())


def configure_threads(threads: int | None) -> None:
    """Set torch's intra-op threads for this process (and OpenCV's pool beside it) when ``threads`` is given."""
    if not threads:
        return
    import cv2
    import torch

    torch.set_num_threads(int(threads))
    cv2.setNumThreads(1 if threads <= 2 else int(threads))

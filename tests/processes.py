"""Helpers for tests that start a process and signal it."""

from __future__ import annotations

import signal


def default_sigint() -> None:
    """``preexec_fn`` for a child that is sent SIGINT: a shell's background job (``cmd &``, nohup) starts
    with SIGINT ignored and its children inherit that, so Python would never raise KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)

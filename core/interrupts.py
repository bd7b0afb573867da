"""Ctrl-C and SIGTERM held back while native libraries initialise.

A KeyboardInterrupt raised in Python code that a C++ library calls while it initialises (torch's and
OpenVINO's pybind11 modules, on import) cannot always travel back through the C++ frames: pybind11
then calls std::terminate and the process aborts (exit -6, "terminate called after throwing an
instance of 'pybind11::error_already_set'"), with outputs half-written. Inside ``interrupts_deferred()``
a SIGINT or SIGTERM is only recorded; it is raised, by the handler that was in place, as the block ends.
The backends import their runtimes (OpenVINO, ONNX Runtime) through ``import_native``.
"""

from __future__ import annotations

import importlib
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Iterator

DEFERRED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold back SIGINT and SIGTERM for the block (main thread only; elsewhere a no-op). Signals the
    process ignores or leaves to the system's default stay so; one handled in Python is recorded and
    handed to its handler (which raises KeyboardInterrupt, or ends the command) once the block is over."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {signum: signal.getsignal(signum) for signum in DEFERRED_SIGNALS}
    held = {signum: handler for signum, handler in previous.items() if callable(handler)}
    for signum in held:
        signal.signal(signum, lambda number, frame: received.append(number))
    try:
        yield
    finally:
        for signum, handler in held.items():
            signal.signal(signum, handler)
        if received:
            held[received[0]](received[0], None)


def import_native(name: str):
    """The module ``name``, imported (the first time) with SIGINT and SIGTERM held back until it is whole."""
    if name in sys.modules:
        return sys.modules[name]
    with interrupts_deferred():
        return importlib.import_module(name)

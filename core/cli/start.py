"""The `mess` command's first instants: what runs before the command line and the engine are imported.

A SIGTERM or Ctrl-C can arrive while Python is still importing the command line, then torch, OpenCV
and the commands (a second or two, more on a loaded machine). Nothing has been written yet, so inside
``stopping_at_once()`` it ends the process at once with the line and exit code a later one gets
(143, 130), and raises nothing: an exception raised in Python code that a native module calls while it
initialises (torch's pybind11 modules, on import) can abort the process (std::terminate, exit -6), and
a KeyboardInterrupt caught there could still end a ``python -m`` process by SIGINT (exit -2).
``core.cli.main.main`` handles the signals itself once the imports are done.

This module imports only ``os`` and ``signal``, so the handlers are in place a few milliseconds after
Python has started (``typing``, ``threading`` and ``contextlib`` took 5 of the 6 ms it took). A signal
before that, while Python itself starts (its ``site`` step: 35 ms with an editable install), gets
Python's own default.
"""

from __future__ import annotations

import os
import signal

_exit = os._exit           # what ends the process (tests put a SystemExit in its place)


def _stop_at_once(signum: int, frame) -> None:
    terminated = signum == signal.SIGTERM
    os.write(2, b"mess: terminated\n" if terminated else b"mess: interrupted\n")
    _exit(143 if terminated else 130)


class stopping_at_once:
    """Inside the block, SIGTERM and (unless the process ignores it) SIGINT end the process at once;
    the handlers in place before come back after it. Main thread only; elsewhere it changes nothing.
    (A class, not contextlib.contextmanager: see the module's note on imports.)"""

    def __enter__(self) -> None:
        self._previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
        try:
            for signum, handler in self._previous.items():
                if handler is not signal.SIG_IGN:
                    signal.signal(signum, _stop_at_once)
        except ValueError:              # not the main thread: signal handlers cannot be set here
            self._previous = {}

    def __exit__(self, *exc_info) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def run() -> int:
    """The `mess` command (its console script, and ``python -m core.cli``)."""
    with stopping_at_once():
        from core.cli.main import main
    return main()

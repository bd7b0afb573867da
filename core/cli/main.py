"""The `mess` command: thin subcommands over the engine."""

from __future__ import annotations

import argparse
import sys

from core.threads import set_wait_policy

set_wait_policy()  # before torch is imported

from core.cli.commands import load_commands  # noqa: E402
from core.errors import MessError  # noqa: E402
from core.cli.start import stopping_at_once  # noqa: E402
from core.jobs import Cancelled  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    from core.runtime.backends import BACKENDS, default_backend

    parser = argparse.ArgumentParser(
        prog="mess",
        description="MESS Studio: multi-exit semantic segmentation networks.",
        epilog=(f"Backends (--backend on eval, profile, search, run): {', '.join(BACKENDS.names())}. "
                f"Default: openvino where installed, else onnxruntime, else torch (here: {default_backend()}); "
                "the fastest installed backend whose logits match torch's within 1e-4, as measured by "
                "benchmarks/backends.py."),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in (commands := load_commands()):
        command = commands.get(name)
        command.configure(sub.add_parser(name, help=command.help, description=command.help))
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM (what timeout and service managers send), handled as Ctrl-C is: outputs are finished or removed."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    """The command; Ctrl-C or SIGTERM at any moment (even while torch is still being imported) ends it in one
    line (the SIGTERM handler is set first, before the commands and the engine are imported)."""
    import signal
    import threading

    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if in_main_thread else None
    previous_hook = sys.unraisablehook
    if in_main_thread:
        sys.unraisablehook = _redeliver_lost_interrupts(previous_hook)
    try:
        code = _main(argv)
    except Terminated:
        print("mess: terminated", file=sys.stderr)
        code = 143
    except KeyboardInterrupt:
        print("mess: interrupted", file=sys.stderr)
        code = 130
    except BrokenPipeError:
        # The reader of stdout went away (`mess ... | head`): stop quietly, as command-line tools do.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 1
    finally:
        sys.unraisablehook = previous_hook
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        _forget_caught_interrupt()
    _exit_past_stuck_threads(code)
    return code


def _redeliver_lost_interrupts(previous_hook):
    """An unraisable-exception hook for the length of the command. A Ctrl-C or SIGTERM that lands in a weakref
    callback or a destructor (importlib's module locks while torch is imported) cannot be raised there: Python
    would print it as "Exception ignored" and drop it, and the command would run on. The signal is sent again
    instead, from a short-lived thread a moment later, so that it is raised once the hook has returned (raised
    inside the hook it would be lost the same way)."""
    import signal
    import threading

    def hook(unraisable) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            signum = signal.SIGTERM if isinstance(unraisable.exc_value, Terminated) else signal.SIGINT
            threading.Timer(0.05, signal.raise_signal, args=(signum,)).start()
        else:
            previous_hook(unraisable)

    return hook


def _forget_caught_interrupt() -> None:
    """CPython marks a KeyboardInterrupt that leaves a string exec (dataclasses build their methods that way, by
    the hundred while torch is imported) as unhandled even when a caller catches it; under ``python -m`` the
    interpreter then ends the process by SIGINT (exit -2) instead of with our code. Every string exec clears
    that mark as it starts, so a trivial one does. Every KeyboardInterrupt has been caught by now."""
    exec("pass", {})


def _exit_past_stuck_threads(code: int) -> None:
    """A stream that never answered leaves a thread inside OpenCV that cannot be stopped; the
    interpreter's shutdown would abort the process around it (exit 134): end here instead."""
    if "core.runtime.video.sources" not in sys.modules or not _is_entry_point():
        return
    from core.runtime.video.sources import stuck_in_opencv

    if stuck_in_opencv():
        import os

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _is_entry_point() -> bool:
    """Whether this process is the mess command itself (not a test or a notebook calling main())."""
    import os

    name = os.path.basename(sys.argv[0]) if sys.argv else ""
    return name in ("mess", "mess.exe") or (name == "__main__.py" and "core" in sys.argv[0])


def _main(argv: list[str] | None) -> int:
    with stopping_at_once():             # the commands import torch, OpenCV and their native code
        parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        return load_commands().get(args.command).run(args)
    except Cancelled:
        print("mess: cancelled", file=sys.stderr)
        return 130
    except Terminated:
        print("mess: terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("mess: interrupted", file=sys.stderr)
        return 130
    except MessError as exc:
        print(f"mess {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

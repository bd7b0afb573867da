"""core.cli.start: a signal while the command line and the engine are still being imported ends mess at once."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from core.cli import start
from core.cli.start import stopping_at_once
from tests.processes import default_sigint

REPO_ROOT = Path(__file__).resolve().parents[2]


class Ended(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def raise_ended(code: int) -> None:
    raise Ended(code)


@pytest.fixture
def handlers(monkeypatch):
    """Python's SIGINT handler, SIGTERM's default, and an _exit that raises instead of ending pytest."""
    monkeypatch.setattr(start, "_exit", raise_ended)
    previous = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    yield
    signal.signal(signal.SIGINT, previous[0])
    signal.signal(signal.SIGTERM, previous[1])


@pytest.mark.parametrize("signum,code,line", [(signal.SIGTERM, 143, "mess: terminated"),
                                              (signal.SIGINT, 130, "mess: interrupted")])
def test_a_signal_during_the_imports_ends_at_once_with_its_code(handlers, capfd, signum, code, line):
    with pytest.raises(Ended) as ended:
        with stopping_at_once():
            signal.raise_signal(signum)
    assert (ended.value.code, capfd.readouterr().err.strip()) == (code, line)


def test_afterwards_the_handlers_are_those_from_before(handlers):
    with stopping_at_once():
        pass
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_an_ignored_ctrl_c_stays_ignored(handlers):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with stopping_at_once():
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_off_the_main_thread_it_changes_nothing(handlers):
    seen = []

    def body():
        with stopping_at_once():
            seen.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert seen == [signal.default_int_handler]


def test_python_m_core_cli_stops_at_once_while_the_commands_are_imported(tmp_path):
    """The real process: SIGINT sent from inside the commands' imports ends it at once, before they finish,
    and without raising anything into the code being imported (native code there may not survive it)."""
    probe = tmp_path / "start_probe.py"
    probe.write_text("import signal, sys\nfrom core.cli import main as cli_main\nfrom core.cli.start import run\n"
                     "real = cli_main.build_parser\n"
                     "def build_parser():\n"
                     "    try:\n        signal.raise_signal(signal.SIGINT)\n        sum(range(1000))\n"
                     "    except BaseException as exc:\n        print('raised', type(exc).__name__)\n        raise\n"
                     "    print('imports finished')\n    return real()\n"
                     "cli_main.build_parser = build_parser\nsys.exit(run())\n")
    result = subprocess.run([sys.executable, "-m", "start_probe", "profile", "--help"], cwd=tmp_path, timeout=60,
                            capture_output=True, text=True, env={"PYTHONPATH": f"{REPO_ROOT}:{tmp_path}",
                                                                 "PATH": "/usr/bin:/bin"},
                            preexec_fn=default_sigint)
    assert (result.returncode, result.stderr.strip(), result.stdout) == (130, "mess: interrupted", "")

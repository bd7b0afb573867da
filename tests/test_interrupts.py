"""core.interrupts: Ctrl-C and SIGTERM held back while native libraries initialise, then raised."""

from __future__ import annotations

import signal
import sys
import threading

import pytest

from core.interrupts import import_native, interrupts_deferred


class Stop(Exception):
    pass


def raise_stop(signum, frame):
    raise Stop(signum)


@pytest.fixture
def python_handlers():
    """SIGINT raises KeyboardInterrupt (Python's default) and SIGTERM raises Stop, for the test."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler), signal.signal(signal.SIGTERM, raise_stop)
    yield
    signal.signal(signal.SIGINT, previous[0])
    signal.signal(signal.SIGTERM, previous[1])


def test_a_ctrl_c_inside_the_block_is_raised_when_the_block_ends(python_handlers):
    finished = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts_deferred():
            signal.raise_signal(signal.SIGINT)
            finished.append("the rest of the block ran")
    assert finished == ["the rest of the block ran"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_sigterm_goes_to_the_handler_that_was_in_place(python_handlers):
    with pytest.raises(Stop):
        with interrupts_deferred():
            signal.raise_signal(signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is raise_stop


def test_nothing_received_nothing_raised(python_handlers):
    with interrupts_deferred():
        pass
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_ignored_signal_stays_ignored(python_handlers):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with interrupts_deferred():
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_off_the_main_thread_it_changes_nothing(python_handlers):
    seen = []

    def body():
        with interrupts_deferred():
            seen.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert seen == [signal.default_int_handler]


def test_a_native_runtime_is_imported_whole_before_a_ctrl_c_is_raised(python_handlers, tmp_path, monkeypatch):
    (tmp_path / "slow_native.py").write_text("import signal\nsignal.raise_signal(signal.SIGINT)\nWHOLE = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "slow_native", raising=False)
    with pytest.raises(KeyboardInterrupt):
        import_native("slow_native")
    assert sys.modules["slow_native"].WHOLE
    assert import_native("slow_native") is sys.modules["slow_native"]        # once imported: no signal work

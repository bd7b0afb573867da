"""core.cli.start: a signal while the command line is still being imported ends mess quietly."""

from __future__ import annotations

import signal

import pytest

from core.cli.start import stopping_quietly


@pytest.fixture
def handlers():
    previous = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous[0])
    signal.signal(signal.SIGTERM, previous[1])


@pytest.mark.parametrize("signum,code,line", [(signal.SIGTERM, 143, "mess: terminated"),
                                              (signal.SIGINT, 130, "mess: interrupted")])
def test_a_signal_before_the_command_starts_exits_quietly_with_its_code(handlers, capsys, signum, code, line):
    with pytest.raises(SystemExit) as stopped:
        with stopping_quietly():
            signal.raise_signal(signum)
    assert (stopped.value.code, capsys.readouterr().err.strip()) == (code, line)


def test_afterwards_ctrl_c_is_pythons_again(handlers):
    with stopping_quietly():
        pass
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_ignored_ctrl_c_stays_ignored(handlers):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with stopping_quietly():
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN

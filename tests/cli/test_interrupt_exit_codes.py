"""A Ctrl-C or SIGTERM that lands at an awkward moment of start-up still ends `mess` with its own exit code.

Two CPython corners, both met while torch is being imported (CI saw the first: exit -2 after "mess: interrupted"):
a KeyboardInterrupt that leaves a string exec (dataclasses' generated methods) is remembered as unhandled and
`python -m` then dies by SIGINT; one raised inside a weakref callback is printed as "Exception ignored" and lost.
Each case runs `python -m` on a small module that puts the moment inside the real `core.cli.main.main`.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.processes import default_sigint

REPO_ROOT = Path(__file__).resolve().parents[2]

STRING_EXEC = """
    def command(argv):
        exec("raise {exception}()", {{"Terminated": Terminated}})
"""

WEAKREF_CALLBACK = """
    import time
    import weakref

    class Thing:
        pass

    def command(argv):
        def callback(reference):
            raise {exception}()
        thing = Thing()
        reference = weakref.ref(thing, callback)
        del thing                                   # the callback runs here; its exception cannot propagate
        for _ in range(100):
            time.sleep(0.05)
        print("finished")
        return 0
"""


def run_probe(tmp_path: Path, body: str, exception: str) -> subprocess.CompletedProcess:
    source = "import sys\nfrom core.cli import main as cli_main\nfrom core.cli.main import Terminated\n"
    source += textwrap.dedent(body.format(exception=exception))
    source += "\ncli_main._main = command\nsys.exit(cli_main.main([]))\n"
    (tmp_path / "interrupt_probe.py").write_text(source)
    return subprocess.run([sys.executable, "-m", "interrupt_probe"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, env={"PYTHONPATH": f"{REPO_ROOT}:{tmp_path}", "PATH": "/usr/bin:/bin"},
                          preexec_fn=default_sigint)


CASES = [("KeyboardInterrupt", 130, "mess: interrupted"), ("Terminated", 143, "mess: terminated")]


@pytest.mark.parametrize("exception,code,line", CASES)
def test_an_interrupt_inside_a_string_exec_exits_with_its_code(tmp_path, exception, code, line):
    result = run_probe(tmp_path, STRING_EXEC, exception)
    assert (result.returncode, result.stderr.strip()) == (code, line)


@pytest.mark.parametrize("exception,code,line", CASES)
def test_an_interrupt_lost_in_a_weakref_callback_still_stops_the_command(tmp_path, exception, code, line):
    result = run_probe(tmp_path, WEAKREF_CALLBACK, exception)
    assert (result.returncode, result.stderr.strip(), result.stdout) == (code, line, "")


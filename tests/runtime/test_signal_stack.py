"""A signal after OpenVINO graphs were used and released still reaches its handler (it used to crash the process).

OpenVINO's CPU plugin gave the thread that compiled a graph or ran a request an alternate signal stack of
its own and freed it with the graph: the next SIGTERM or Ctrl-C to that thread was a SIGSEGV (exit -11)
before any handler ran (seen in the test suite: a signal test after `mess profile --backend openvino`).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core.runtime.backends import BACKENDS

REPO_ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent("""
    import gc, os, signal, sys
    from pathlib import Path
    import torch
    from core.models import load_model
    from core.runtime.backends import make_pieces
    from tests.data.builders import write_tiny_model

    net, _ = load_model(write_tiny_model(Path(sys.argv[1]) / "model", (48, 64)), "cpu", inference=True)
    pieces = make_pieces(net, (48, 64), "openvino", precision="fp32")
    state = pieces.advance(pieces.start(torch.rand(1, 3, 48, 64).numpy()), len(net.segments) - 1)
    pieces.head(state, "final")
    del pieces, state
    gc.collect()

    def handler(signum, frame):
        os.write(1, b"handler ran")
        os._exit(3)

    signal.signal(signal.SIGTERM, handler)
    signal.raise_signal(signal.SIGTERM)
""")


def test_a_signal_after_openvino_graphs_were_released_reaches_its_handler(tmp_path):
    if BACKENDS.get("openvino").unavailable_reason():
        pytest.skip(f"openvino: {BACKENDS.get('openvino').unavailable_reason()}")
    result = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path)], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=300)
    assert (result.returncode, result.stdout) == (3, "handler ran"), result.stderr[-2000:]

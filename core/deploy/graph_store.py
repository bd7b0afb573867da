"""ONNX graphs of a network's pieces, exported once and cached on disk.

The cache folder is ``$MESS_CACHE_DIR/graphs`` (default ``~/.cache/mess-studio/graphs``);
a network's graphs live in a subfolder keyed by the SHA-256 of its tensors and the
input size, so a second start with the same model and size exports nothing. Each
graph is written to a temporary file and renamed into place: an interrupted export
leaves no half-written graph behind.
"""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path

import torch

from core.deploy.pieces import (ONNX_OPSET, PieceKey, example_inputs, feature_shapes, io_names, piece_module,
                                weights_fingerprint)
from core.errors import ConfigError
from core.models.network import MultiExitNet

CACHE_ENV = "MESS_CACHE_DIR"
# torch.onnx.export keeps global state: two threads exporting at once corrupt each other's graphs
# (the app's cost measurement and its live view may both need graphs). One export at a time.
_EXPORT_LOCK = threading.RLock()


def cache_root() -> Path:
    """Where cached graphs (and compiled blobs) live."""
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else Path.home() / ".cache" / "mess-studio"


def export_piece(net: MultiExitNet, key: PieceKey, size: tuple[int, int], path: Path,
                 shapes: tuple | None = None) -> Path:
    """Write the ONNX graph of one piece (batch axis dynamic) to ``path``, atomically."""
    shapes = shapes or feature_shapes(net, size)
    module = piece_module(net, key, size)
    inputs = example_inputs(net, key, size, shapes=shapes)
    input_names, output_names = io_names(net, key)
    dynamic = {name: {0: "batch"} for name in input_names + output_names}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _EXPORT_LOCK, warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, inputs, str(tmp), input_names=input_names, output_names=output_names,
                              dynamic_axes=dynamic, opset_version=ONNX_OPSET, dynamo=False)
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write the graph ({exc.strerror or exc}); set {CACHE_ENV} to a "
                          "writable folder") from None
    except Exception as exc:  # noqa: BLE001 - the exporter's own errors, as one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"cannot export the piece {key.name} to ONNX ({first})") from None
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:  # its folder could not be made: nothing to remove
            pass
    return path


class GraphStore:
    """The ONNX graphs of one network at one input size, exported on first use."""

    def __init__(self, net: MultiExitNet, input_size: tuple[int, int], root: Path | None = None) -> None:
        self.net = net
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.fingerprint = weights_fingerprint(net)
        h, w = self.input_size
        self.folder = (root or cache_root() / "graphs") / f"{self.fingerprint[:24]}-{h}x{w}"
        self._shapes: tuple | None = None
        self.exported = 0  # graphs this store had to export (0 on a warm cache)

    def onnx(self, key: PieceKey) -> Path:
        path = self.folder / f"{key.name}.onnx"
        if path.is_file():
            return path
        with _EXPORT_LOCK:
            if not path.is_file():  # another thread may have written it meanwhile
                if self._shapes is None:
                    self._shapes = feature_shapes(self.net, self.input_size)
                export_piece(self.net, key, self.input_size, path=path, shapes=self._shapes)
                self.exported += 1
        return path

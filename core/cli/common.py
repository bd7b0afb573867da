"""Helpers shared by the commands: the bundled model, sizes, JSON output."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from core.errors import ConfigError, ModelFormatError
from core.jsonio import write_json_atomic

def _bundled_model() -> Path:
    """The bundled model: assets/ of the source tree (an editable install, the PyInstaller build), else
    the copy a wheel installs under <prefix>/share/mess-studio (a plain ``pip install .``)."""
    import sys
    import sysconfig

    source_tree = Path(__file__).resolve().parents[2] / "assets" / "models" / "default"
    if (source_tree / "model.json").is_file():
        return source_tree
    prefixes = [sysconfig.get_path("data"), sys.prefix]
    try:
        prefixes.append(sysconfig.get_path("data", f"{os.name}_user"))
    except KeyError:
        pass
    for prefix in prefixes:
        installed = Path(prefix) / "share" / "mess-studio" / "models" / "default"
        if (installed / "model.json").is_file():
            return installed
    return source_tree


ASSETS = Path(__file__).resolve().parents[2] / "assets"
BUNDLED_MODEL = _bundled_model()


def resolve_model(path: str | None) -> Path:
    """The --model folder, or the bundled default model when none is given."""
    if path:
        return Path(path)
    if not (BUNDLED_MODEL / "model.json").is_file():
        raise ModelFormatError(f"no --model given and no bundled model at {BUNDLED_MODEL}; "
                               "make one with 'mess convert --backbone NAME --out DIR' and pass --model DIR")
    return BUNDLED_MODEL


def parse_size(text: str) -> tuple[int, int]:
    """'HxW' -> (H, W), e.g. 360x480."""
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a size HxW such as 360x480") from None
    if h < 16 or w < 16:
        raise argparse.ArgumentTypeError(f"size '{text}' is too small (at least 16x16)")
    return h, w


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def add_backend_arguments(parser: argparse.ArgumentParser) -> None:
    """--backend, --precision and --threads, shared by eval, profile, search and run."""
    from core.runtime.backends import BACKENDS, PRECISIONS, default_backend

    parser.add_argument("--backend", default=None, metavar="NAME",
                        help=f"execution backend: {', '.join(BACKENDS.names())} (default: {default_backend()}, "
                             "the fastest installed one whose logits match torch's within 1e-4)")
    parser.add_argument("--precision", default=None, choices=PRECISIONS,
                        help="numeric precision of the backend (default fp32; bf16 on openvino where the CPU has it; "
                             "int8 on openvino or onnxruntime after 'mess quantize')")
    parser.add_argument("--threads", type=positive_int, default=None, metavar="N",
                        help="CPU threads for the network (default: all cores; mess run: the cores that other "
                             "processes leave free, measured at its start)")


def backend_pieces(net, size: tuple[int, int], args: argparse.Namespace, precision: str | None = None):
    """The pieces of ``net`` that ``--backend``/``--precision``/``--threads`` ask for, at input ``size``
    (``precision`` overrides --precision; neither: fp32)."""
    from core.runtime.backends import make_pieces
    from core.threads import configure_threads

    configure_threads(args.threads)
    return make_pieces(net, size, args.backend, precision=precision or args.precision or "fp32",
                       threads=args.threads)


def precision_of_config(args: argparse.Namespace, config_file) -> None:
    """A configuration searched at a precision (``"precision"`` in its file, e.g. int8) runs at it
    unless --precision says otherwise (then a note says it was searched at another)."""
    searched = config_file.precision if config_file is not None else None
    if searched is None:
        return
    if args.precision is None:
        args.precision = searched
        note(f"{config_file.path}: searched at precision {searched}; running at {searched}")
    elif args.precision != searched:
        note(f"{config_file.path}: searched at precision {searched}; --precision {args.precision} may not give "
             "what the search predicted")


def warn_about_table(table, source: str) -> None:
    """One stderr line per reason to distrust a latency table (large spread, measured under load, made by an
    older mess), each with what to do about it."""
    import sys

    for warning in table.warnings():
        print(f"warning: {source}: {warning}; re-measure on an idle machine", file=sys.stderr)
    old = table.version_note()
    if old:
        print(f"warning: {source}: {old}; measure it again with 'mess profile'", file=sys.stderr)


def note(message: str) -> None:
    """One stderr line the user should know about but that does not stop the command."""
    import sys

    print(f"note: {message}", file=sys.stderr)


def write_json(path: str | Path, data: dict) -> None:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot create folder {path.parent} ({exc.strerror})") from None
    write_json_atomic(path, data)


def dumps(data: dict) -> str:
    return json.dumps(data, indent=2)

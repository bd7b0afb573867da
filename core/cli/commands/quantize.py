"""mess quantize: an int8 calibration for a model, so that --precision int8 runs int8 graphs."""

from __future__ import annotations

import argparse
import time

from core.cli.commands import COMMANDS, Command
from core.cli.common import parse_size, positive_int, resolve_model
from core.cli.progress import ProgressBar
from core.deploy.quantize import DEFAULT_IMAGES, DEFAULT_SCHEME, SCHEMES, quantize_job
from core.jobs import run_job
from core.models import load_model


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="model folder (default: the bundled model)")
    parser.add_argument("--images", required=True,
                        help="calibration footage: an image folder or a video, like what the model will run on "
                             "(not the images it is evaluated on)")
    parser.add_argument("--input", type=parse_size, help="input size HxW (default: the model's, else 360x480)")
    parser.add_argument("--count", type=positive_int, default=DEFAULT_IMAGES, metavar="N",
                        help=f"images taken, evenly spaced (default {DEFAULT_IMAGES})")
    parser.add_argument("--scheme", choices=list(SCHEMES), default=DEFAULT_SCHEME,
                        help="activations: " + "; ".join(f"{k}: {v.description}" for k, v in SCHEMES.items())
                             + f" (default {DEFAULT_SCHEME})")
    parser.add_argument("--threads", type=positive_int, default=None, metavar="N",
                        help="CPU threads (default: all cores)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from core.threads import configure_threads

    configure_threads(args.threads)
    model_dir = resolve_model(args.model)
    net, _ = load_model(model_dir, "cpu", inference=True)
    size = tuple(args.input or net.spec.input_size or (360, 480))
    start = time.perf_counter()
    record, folder = run_job(quantize_job(net, args.images, input_size=size, count=args.count, scheme=args.scheme),
                             ProgressBar(quiet=args.quiet))
    print(f"int8 calibration of {model_dir} at {size[0]}x{size[1]}: {record.images} images of {args.images} "
          f"(scheme {record.scheme}, fingerprint {record.fingerprint[:12]}), full network quantised in "
          f"{time.perf_counter() - start:.1f} s -> {folder}")
    print(f"  {record.method}; other pieces are quantised on first use")
    print("  use it with --precision int8 (--backend openvino or onnxruntime) on eval, profile, search, run, export")
    return 0


COMMANDS.add("quantize", Command("quantize", "calibrate int8 post-training quantisation for --precision int8",
                                 configure, run=run))

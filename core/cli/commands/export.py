"""mess export: the network's pieces as ONNX or OpenVINO graphs, a manifest and a torch-free run.py."""

from __future__ import annotations

import argparse

from core.cli.commands import COMMANDS, Command
from core.cli.common import note, parse_size, positive_int, precision_of_config, resolve_model, warn_about_table
from core.cli.progress import ProgressBar
from core.errors import ConfigError
from core.deploy.export import FORMAT_PRECISIONS, FORMATS, MANIFEST, export_model
from core.jobs import run_job
from core.models import load_model
from core.profile.costs import CostTable
from core.runtime.config_file import ConfigFile


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="model folder (default: the bundled model)")
    parser.add_argument("--config", help="exit configuration JSON: export only what it runs (default: every "
                                         "segment and head, re-configurable later)")
    parser.add_argument("--format", required=True, choices=list(FORMATS),
                        help="onnx (run by ONNX Runtime) or openvino (OpenVINO IR)")
    parser.add_argument("--precision", default=None,
                        choices=sorted({p for v in FORMAT_PRECISIONS.values() for p in v}),
                        help="fp32 (default); bf16 for openvino (a run-time hint: bfloat16 kernels where the "
                             "CPU has them); int8 (QDQ graphs from the calibration 'mess quantize' stored)")
    parser.add_argument("--input", type=parse_size, help="input size HxW (default: the model's, else 360x480)")
    parser.add_argument("--latency-table", help="the latency table the configuration was searched with "
                                                "(stored in the manifest)")
    parser.add_argument("--out", required=True, help="export folder to create (must not exist, or be empty)")
    parser.add_argument("--threads", type=positive_int, default=None, metavar="N",
                        help="CPU threads while exporting (default: all cores)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from core.threads import configure_threads

    configure_threads(args.threads)
    model_dir = resolve_model(args.model)
    config_file = ConfigFile.load(args.config) if args.config else None
    net, info = load_model(model_dir, "cpu", inference=True)
    config = config_file.checked(info.weights_sha256, net.exit_ids(), note) if config_file is not None else None
    precision_of_config(args, config_file)
    args.precision = args.precision or "fp32"
    table = None
    if args.latency_table:
        loaded = CostTable.load(args.latency_table)
        loaded.check_matches(net, args.latency_table)
        warn_about_table(loaded, args.latency_table)
        size = tuple(args.input or net.spec.input_size or (360, 480))
        if tuple(loaded.input_size) != size:
            h, w = loaded.input_size
            raise ConfigError(f"{args.latency_table}: measured at {h}x{w}, the export is {size[0]}x{size[1]} "
                              f"(give --input {h}x{w} or a table of this size)")
        table = loaded.to_json()
    manifest = run_job(export_model(net, args.out, fmt=args.format, precision=args.precision, config=config,
                                    input_size=args.input, model_name=str(model_dir),
                                    weights_sha256=info.weights_sha256, latency_table=table),
                       ProgressBar(quiet=args.quiet))
    size = manifest["input_size"]
    print(f"{model_dir} -> {args.out}: {len(manifest['graphs'])} {args.format} graphs ({args.precision}, "
          f"{size[0]}x{size[1]}), {MANIFEST}, run.py")
    print(f"  run it without torch: python {args.out}/run.py --source VIDEO --stats stats.jsonl")
    return 0


COMMANDS.add("export", Command("export", "export a model (or one exit configuration) as ONNX or OpenVINO graphs "
                                         "with a torch-free runner", configure, run=run))

"""mess eval: per-exit mIoU, per-class IoU, GFLOPs and latency; a configuration with real early exit."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.cli.commands import COMMANDS, Command
from core.cli.common import (add_backend_arguments, backend_pieces, note, parse_size, precision_of_config,
                             resolve_model, write_json)
from core.cli.progress import ProgressBar
from core.data import eval_transform, open_dataset
from core.data.sequences import parse_sequences, sequence_counts
from core.device import DEVICE_CHOICES, select_device
from core.evaluation import evaluate
from core.jobs import run_job
from core.models import load_model
from core.models.summary import trains_on
from core.errors import ConfigError, DataError
from core.runtime.backends.base import PRECISIONS
from core.runtime.config_file import ConfigFile
from core.runtime.early_exit import config_steps


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="model folder (default: the bundled model)")
    parser.add_argument("--data", required=True,
                        help="dataset folder (CamVid, image/mask folders, Cityscapes or VOC layout)")
    parser.add_argument("--split", default="val",
                        help="split(s) to evaluate, joined with '+' (default val; e.g. train+val)")
    parser.add_argument("--sequences", default="", metavar="SEQ[,SEQ]",
                        help="only the frames of these sequences (file-name prefix, e.g. 0006R0): a held-out fold")
    parser.add_argument("--exclude-sequences", default="", metavar="SEQ[,SEQ]",
                        help="leave out the frames of these sequences")
    parser.add_argument("--layout", help="dataset layout (default: detected)")
    parser.add_argument("--config", help="exit configuration JSON to run with real early exit")
    parser.add_argument("--full-precision", choices=PRECISIONS,
                        help="precision of the full network a --config is compared with in the same run "
                             "(default: the one its search measured its drop and speed-up against, which the "
                             "file records as reference_precision: fp32 after --precisions fp32,int8; else the "
                             "precision it runs at)")
    parser.add_argument("--json", help="write the report to this JSON file")
    parser.add_argument("--input", type=parse_size, help="resize images (and labels) to HxW first")
    parser.add_argument("--limit", type=int, help="evaluate only the first N images")
    parser.add_argument("--device", default="auto", choices=DEVICE_CHOICES, help="cuda, then mps, then cpu when auto")
    add_backend_arguments(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


MAX_SEQUENCE_COLUMNS = 6


def _print_report(report: dict) -> None:
    size = report["input_size"]
    print(f"{report['model']} on {report['split']} ({report['images']} images, {size[0]}x{size[1]}, "
          f"{report['device']}, backend {report['backend']} {report['precision']})")
    sequences = report.get("sequences") or {}
    columns = list(sequences) if 1 < len(sequences) <= MAX_SEQUENCE_COLUMNS else []
    header = "".join(f" {(name or '(none)')[:9]:>9s}" for name in columns)
    print(f"  {'exit':34s} {'mIoU %':>7s}{header} {'GFLOPs':>7s} {'ms':>7s}")
    for row in report["exits"] + [{"exit": "final", **report["final"]}]:
        cells = "".join(f" {sequences[name]['miou'][row['exit']]:9.2f}" for name in columns)
        print(f"  {row['exit']:34s} {row['miou']:7.2f}{cells} {row['gflops']:7.2f} {row['latency_ms']:7.1f}")
    if columns:
        counts = ", ".join(f"{name or '(none)'} {sequences[name]['images']}" for name in columns)
        print(f"  per-sequence columns: mIoU % on each sequence's images alone (images: {counts})")
    config = report.get("config")
    if config:
        fractions = ", ".join(f"{e} {100 * f:.0f}%" for e, f in config["exit_fractions"].items())
        full_precision = config.get("full_precision", report["precision"])
        at = f" ({full_precision}, mIoU {config['full_miou']:.2f} %)" if full_precision != report["precision"] else ""
        print(f"  configuration: mIoU {config['miou']:.2f} %, mean {config['mean_latency_ms']:.1f} ms against "
              f"{config['full_mean_latency_ms']:.1f} ms for the full network{at} in the same run "
              f"(x{config['speedup']:.2f}), {config['mean_gflops']:.2f} GFLOPs; exits taken: {fractions}")
        if len(config.get("sequences") or {}) > 1:
            for name, record in config["sequences"].items():
                early = 100 * (1 - record["exit_fractions"].get(config["exits"][-1], 0.0))
                print(f"    {name or '(none)':10s} {record['images']:4d} images: mIoU {record['miou']:.2f} %, "
                      f"x{record['speedup']:.2f}, {early:.0f} % left early")


def run(args: argparse.Namespace) -> int:
    model_dir = resolve_model(args.model)
    device = select_device(args.device)
    if args.full_precision and not args.config:
        raise ConfigError("--full-precision is the precision of the full network a --config is compared with: "
                          "give --config")
    config_file = ConfigFile.load(args.config) if args.config else None
    net, info = load_model(model_dir, device, inference=True)
    config = config_file.checked(info.weights_sha256, net.exit_ids(), note) if config_file is not None else None
    precision_of_config(args, config_file)
    spec = net.spec
    dataset = open_dataset(args.data, args.split, layout=args.layout,
                           transform=eval_transform(spec.mean, spec.std, args.input),
                           sequences=parse_sequences(args.sequences, "--sequences"),
                           exclude_sequences=parse_sequences(args.exclude_sequences, "--exclude-sequences"))
    if dataset.classes.num_classes != spec.num_classes:
        raise DataError(f"{args.data}: the dataset has {dataset.classes.num_classes} classes, "
                        f"the model {model_dir} has {spec.num_classes}")
    if args.limit:
        dataset.samples = dataset.samples[: args.limit]
    if config is not None:
        config_steps(net, config)  # checks the configuration against the model before any work
    if len(dataset) == 0:
        raise DataError(f"{args.data}: split '{args.split}' has no images")
    evaluated = sequence_counts(dataset.samples)
    if trains_on(info.provenance, args.split, evaluated, data=str(args.data)):
        note(f"{model_dir} trained on frames of '{args.split}' of a dataset named {Path(args.data).name}: these "
             "figures are scores on training images, not accuracy on new footage (a held-out fold is: see --hold-out)")
    first = dataset[0]["image"]
    size = (int(first.shape[-2]), int(first.shape[-1]))
    pieces = backend_pieces(net, size, args)
    full_pieces = None
    full_precision = args.full_precision or (config_file.reference_precision if config_file else None)
    if config is not None and full_precision not in (None, pieces.precision):
        full_pieces = backend_pieces(net, size, args, precision=full_precision)
    report = run_job(evaluate(net, dataset, device, config=config, model_name=str(model_dir), split=args.split,
                              pieces=pieces, full_pieces=full_pieces), ProgressBar(quiet=args.quiet))
    _print_report(report)
    if args.json:
        write_json(args.json, report)
    return 0


COMMANDS.add("eval", Command("eval", "evaluate every exit of a model (and an exit configuration) on a dataset",
                             configure, run=run))

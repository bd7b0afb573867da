"""mess search: the best exit configuration for a budget, from the calibration cache (no network runs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.cli.commands import COMMANDS, Command
from core.cli.common import parse_size, resolve_model, write_json
from core.cli.progress import ProgressBar
from core.data import eval_transform, open_dataset
from core.device import DEVICE_CHOICES, select_device
from core.errors import ConfigError, DataError, MessError
from core.jobs import run_job
from core.models import load_model
from core.models.io import ModelInfo
from core.profile.costs import CostTable, measure_costs
from core.search.calibration import CALIBRATION_FILE, CalibrationCache, calibrate
from core.search.search import SearchSpace, search


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="model folder (default: the bundled model)")
    parser.add_argument("--data", required=True, help="labelled dataset: its split is the calibration set")
    parser.add_argument("--split", default="val", help="calibration split (default val)")
    parser.add_argument("--layout", help="dataset layout (default: detected)")
    parser.add_argument("--input", type=parse_size, help="resize calibration images to HxW")
    parser.add_argument("--latency-table", help="latency table from 'mess profile' (default: measured here now)")
    budget = parser.add_mutually_exclusive_group(required=True)
    budget.add_argument("--budget-ms", type=float, help="most accurate configuration within this mean latency")
    budget.add_argument("--budget-gflops", type=float, help="most accurate configuration within this mean GFLOPs")
    budget.add_argument("--max-drop", type=float, help="cheapest configuration at most this many mIoU points "
                                                       "below the full network")
    parser.add_argument("--cost", choices=("latency", "gflops"), default="latency",
                        help="what --max-drop minimises (default latency)")
    parser.add_argument("--out", required=True, help="exit configuration JSON to write")
    parser.add_argument("--pareto", help="write the Pareto front (and search statistics) to this JSON file")
    parser.add_argument("--max-early", type=int, default=3, help="most early exits kept (default 3)")
    parser.add_argument("--device", default="auto", choices=DEVICE_CHOICES, help="device for calibration")
    parser.add_argument("--quiet", action="store_true")


def _cache(net, info: ModelInfo, dataset, size: tuple[int, int], device, model_dir: Path, progress) -> CalibrationCache:
    path = model_dir / CALIBRATION_FILE
    paths = [str(s.image) for s in dataset.samples]
    if path.is_file():
        try:
            cache = CalibrationCache.load(path)
            if cache.is_valid_for(info.weights_sha256, net.exit_ids(), size, cache.policy, paths):
                return cache
            print(f"{path}: stale (model, exits, size or images changed); rebuilding", file=sys.stderr)
        except MessError as exc:
            print(f"{exc}; rebuilding", file=sys.stderr)
    cache = run_job(calibrate(net, dataset, device, info.weights_sha256), progress)
    try:
        cache.save(path)
    except OSError as exc:
        print(f"{path}: cannot save the calibration cache ({exc.strerror}); it will be rebuilt next time",
              file=sys.stderr)
    return cache


def run(args: argparse.Namespace) -> int:
    model_dir = resolve_model(args.model)
    device = select_device(args.device)
    net, info = load_model(model_dir, device)
    table = CostTable.load(args.latency_table) if args.latency_table else None
    if table is not None:
        table.check_matches(net, args.latency_table)
    dataset = open_dataset(args.data, args.split, layout=args.layout,
                           transform=eval_transform(net.spec.mean, net.spec.std, args.input))
    if dataset.classes.num_classes != net.spec.num_classes:
        raise DataError(f"{args.data}: the dataset has {dataset.classes.num_classes} classes, "
                        f"the model {net.spec.num_classes}")
    if len(dataset) == 0:
        raise DataError(f"{args.data}: the '{args.split}' split is empty")
    size = tuple(int(v) for v in dataset[0]["image"].shape[-2:])
    if table is not None and tuple(table.input_size) != size:
        (h, w), (ch, cw) = table.input_size, size
        raise ConfigError(f"{args.latency_table}: measured at {w}x{h}, the calibration images are {cw}x{ch}; "
                          f"profile at --input {ch}x{cw}")
    progress = ProgressBar(quiet=args.quiet)
    cache = _cache(net, info, dataset, size, device, Path(model_dir), progress)
    if table is None:
        table = measure_costs(net, cache.input_size, "cpu" if device.type == "mps" else device)
    result = search(net.cpu(), cache, table, SearchSpace(max_early=args.max_early))
    if args.budget_ms is not None:
        chosen = result.most_accurate_within(args.budget_ms, "latency")
    elif args.budget_gflops is not None:
        chosen = result.most_accurate_within(args.budget_gflops, "gflops")
    else:
        chosen = result.cheapest_within_drop(args.max_drop, args.cost)
    summary = result.summary(chosen)
    full = result.summary(result.full_index)
    result.config(chosen).save(args.out, {"predicted": summary, "full_network": full,
                                          "latency_table": table.device_description, "images": cache.images})
    if args.pareto:
        front = [{**result.summary(int(i)), "config": result.config(int(i)).to_json()}
                 for i in result.pareto_front("latency" if args.budget_gflops is None else "gflops")]
        write_json(args.pareto, {"configs_evaluated": result.count, "search_seconds": result.seconds,
                                 "configs_per_second": result.count / max(result.seconds, 1e-9),
                                 "calibration_images": cache.images, "full_network": full, "front": front})
    print(f"searched {result.count} configurations in {result.seconds:.2f} s on {cache.images} images")
    print(f"full network: mIoU {full['miou']:.2f} %, {full['mean_latency_ms']:.1f} ms, {full['mean_gflops']:.2f} GFLOPs")
    print(f"chosen: {result.describe(chosen)}, {summary['mean_latency_ms']:.1f} ms mean "
          f"({summary['p95_latency_ms']:.1f} p95), {summary['mean_gflops']:.2f} GFLOPs -> {args.out}")
    return 0


COMMANDS.add("search", Command("search", "search exits, heads and thresholds for a latency, FLOPs or accuracy budget",
                               configure, run))

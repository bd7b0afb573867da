"""mess search: the best exit configuration for a budget, from the calibration cache (no network runs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.cli.commands import COMMANDS, Command
from core.cli.common import (add_backend_arguments, backend_pieces, parse_size, resolve_model, warn_about_table,
                             write_json)
from core.cli.progress import ProgressBar
from core.device import DEVICE_CHOICES, select_device
from core.jobs import run_job
from core.models import load_model
from core.profile.costs import CostTable, measure_costs
from core.search.calibration import LABELS
from core.search.search import SearchSpace, search
from core.search.session import (Budget, SearchRequest, calibration_cache, calibration_size, check_latency_table,
                                 config_document, pareto_document)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="model folder (default: the bundled model)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", help="labelled dataset: its split is the calibration set")
    source.add_argument("--unlabelled", help="label-free calibration on your own footage (an image folder or a "
                                             "video): each exit is scored against the final exit's prediction, "
                                             "so mIoU means agreement with the full network")
    parser.add_argument("--split", default="val", help="calibration split (default val)")
    parser.add_argument("--layout", help="dataset layout (default: detected)")
    parser.add_argument("--input", type=parse_size, help="resize calibration images to HxW")
    parser.add_argument("--limit", type=int, help="calibrate on at most N images, evenly spaced over the split "
                                                   "(a quick search; default: all, or 100 frames of a video)")
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
    add_backend_arguments(parser)
    parser.add_argument("--quiet", action="store_true")


def _warn(message: str) -> None:
    print(message, file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    model_dir = resolve_model(args.model)
    device = select_device(args.device)
    net, info = load_model(model_dir, device, inference=True)
    table = CostTable.load(args.latency_table) if args.latency_table else None
    if table is not None:
        check_latency_table(table, net, source=args.latency_table)
    request = SearchRequest(args.data, args.split, args.limit, layout=args.layout, input_size=args.input,
                            unlabelled=args.unlabelled)
    dataset = request.open(net, args.input)
    size = calibration_size(dataset)
    if table is not None:
        check_latency_table(table, net, size, args.latency_table)
    progress = ProgressBar(quiet=args.quiet)
    cache = run_job(calibration_cache(net, info, dataset, device, Path(model_dir), warn=_warn,
                                      reference=request.reference), progress)
    if table is None:
        pieces = backend_pieces(net, cache.input_size, args)
        table = measure_costs(net, cache.input_size, "cpu" if device.type == "mps" else device, pieces=pieces)
    elif args.backend is not None:
        table.check_matches(net, args.latency_table, args.backend, args.precision)
    warn_about_table(table, args.latency_table or "latency measured now")
    result = search(net.cpu(), cache, table, SearchSpace(max_early=args.max_early))
    if args.budget_ms is not None:
        budget = Budget("latency", args.budget_ms)
    elif args.budget_gflops is not None:
        budget = Budget("gflops", args.budget_gflops)
    else:
        budget = Budget("drop", args.max_drop, args.cost)
    chosen = budget.choose(result)
    summary = result.summary(chosen)
    full = result.summary(result.full_index)
    write_json(args.out, config_document(result, chosen, table, cache.images, cache.reference))
    if args.pareto:
        write_json(args.pareto, pareto_document(result, "latency" if args.budget_gflops is None else "gflops",
                                                cache.images, cache.reference))
    print(f"searched {result.count} configurations in {result.seconds:.2f} s on {cache.images} images")
    if cache.reference != LABELS:
        print(f"label-free calibration on {args.unlabelled}: mIoU below is the agreement with the final exit")
    print(f"full network: mIoU {full['miou']:.2f} %, {full['mean_latency_ms']:.1f} ms, {full['mean_gflops']:.2f} GFLOPs")
    print(f"chosen: {result.describe(chosen)}, {summary['mean_latency_ms']:.1f} ms mean "
          f"({summary['p95_latency_ms']:.1f} p95), {summary['mean_gflops']:.2f} GFLOPs -> {args.out}")
    return 0


COMMANDS.add("search", Command("search", "search exits, heads and thresholds for a latency, FLOPs or accuracy budget",
                               configure, run))

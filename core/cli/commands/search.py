"""mess search: the best exit configuration for a budget, from the calibration cache (no network runs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.cli.commands import COMMANDS, Command
from core.cli.common import (add_backend_arguments, backend_pieces, parse_size, positive_int, resolve_model,
                             warn_about_table, write_json)
from core.cli.progress import ProgressBar
from core.device import DEVICE_CHOICES, select_device
from core.errors import ConfigError
from core.jobs import run_job
from core.models import load_model
from core.profile.costs import CostTable, measure_costs
from core.runtime.config_file import ConfigOrigin
from core.search.calibration import LABELS
from core.search.search import SearchSpace, search
from core.search.holdout import DEFAULT_RULE, RULES, TIME_BLOCKS
from core.search.session import (Budget, SearchRequest, calibration_cache, calibration_size, check_latency_table,
                                 choose_checked, config_document, pareto_document)


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
    budget.add_argument("--deadline-ms", type=float,
                        help="a deadline configuration: every frame answers with the deepest kept exit that "
                             "finishes within this many ms (two rungs: the cheapest exit, and the most accurate "
                             "one that fits behind it by the latency table)")
    budget.add_argument("--max-drop", type=float, help="cheapest configuration at most this many mIoU points "
                                                       "below the full network")
    parser.add_argument("--cost", choices=("latency", "gflops"), default="latency",
                        help="what --max-drop minimises (default latency)")
    parser.add_argument("--out", required=True, help="exit configuration JSON to write")
    parser.add_argument("--pareto", help="write the Pareto front (and search statistics) to this JSON file")
    parser.add_argument("--max-early", type=int, default=3, help="most early exits kept (default 3)")
    parser.add_argument("--selection", choices=RULES, default=DEFAULT_RULE,
                        help="robust (default): the budget rule on each configuration's worst calibration fold; "
                             "plain: on all calibration images pooled")
    parser.add_argument("--folds", type=positive_int, default=TIME_BLOCKS, metavar="N",
                        help=f"time blocks the calibration images are split into when their names carry no "
                             f"sequences (default {TIME_BLOCKS}); by sequence otherwise")
    parser.add_argument("--no-held-out", action="store_true",
                        help="skip the held-out check (choose on all images pooled, as --selection plain)")
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
        check_latency_table(table, net, size, source=args.latency_table)
    progress = ProgressBar(quiet=args.quiet)
    cache = run_job(calibration_cache(net, info, dataset, device=device, model_dir=Path(model_dir), warn=_warn,
                                      reference=request.reference), progress)
    if table is None:
        pieces = backend_pieces(net, cache.input_size, args)
        table = measure_costs(net, cache.input_size, "cpu" if device.type == "mps" else device, pieces=pieces)
    elif args.backend is not None:
        table.check_matches(net, args.latency_table, args.backend, precision=args.precision)
    warn_about_table(table, args.latency_table or "latency measured now")
    result = search(net.cpu(), cache, table, space=SearchSpace(max_early=args.max_early))
    if args.deadline_ms is not None:
        return _deadline(args, net, cache, table=table, result=result,
                         origin=ConfigOrigin(str(model_dir), info.weights_sha256))
    if args.budget_ms is not None:
        budget = Budget("latency", args.budget_ms)
    elif args.budget_gflops is not None:
        budget = Budget("gflops", args.budget_gflops)
    else:
        budget = Budget("drop", args.max_drop, args.cost)
    chosen, report, note = choose_checked(net.cpu(), cache, table, space=SearchSpace(max_early=args.max_early),
                                          result=result, budget=budget, rule=args.selection, blocks=args.folds,
                                          check=not args.no_held_out)
    if note:
        _warn(f"note: {note}")
    summary = result.summary(chosen)
    full = result.summary(result.full_index)
    write_json(args.out, config_document(result, chosen, table, images=cache.images, reference=cache.reference,
                                         held_out=report, origin=ConfigOrigin(str(model_dir), info.weights_sha256)))
    if args.pareto:
        write_json(args.pareto, pareto_document(result, "latency" if args.budget_gflops is None else "gflops",
                                                cache.images, reference=cache.reference))
    print(f"searched {result.count} configurations in {result.seconds:.2f} s on {cache.images} images")
    if cache.reference != LABELS:
        print(f"label-free calibration on {args.unlabelled}: mIoU below is the agreement with the final exit")
    print(f"full network: mIoU {full['miou']:.2f} %, {full['mean_latency_ms']:.1f} ms, "
          f"{full['mean_gflops']:.2f} GFLOPs")
    print(f"chosen: {result.describe(chosen)}, {summary['mean_latency_ms']:.1f} ms mean "
          f"({summary['p95_latency_ms']:.1f} p95), {summary['mean_gflops']:.2f} GFLOPs -> {args.out}")
    for miss in result.miss_costs(chosen):
        print(f"  {miss.sentence()}")
    if report is not None:
        print_held_out(report)
    return 0


def _deadline(args: argparse.Namespace, net, cache, table, result, origin: ConfigOrigin) -> int:
    """--deadline-ms: the deadline configuration and what it is predicted to give."""
    from core.search.deadline import best_deadline_config

    if args.deadline_ms <= 0:
        raise ConfigError(f"--deadline-ms {args.deadline_ms:g}: must be positive")
    config, predicted = best_deadline_config(net.cpu(), cache, table, deadline_ms=args.deadline_ms)
    full = result.summary(result.full_index)
    write_json(args.out, {**config.to_json(), **origin.to_json(), "predicted": predicted, "full_network": full,
                          "latency_table": table.device_description, "images": cache.images,
                          "calibration_reference": cache.reference})
    print(f"full network: mIoU {full['miou']:.2f} %, {full['mean_latency_ms']:.1f} ms")
    print(f"deadline {args.deadline_ms:g} ms: {' > '.join(config.exits)}; by the latency table every frame answers "
          f"at {predicted['exit']} ({predicted['mean_latency_ms']:.1f} ms), mIoU {predicted['miou']:.2f} % -> "
          f"{args.out}")
    return 0


def print_held_out(report) -> None:
    """Leave one fold out: each rule's choice on the other folds, predicted there and measured on the fold."""
    folds = ", ".join(f"{name} ({len(m)})" for name, m in zip(report.folds.names, report.folds.members))
    print(f"held-out check (leave one fold out; folds by {report.folds.by}: {folds}); the configuration above "
          f"is chosen by the {report.rule} rule on all of them")
    print(f"  {'rule':7s} {'held-out fold':16s} {'drop pp: predicted':>18s} {'held out':>8s} "
          f"{'speed-up: predicted':>19s} {'held out':>8s}  chosen on the other folds")
    for rule, checks in report.checks.items():
        for c in checks:
            if c["config"] is None:
                print(f"  {rule:7s} {c['fold'][:16]:16s} nothing fits the budget on the other folds")
                continue
            print(f"  {rule:7s} {c['fold'][:16]:16s} {c['predicted_drop_pp']:18.2f} {c['held_out_drop_pp']:8.2f} "
                  f"{c['predicted_speedup']:19.2f} {c['held_out_speedup']:8.2f}  {c['config']}")
    for rule in report.checks:
        s = report.summary(rule)
        if not s["feasible_folds"]:
            continue
        print(f"  {rule}: held-out drop {s['mean_held_out_drop_pp']:.2f} pp mean, {s['worst_held_out_drop_pp']:.2f} "
              f"worst (predicted {s['mean_predicted_drop_pp']:.2f}); speed-up x{s['mean_held_out_speedup']:.2f} mean "
              f"(predicted x{s['mean_predicted_speedup']:.2f}); budget held on {s['budget_met_folds']} of "
              f"{s['folds']} held-out folds")
    for note in report.notes:
        print(f"  note: {note}")


COMMANDS.add("search", Command("search", "search exits, heads and thresholds for a latency, FLOPs or accuracy budget",
                               configure, run=run))

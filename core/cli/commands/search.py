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
                                 choose_checked, config_document, pareto_document, training_frames_note)


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
    parser.add_argument("--latency-table", help="latency table from 'mess profile' (default: measured here now); "
                                                "with --precisions, one per precision, comma-separated")
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
    parser.add_argument("--precisions", metavar="P,P",
                        help="search each precision (e.g. fp32,int8: int8 after 'mess quantize'), calibrated "
                             "and timed at it, and keep the best configuration of all; --max-drop is then "
                             "below fp32's full network (else the first one's)")
    parser.add_argument("--quiet", action="store_true")


def _warn(message: str) -> None:
    print(message, file=sys.stderr)


def _precisions(args: argparse.Namespace) -> list[str]:
    """--precisions a,b (each searched, the best kept), else --precision (default fp32)."""
    from core.runtime.backends import PRECISIONS

    if not args.precisions:
        return [args.precision or "fp32"]
    if args.precision:
        raise ConfigError("give --precision or --precisions, not both")
    wanted = [p.strip() for p in args.precisions.split(",") if p.strip()]
    unknown = [p for p in wanted if p not in PRECISIONS]
    if unknown or not wanted:
        raise ConfigError(f"--precisions {args.precisions}: known precisions are {', '.join(PRECISIONS)}")
    if len(set(wanted)) != len(wanted):
        raise ConfigError(f"--precisions {args.precisions}: a precision is named twice")
    return wanted


def _tables(args: argparse.Namespace, net, precisions: list[str]) -> list[CostTable | None]:
    """The --latency-table files, one per precision (comma-separated, in the same order), or None each."""
    if not args.latency_table:
        return [None] * len(precisions)
    paths = [p.strip() for p in args.latency_table.split(",")] if len(precisions) > 1 else [args.latency_table]
    if len(paths) != len(precisions):
        raise ConfigError(f"--latency-table: {len(paths)} tables for {len(precisions)} precisions "
                          f"({', '.join(precisions)}); give one per precision, comma-separated, in that order")
    tables = []
    for path, precision in zip(paths, precisions):
        table = CostTable.load(path)
        check_latency_table(table, net, source=path)
        if len(precisions) > 1 and table.precision != precision:
            raise ConfigError(f"{path}: measured at precision {table.precision}, given for {precision}")
        tables.append(table)
    return tables


def run(args: argparse.Namespace) -> int:
    model_dir = resolve_model(args.model)
    device = select_device(args.device)
    net, info = load_model(model_dir, device, inference=True)
    precisions = _precisions(args)
    if args.max_drop is not None and args.max_drop < 0:
        raise ConfigError(f"--max-drop {args.max_drop:g}: must be at least 0")
    if len(precisions) > 1 and args.deadline_ms is not None:
        raise ConfigError("--deadline-ms searches one precision: give --precision instead of --precisions")
    tables = _tables(args, net, precisions)
    request = SearchRequest(args.data, args.split, args.limit, layout=args.layout, input_size=args.input,
                            unlabelled=args.unlabelled)
    dataset = request.open(net, args.input)
    trained = training_frames_note(info, request, dataset)
    if trained:
        _warn(f"note: {trained}")
    size = calibration_size(dataset)
    for table, path in zip(tables, (args.latency_table or "").split(",")):
        if table is not None:
            check_latency_table(table, net, size, source=path.strip() or args.latency_table)
    progress = ProgressBar(quiet=args.quiet)
    searched = []
    for precision, table in zip(precisions, tables):
        searched.append(_search_at(args, net, info, precision=precision, table=table, dataset=dataset,
                                   request=request, progress=progress, model_dir=Path(model_dir), device=device))
    if args.deadline_ms is not None:
        precision, cache, table, result = searched[0]
        return _deadline(args, net, cache, table=table, result=result,
                         origin=ConfigOrigin(str(model_dir), info.weights_sha256), precision=precision)
    if args.budget_ms is not None:
        budget = Budget("latency", args.budget_ms)
    elif args.budget_gflops is not None:
        budget = Budget("gflops", args.budget_gflops)
    else:
        budget = Budget("drop", args.max_drop, args.cost)
    reference_precision, _, _, reference = next((r for r in searched if r[0] == "fp32"), searched[0])
    reference_full = reference.summary(reference.full_index)["miou"]   # fp32's full network when searched
    choices = []
    for precision, cache, table, result in searched:
        # --max-drop is below fp32's full network (else the first precision's): a lower-precision full
        # network that already lost accuracy has that much less room.
        lost = reference_full - result.summary(result.full_index)["miou"]
        wanted = Budget("drop", budget.value - lost, budget.cost) if budget.kind == "drop" else budget
        if wanted.kind == "drop" and wanted.value < 0:
            _warn(f"note: precision {precision}: its full network is {lost:.2f} pp below {reference_precision}'s, "
                  f"more than --max-drop {budget.value:g}")
            continue
        try:
            chosen, report, note = choose_checked(net.cpu(), cache, table, space=SearchSpace(max_early=args.max_early),
                                                  result=result, budget=wanted, rule=args.selection,
                                                  blocks=args.folds, check=not args.no_held_out)
        except ConfigError as exc:
            if len(searched) == 1:
                raise
            _warn(f"note: precision {precision}: {exc}")
            continue
        choices.append((precision, cache, table, result, chosen, report, note))
    if not choices:
        raise ConfigError(f"no configuration fits the budget at any precision ({', '.join(precisions)})")
    best = _best_choice(choices, budget)
    precision, cache, table, result, chosen, report, note = best
    if note:
        _warn(f"note: {note}")
    summary = result.summary(chosen)
    full = result.summary(result.full_index)
    document = config_document(result, chosen, table, images=cache.images, reference=cache.reference,
                               held_out=report, origin=ConfigOrigin(str(model_dir), info.weights_sha256))
    if len(precisions) > 1 or precision != "fp32":
        document["precision"] = precision
        document["reference_precision"] = reference_precision   # what --max-drop and the speed-up are below
    if len(precisions) > 1:
        document["precisions_searched"] = [_precision_record(c) for c in choices]
    write_json(args.out, document)
    if args.pareto:
        write_json(args.pareto, pareto_document(result, "latency" if args.budget_gflops is None else "gflops",
                                                cache.images, reference=cache.reference))
    print(f"searched {result.count} configurations in {result.seconds:.2f} s on {cache.images} images"
          + (f", at each of {', '.join(precisions)}" if len(precisions) > 1 else ""))
    if cache.reference != LABELS:
        print(f"label-free calibration on {args.unlabelled}: mIoU below is the agreement with the final exit")
    for c in choices if len(precisions) > 1 else []:
        r = _precision_record(c)
        print(f"  {r['precision']:5s} full network mIoU {r['full_network']['miou']:.2f} %, "
              f"{r['full_network']['mean_latency_ms']:.1f} ms; its choice {r['chosen']}: "
              f"mIoU {r['predicted']['miou']:.2f} %, {r['predicted']['mean_latency_ms']:.1f} ms mean")
    print(f"full network{f' ({precision})' if len(precisions) > 1 else ''}: mIoU {full['miou']:.2f} %, "
          f"{full['mean_latency_ms']:.1f} ms, {full['mean_gflops']:.2f} GFLOPs")
    print(f"chosen{f' at {precision}' if len(precisions) > 1 else ''}: {result.describe(chosen)}, "
          f"{summary['mean_latency_ms']:.1f} ms mean ({summary['p95_latency_ms']:.1f} p95), "
          f"{summary['mean_gflops']:.2f} GFLOPs -> {args.out}")
    for miss in result.miss_costs(chosen):
        print(f"  {miss.sentence()}")
    if report is not None:
        print_held_out(report)
    return 0


def _search_at(args: argparse.Namespace, net, info, *, precision: str, table: CostTable | None, dataset, request,
               progress, model_dir: Path, device):
    """(precision, calibration cache, latency table, search result) of one precision. fp32 calibrates
    with the float network; another precision with the backend's pieces, so that the search predicts
    what that precision gives."""
    size = calibration_size(dataset)
    pieces = None
    if precision != "fp32" or table is None:
        pieces = backend_pieces(net, size, args, precision=precision)
    cache = run_job(calibration_cache(net, info, dataset, device=device, model_dir=model_dir, warn=_warn,
                                      reference=request.reference,
                                      pieces=pieces if precision != "fp32" else None), progress)
    if table is None:
        table = measure_costs(net, cache.input_size, "cpu" if device.type == "mps" else device, pieces=pieces)
    else:
        if table.precision != precision and (args.precision or args.precisions):
            raise ConfigError(f"latency table measured at precision {table.precision}, not {precision}; measure "
                              f"one with 'mess profile --precision {precision}'")
        if args.backend is not None:
            table.check_matches(net, args.latency_table, args.backend, precision=precision)
        measured = table.extra.get("precision_id")
        if pieces is not None and pieces.precision_id != pieces.precision and measured != pieces.precision_id:
            raise ConfigError(f"latency table measured with other int8 graphs ({measured or 'not recorded'}) than "
                              f"this model's calibration now ({pieces.precision_id}); profile again")
    warn_about_table(table, args.latency_table or f"latency measured now ({precision})")
    result = search(net.cpu(), cache, table, space=SearchSpace(max_early=args.max_early))
    return precision, cache, table, result


def _best_choice(choices: list, budget: Budget):
    """The precision whose choice is best for the budget: the most accurate within a cost budget, the
    cheapest within an accuracy floor (ties: the earlier precision)."""
    def summary(c):
        return c[3].summary(c[4])

    if budget.kind == "drop":
        key = "mean_latency_ms" if budget.cost == "latency" else "mean_gflops"
        return min(choices, key=lambda c: summary(c)[key])
    return max(choices, key=lambda c: (summary(c)["miou"], -summary(c)["mean_latency_ms"]))


def _precision_record(choice) -> dict:
    precision, cache, table, result, chosen, _, _ = choice
    return {"precision": precision, "chosen": result.describe(chosen).rsplit(": mIoU", 1)[0],
            "config": result.config(chosen).to_json(), "predicted": _brief(result.summary(chosen)),
            "full_network": _brief(result.summary(result.full_index)), "latency_table": table.device_description}


def _brief(summary: dict) -> dict:
    return {k: summary[k] for k in ("miou", "mean_latency_ms", "p95_latency_ms", "mean_gflops")}


def _deadline(args: argparse.Namespace, net, cache, table, result, origin: ConfigOrigin,
              precision: str = "fp32") -> int:
    """--deadline-ms: the deadline configuration and what it is predicted to give."""
    from core.search.deadline import best_deadline_config

    if args.deadline_ms <= 0:
        raise ConfigError(f"--deadline-ms {args.deadline_ms:g}: must be positive")
    config, predicted = best_deadline_config(net.cpu(), cache, table, deadline_ms=args.deadline_ms)
    full = result.summary(result.full_index)
    write_json(args.out, {**config.to_json(), **origin.to_json(), "predicted": predicted, "full_network": full,
                          "latency_table": table.device_description, "images": cache.images,
                          "calibration_reference": cache.reference,
                          **({"precision": precision} if precision != "fp32" else {})})
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

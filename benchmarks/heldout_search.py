"""Leave one CamVid sequence out: a configuration chosen on two drives, measured on the third.

For each drive of the pool (CamVid train+val: 0001TP, 0006R0, 0016E5) the search chooses a
configuration for ``--max-drop`` on the other two drives' calibration entries (core.search.holdout,
both rules: ``robust`` and ``plain``), and the chosen configuration is then *run* on the held-out
drive's frames with real early exit, interleaved with the full network in the same loop
(core.evaluation, as ``mess eval --config`` does): the measured mIoU drop and speed-up, beside the
search's predictions. Calibration and timing use disjoint frames. The latency table is measured here,
on the chosen backend, at the start. Writes JSON.

The bundled model trained on frames of all three drives (CamVid train), so this measures how far
thresholds transfer from one drive to another, not how the model generalises (issue: generalisation).

    python benchmarks/heldout_search.py --out benchmarks/results/heldout_search.json
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from drive_pool import drive_pool_parser  # noqa: E402

from core.data import eval_transform, open_dataset  # noqa: E402
from core.evaluation import evaluate  # noqa: E402
from core.jobs import run_job  # noqa: E402
from core.models import load_model  # noqa: E402
from core.profile.costs import describe_device, measure_costs  # noqa: E402
from core.runtime.backends import default_backend, make_pieces  # noqa: E402
from core.search.calibration import calibrate  # noqa: E402
from core.search.holdout import RULES, fold_results, held_out_choice, make_folds  # noqa: E402
from core.search.search import SearchSpace, search  # noqa: E402
from core.threads import configure_threads  # noqa: E402


def main() -> None:
    parser = drive_pool_parser(__doc__.splitlines()[0], out="benchmarks/results/heldout_search.json")
    args = parser.parse_args()

    configure_threads(args.threads)
    backend = args.backend or default_backend()
    net, info = load_model(args.model, "cpu", inference=True)
    dataset = open_dataset(args.data, args.split, transform=eval_transform(net.spec.mean, net.spec.std))
    size = tuple(net.spec.input_size)
    pieces = make_pieces(net, size, backend, precision="fp32", threads=args.threads)
    started = time.perf_counter()
    table = measure_costs(net, size, "cpu", pieces=pieces)
    print(f"latency table on {table.device_description}: full network "
          f"{table.full_network_spread()[0]:.1f} ms", flush=True)
    cache = run_job(calibrate(net, dataset, net_device(net), weights_sha256=info.weights_sha256))
    print(f"calibrated on {cache.images} images in {time.perf_counter() - started:.0f} s", flush=True)
    space = SearchSpace()
    folds = make_folds(cache.image_paths)
    assert folds.by == "sequence", f"expected folds by sequence, got {folds.by}"
    results = fold_results(net, cache, table, space=space, folds=folds)
    everything = search(net, cache, table, space=space)
    records = []
    for rule in RULES:
        _, report = held_out_choice(results, everything, kind="drop", value=args.max_drop, rule=rule)
        for k, check in enumerate(report.checks[rule]):
            name = folds.names[k]
            held = open_dataset(args.data, args.split, transform=eval_transform(net.spec.mean, net.spec.std),
                                sequences=(name,))
            if check["config"] is None:
                print(f"{rule:6s} held out {name}: nothing fits on the other drives", flush=True)
                continue
            config = results.others[k].config(check["index"])
            measured = run_job(evaluate(net, held, net_device(net), config=config, costs=table, pieces=pieces))
            run = measured["config"]
            record = {
                "rule": rule, "held_out": name, "images": len(held), "config": config.to_json(),
                "predicted_drop_pp": check["predicted_drop_pp"], "predicted_speedup": check["predicted_speedup"],
                "cache_held_out_drop_pp": check["held_out_drop_pp"],
                "measured_miou": run["miou"], "measured_full_miou": measured["final"]["miou"],
                "measured_drop_pp": measured["final"]["miou"] - run["miou"],
                "measured_mean_latency_ms": run["mean_latency_ms"],
                "measured_full_mean_latency_ms": run["full_mean_latency_ms"],
                "measured_speedup": run["speedup"], "exit_fractions": run["exit_fractions"],
            }
            records.append(record)
            print(f"{rule:6s} held out {name}: drop predicted {record['predicted_drop_pp']:.2f}, measured "
                  f"{record['measured_drop_pp']:.2f} pp; speed-up predicted x{record['predicted_speedup']:.2f}, "
                  f"measured x{record['measured_speedup']:.2f}", flush=True)
    summary = {}
    for rule in RULES:
        mine = [r for r in records if r["rule"] == rule]
        summary[rule] = {"mean_measured_drop_pp": statistics.fmean(r["measured_drop_pp"] for r in mine),
                         "mean_measured_speedup": statistics.fmean(r["measured_speedup"] for r in mine),
                         "target_drop_pp": 1.5, "target_speedup": 1.3}
    out = {"model": args.model, "weights_sha256": info.weights_sha256, "data": args.data, "split": args.split,
           "max_drop_pp": args.max_drop,
           "backend": backend, "threads": args.threads, "device": describe_device(torch.device("cpu")),
           "full_network_table_ms": table.full_network_spread()[0], "folds": folds.names,
           "records": records, "summary": summary, "seconds": time.perf_counter() - started}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


def net_device(net):
    return next(net.parameters()).device


if __name__ == "__main__":
    main()

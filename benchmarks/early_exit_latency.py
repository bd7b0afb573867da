"""Does real early exit save real time? Latency of every static exit against the full network.

For one backbone at one input size, this measures (median of repeats, after a
warm-up, in one run so the figures are comparable): the full network's plain
forward, the runtime executing the full network (final exit only, to show the
runtime adds no cost), and the runtime executing each early exit as a static
configuration (the backbone stops there). It also reports the latency the
per-piece cost table predicts for each exit. Writes JSON.

    python benchmarks/early_exit_latency.py --backbone lraspp_mobilenet_v3_large \\
        --out benchmarks/results/early_exit_latency.json
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.data.classes import CLASS_SETS  # noqa: E402
from core.models import HEAD_PRESETS, convert_backbone, load_model  # noqa: E402
from core.models.inference import optimize_for_inference  # noqa: E402
from core.profile.costs import cascade_cost, describe_device, measure_costs  # noqa: E402
from core.runtime.config import ExitConfig  # noqa: E402
from core.runtime.early_exit import EarlyExitRunner  # noqa: E402


def median_ms(fn, warmup: int, repeats: int) -> float:
    with torch.no_grad():
        for _ in range(warmup):
            fn()
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(samples)


def interleaved_medians(fns: dict, warmup: int, repeats: int) -> dict[str, float]:
    """Median ms of each function, timed in turns (a, b, a, b, ...)."""
    with torch.inference_mode():
        for fn in fns.values():
            for _ in range(warmup):
                fn()
        samples: dict[str, list[float]] = {name: [] for name in fns}
        for _ in range(repeats):
            for name, fn in fns.items():
                start = time.perf_counter()
                fn()
                samples[name].append((time.perf_counter() - start) * 1000.0)
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="lraspp_mobilenet_v3_large")
    parser.add_argument("--model", help="a model folder instead of a randomly initialised --backbone")
    parser.add_argument("--input", default="360x480", help="HxW (default 360x480)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--out", default="benchmarks/results/early_exit_latency.json")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    size = tuple(int(v) for v in args.input.split("x"))
    if args.model:
        plain, _ = load_model(args.model)
    else:
        plain = convert_backbone(args.backbone, CLASS_SETS.get("camvid"), HEAD_PRESETS.get("light")).eval()
    net = optimize_for_inference(copy.deepcopy(plain))   # what eval, search, run and the app execute
    image = torch.rand(1, 3, *size)
    costs = measure_costs(net, size, warmup=args.warmup, repeats=args.repeats)
    # The two forms side by side, interleaved, so a busy machine slows both alike.
    both = interleaved_medians({"plain": lambda: plain(image, exits=["final"]),
                                "inference": lambda: net(image, exits=["final"])}, args.warmup, args.repeats)
    full_plain = both["inference"]
    rows = []
    for exit_id in net.exit_ids():
        runner = EarlyExitRunner(net, ExitConfig.static(exit_id))
        measured = median_ms(lambda: runner.run(image), args.warmup, args.repeats)
        rows.append({
            "exit": exit_id,
            "gflops": cascade_cost(net, costs, [exit_id], taken=0, key="gflops"),
            "predicted_ms": cascade_cost(net, costs, [exit_id], taken=0, key="latency_ms"),
            "runtime_ms": measured,
            "speedup_vs_full": full_plain / measured,
        })
    report = {
        "benchmark": "early_exit_latency",
        "backbone": net.spec.backbone,
        "input_size": list(size),
        "threads": args.threads,
        "device_description": describe_device(torch.device("cpu")),
        "full_network_forward_ms": full_plain,
        "full_network_forward_ms_training_form": both["plain"],
        "inference_form_speedup": both["plain"] / both["inference"],
        "exits": rows,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"{report['backbone']} at {size[1]}x{size[0]}, {args.threads} threads: full forward {full_plain:.1f} ms "
          f"(training form {both['plain']:.1f} ms, x{report['inference_form_speedup']:.2f})")
    for row in rows:
        print(f"  {row['exit']:34s} {row['gflops']:6.2f} GFLOPs  runtime {row['runtime_ms']:6.1f} ms  "
              f"(predicted {row['predicted_ms']:6.1f})  x{row['speedup_vs_full']:.2f}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

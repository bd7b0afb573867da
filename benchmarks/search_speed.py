"""Calibration and search speed, and how well the search's predictions hold when really run.

For a model folder and a calibration split (CamVid val by default): the time to
build the calibration cache, the number of configurations the exhaustive
search evaluates, its time and rate; then, for the configurations the paper
reports (the cheapest within 0.1 pp and within 1 pp of the full network's
mIoU, the most accurate within the full network's latency), the predicted
mIoU and mean latency against those measured by running the configured
network with real early exit on the same images (one run, same machine).
Writes JSON.

    python benchmarks/search_speed.py --model runs/camvid/model --out benchmarks/results/search_speed.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.data import ConfusionMatrix, eval_transform, open_dataset  # noqa: E402
from core.jobs import run_job  # noqa: E402
from core.models import load_model  # noqa: E402
from core.profile.costs import describe_device, measure_costs  # noqa: E402
from core.runtime.early_exit import EarlyExitRunner  # noqa: E402
from core.search.calibration import calibrate  # noqa: E402
from core.search.search import search  # noqa: E402


def measure(net, images, masks, config) -> dict:
    runner = EarlyExitRunner(net, config)
    classes = net.spec.classes
    cm = ConfusionMatrix(classes.num_classes, classes.ignore_index)
    runner.run(images[0])  # warm-up
    latencies = []
    for image, mask in zip(images, masks):
        start = time.perf_counter()
        result = runner.run(image)
        latencies.append((time.perf_counter() - start) * 1000.0)
        cm.update(result.labels, mask)
    return {"miou": 100.0 * cm.mean_iou(), "mean_latency_ms": statistics.fmean(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="model folder")
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "camvid"))
    parser.add_argument("--split", default="val")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results/search_speed.json")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    net, info = load_model(args.model)
    dataset = open_dataset(args.data, args.split, transform=eval_transform(net.spec.mean, net.spec.std))
    started = time.perf_counter()
    cache = run_job(calibrate(net, dataset, torch.device("cpu"), weights_sha256=info.weights_sha256))
    calibration_s = time.perf_counter() - started
    costs = measure_costs(net, cache.input_size, "cpu", warmup=5, repeats=20)
    result = search(net, cache, costs)
    full = result.full_index
    chosen = {
        "full_network": full,
        "cheapest_within_0.1pp": result.cheapest_within_drop(0.1, "latency"),
        "cheapest_within_1pp": result.cheapest_within_drop(1.0, "latency"),
        "most_accurate_within_full_latency": result.most_accurate_within(result.mean_latency_ms[full], "latency"),
    }
    items = [dataset[i] for i in range(len(dataset))]
    images = [it["image"].unsqueeze(0) for it in items]
    masks = [it["mask"].unsqueeze(0) for it in items]
    measured_full = measure(net, images, masks, config=result.config(full))
    rows = {}
    for name, index in chosen.items():
        config = result.config(index)
        real = measured_full if index == full else measure(net, images, masks, config=config)
        rows[name] = {
            "config": config.to_json(),
            "predicted": result.summary(index),
            "measured": real,
            "latency_error": real["mean_latency_ms"] / result.mean_latency_ms[index] - 1.0,
            "predicted_latency_gain": result.mean_latency_ms[full] / result.mean_latency_ms[index],
            "measured_latency_gain": measured_full["mean_latency_ms"] / real["mean_latency_ms"],
        }
    report = {
        "benchmark": "search_speed",
        "model": args.model,
        "backbone": net.spec.backbone,
        "images": cache.images,
        "input_size": list(cache.input_size),
        "exits": len(cache.exit_ids),
        "threads": args.threads,
        "device_description": describe_device(torch.device("cpu")),
        "calibration_seconds": calibration_s,
        "configs_evaluated": result.count,
        "search_seconds": result.seconds,
        "configs_per_second": result.count / result.seconds,
        "configurations": rows,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"calibration {calibration_s:.1f} s on {cache.images} images; {result.count} configurations "
          f"in {result.seconds:.2f} s ({report['configs_per_second']:.0f}/s)")
    for name, row in rows.items():
        print(f"  {name:36s} mIoU {row['predicted']['miou']:6.2f} predicted / {row['measured']['miou']:6.2f} measured; "
              f"{row['predicted']['mean_latency_ms']:6.1f} ms predicted / "
              f"{row['measured']['mean_latency_ms']:6.1f} measured")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

"""Deadline mode on a clip: per-frame latency against the deadline, and the mean exit depth.

One latency table is measured first (`mess profile` on the backend); then `mess run --deadline-ms D`
plays the whole clip for each deadline, in one process, with that table. Reports each run's median
and p95 per-frame latency (reading and resizing included), p95 / deadline and the mean exit depth
(1 = the final exit). Writes JSON.

    python benchmarks/deadline.py --out benchmarks/results/deadline.json
    python benchmarks/deadline.py --precision int8 --out benchmarks/results/deadline_int8.json   # after mess quantize
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.cli.main import main as mess  # noqa: E402
from core.profile.costs import describe_device  # noqa: E402
from core.runtime.backends import default_backend  # noqa: E402

VIDEO = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos" / "highway.mp4"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=str(VIDEO))
    parser.add_argument("--deadlines", type=float, nargs="+", default=[10.0, 15.0, 25.0])
    parser.add_argument("--backend", default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precision", default="fp32", help="fp32, bf16 or int8 (int8: after 'mess quantize')")
    parser.add_argument("--out", default="benchmarks/results/deadline.json")
    args = parser.parse_args()
    backend = args.backend or default_backend()
    common = ["--backend", backend, "--threads", str(args.threads), "--precision", args.precision]
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        table = Path(folder) / "table.json"
        assert mess(["profile", "--out", str(table), *common]) == 0
        for deadline in args.deadlines:
            stats = Path(folder) / f"stats-{deadline:g}.jsonl"
            assert mess(["run", "--source", args.source, "--deadline-ms", f"{deadline:g}", "--latency-table",
                         str(table), "--stats", str(stats), "--quiet", *common]) == 0
            summary = json.loads(stats.read_text().splitlines()[-1])["summary"]
            runs.append({"deadline_ms": deadline, "frames": summary["frames"],
                         "median_latency_ms": summary["median_latency_ms"],
                         "p95_latency_ms": summary["p95_latency_ms"],
                         "p95_over_deadline": summary["p95_latency_ms"] / deadline,
                         "mean_exit_depth": summary["mean_exit_depth"], "exit_histogram": summary["exit_histogram"]})
        table_data = json.loads(table.read_text())
    out = {"source": args.source, "weights_sha256": table_data.get("weights_sha256", ""),  # the bundled model's
           "backend": backend, "precision": args.precision, "threads": args.threads,
           "device": describe_device(torch.device("cpu")),
           "table_full_network_ms": sum(s["latency_ms"] for s in table_data["segments"])
           + table_data["heads"]["final"]["latency_ms"] + table_data.get("output_ms", 0.0),
           "runs": runs, "target_p95_over_deadline": 1.1}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    for run in runs:
        print(f"deadline {run['deadline_ms']:g} ms: median {run['median_latency_ms']:.1f}, p95 "
              f"{run['p95_latency_ms']:.1f} ms (x{run['p95_over_deadline']:.2f}), mean exit depth "
              f"{run['mean_exit_depth']:.2f}")


if __name__ == "__main__":
    main()

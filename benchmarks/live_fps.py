"""Live video speed: the full network against a searched exit configuration, end to end, side by side.

Runs the live pipeline of ``mess run`` in process (decode, resize to --size,
preprocess, the model with real early exit, labels; no drawing) on a video
for the full network and for a configuration found by ``mess search``,
alternating the two in every repetition (A B, then B A, ...) so that a busy
machine slows both alike; reports medians over the repetitions. Writes JSON.

    python benchmarks/live_fps.py --out benchmarks/results/live_fps.json

Without --config the searched configuration is made first with
``mess search --budget-ms X`` (default 25; or --max-drop PP). Its calibration
(--calibration) is by default label-free on the benchmark video itself, but
only on the frames after the timed ones (held out: they are written to a
temporary folder, never into the project), with the final exit's prediction
as the reference: ``mess search --unlabelled``. ``--calibration camvid``
calibrates on CamVid's labelled val split instead. The calibration cache
(one slot per calibration set, in the model folder's calibration/) is reused next time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.cli.common import parse_size  # noqa: E402
from core.models import FINAL_EXIT, load_model  # noqa: E402
from core.profile.costs import describe_device  # noqa: E402
from core.runtime.config import ExitConfig  # noqa: E402
from core.runtime.live import LiveRunner, LiveStats  # noqa: E402
from core.runtime.video.reader import stream  # noqa: E402
from core.runtime.video.sources import open_source  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


def searched_config(args: argparse.Namespace) -> tuple[Path, dict]:
    """--config, or a fresh `mess search --budget-ms` result (run at --threads threads)."""
    if args.config:
        return Path(args.config), json.loads(Path(args.config).read_text())
    work = Path(tempfile.mkdtemp(prefix="live_fps_"))
    out = work / "searched.json"
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    budget = ["--max-drop", str(args.max_drop)] if args.max_drop is not None else ["--budget-ms", str(args.budget_ms)]
    if args.calibration == "video":
        held_out = held_out_frames(args.video, args.frames, args.size, folder=work / "frames")
        source = ["--unlabelled", str(held_out), "--limit", str(args.calibration_frames)]
    else:
        source = ["--data", args.data]
    h, w = args.size
    command = [sys.executable, "-m", "core.cli", "search", "--model", args.model, *source, "--input", f"{h}x{w}",
               *budget, "--out", str(out), "--device", "cpu", "--quiet"]
    print("searching:", " ".join(command[2:]), flush=True)
    start = time.perf_counter()
    code = subprocess.run(command, cwd=ROOT, env=env).returncode
    shutil.rmtree(work / "frames", ignore_errors=True)
    if code != 0:
        sys.exit("live_fps: mess search failed (see above); pass a larger --budget-ms or a --config")
    print(f"search took {time.perf_counter() - start:.1f} s", flush=True)
    return out, json.loads(out.read_text())


def held_out_frames(video: str, skip: int, size: tuple[int, int], folder: Path) -> Path:
    """The video's frames after the first ``skip`` (the timed ones), resized, as PNGs in ``folder``."""
    folder.mkdir(parents=True)
    capture = cv2.VideoCapture(video)
    index = written = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if index >= skip:
            frame = cv2.resize(frame, (size[1], size[0]), interpolation=cv2.INTER_AREA)
            cv2.imwrite(str(folder / f"{index:06d}.png"), frame)
            written += 1
        index += 1
    capture.release()
    if written == 0:
        sys.exit(f"live_fps: {video} has no frame after the {skip} timed ones to calibrate on; "
                 "use --calibration camvid or fewer --frames")
    print(f"calibrating on frames {skip}-{index - 1} of {Path(video).name} (held out from the timing)", flush=True)
    return folder


def one_run(runner: LiveRunner, config: ExitConfig, video: str, frames: int) -> tuple[dict, list[float]]:
    """One pass over the video's first ``frames`` frames; the summary and every frame's latency."""
    runner.set_config(config)
    stats = LiveStats(exits=config.exits)
    latencies = []
    with open_source(video) as source:
        for result in stream(source, runner, max_frames=frames, stats=stats):
            latencies.append(result.latency_ms)
    return stats.summary(), latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="assets/models/default")
    parser.add_argument("--video", default=str(SHARED / "videos" / "highway.mp4"))
    parser.add_argument("--size", type=parse_size, default=(360, 480), help="processing size HxW (default 360x480)")
    parser.add_argument("--config", help="the searched exit configuration (default: run mess search now)")
    parser.add_argument("--data", default=str(SHARED / "camvid"), help="calibration dataset for mess search")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--budget-ms", type=float, default=25.0,
                        help="mess search mean latency budget per frame (default 25; the bundled model's full "
                             "network takes about 40 ms at 360x480 on 2 threads of a quiet 2-core CPU)")
    budget.add_argument("--max-drop", type=float, help="instead: the cheapest configuration within PP mIoU points")
    parser.add_argument("--calibration", choices=("video", "camvid"), default="video",
                        help="search calibration: label-free on the video's frames after the timed ones "
                             "(default), or CamVid's labelled val split (--data)")
    parser.add_argument("--calibration-frames", type=int, default=60,
                        help="held-out frames the label-free calibration uses, evenly spaced (default 60)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--frames", type=int, default=100, help="frames per run (default 100)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each configuration, alternated (default 3)")
    parser.add_argument("--out", default="benchmarks/results/live_fps.json")
    args = parser.parse_args()

    os.chdir(ROOT)
    config_path, config_json = searched_config(args)
    torch.set_num_threads(args.threads)
    net, _ = load_model(args.model, inference=True)   # as mess run loads it
    runner = LiveRunner(net, size=args.size, device="cpu")
    configs = {"full_network": ExitConfig.static(FINAL_EXIT),
               "searched": ExitConfig.from_json(config_json, str(config_path))}
    for config in configs.values():
        runner.set_config(config)
        runner.warmup(3)

    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    runs: dict[str, list[dict]] = {name: [] for name in configs}
    latencies: dict[str, list[float]] = {name: [] for name in configs}
    names = list(configs)
    for rep in range(args.repeats):
        for name in names if rep % 2 == 0 else names[::-1]:
            summary, lat = one_run(runner, configs[name], args.video, frames=args.frames)
            runs[name].append(summary)
            latencies[name].extend(lat)
            print(f"  run {rep + 1}/{args.repeats} {name:12s} {summary['frames']} frames  {summary['fps']:6.2f} fps  "
                  f"median {summary['median_latency_ms']:6.1f} ms", flush=True)
    load_after = os.getloadavg() if hasattr(os, "getloadavg") else None

    results = {}
    for name, summaries in runs.items():
        histogram: dict[str, int] = {}
        for s in summaries:
            for exit_id, n in s["exit_histogram"].items():
                histogram[exit_id] = histogram.get(exit_id, 0) + n
        lat = np.asarray(latencies[name])
        results[name] = {
            "exits": configs[name].exits,
            "fps": statistics.median(s["fps"] for s in summaries),
            "fps_runs": [s["fps"] for s in summaries],
            "median_latency_ms": float(np.median(lat)),
            "p95_latency_ms": float(np.percentile(lat, 95)),
            "frames": int(sum(s["frames"] for s in summaries)),
            "frames_per_run": summaries[0]["frames"],
            "exit_histogram": histogram,
        }
    results["searched"]["config"] = configs["searched"].to_json()
    results["searched"]["config_file"] = args.config  # None: made by mess search in this run
    results["searched"]["predicted"] = config_json.get("predicted")
    full, searched = results["full_network"], results["searched"]
    report = {
        "benchmark": "live_fps",
        "model": args.model,
        "backbone": net.spec.backbone,
        "video": os.path.relpath(args.video, ROOT),
        "size": list(args.size),
        "pipeline": "decode + resize (INTER_AREA) + preprocess + early-exit model + labels, in process, no drawing",
        "repeats": args.repeats,
        "order": "alternating (full, searched), then (searched, full), ...",
        "search": None if args.config else {
            **({"max_drop_pp": args.max_drop} if args.max_drop is not None else {"budget_ms": args.budget_ms}),
            "calibration": (f"label-free (final exit as reference), {args.calibration_frames} frames evenly spaced "
                            f"over the frames after the first {args.frames} of the video (not timed)"
                            if args.calibration == "video"
                            else f"labelled: {os.path.relpath(args.data, ROOT)} val split")},
        "threads": torch.get_num_threads(),
        "device_description": describe_device(torch.device("cpu")),
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "cpu_count": os.cpu_count(), "load_average_before": load_before, "load_average_after": load_after},
        "configurations": results,
        "speedup_fps": searched["fps"] / full["fps"],
        "speedup_median_latency": full["median_latency_ms"] / searched["median_latency_ms"],
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    h, w = args.size
    print(f"{Path(args.video).name} at {w}x{h}, {report['threads']} threads, medians of {args.repeats} runs:")
    for name, row in results.items():
        print(f"  {name:12s} {row['fps']:6.2f} fps  median {row['median_latency_ms']:6.1f} ms  "
              f"p95 {row['p95_latency_ms']:6.1f} ms  exits {row['exit_histogram']}")
    print(f"  speed-up x{report['speedup_fps']:.2f} fps, x{report['speedup_median_latency']:.2f} median latency")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

"""Label-free calibration on the first half of a clip, timing on the second half.

For each video: the search calibrates against the full network's own labels (label-free) on up to
100 evenly spaced frames of the clip's first half and chooses a configuration within ``--max-drop``
points of predicted agreement (the default robust rule, folds = time blocks of the first half).
Then every frame of the second half runs through the configuration and through the full network,
interleaved in one loop on the same backend: the measured agreement with the full network (mIoU of
the configuration's labels against the full network's) beside the predicted one, and the two
frame rates. Writes JSON.

    python benchmarks/video_halves.py --out benchmarks/results/video_halves.json
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

from core.cli.common import BUNDLED_MODEL  # noqa: E402
from core.data import ConfusionMatrix, eval_transform  # noqa: E402
from core.data.video_frames import VideoFrames, evenly_spaced_indices, frame_count  # noqa: E402
from core.jobs import run_job  # noqa: E402
from core.models import FINAL_EXIT, load_model  # noqa: E402
from core.profile.costs import describe_device, measure_costs  # noqa: E402
from core.runtime.backends import default_backend, make_pieces  # noqa: E402
from core.runtime.config import ExitConfig  # noqa: E402
from core.runtime.live import LiveRunner  # noqa: E402
from core.search.calibration import FINAL_EXIT_REFERENCE, calibrate  # noqa: E402
from core.search.search import SearchSpace, search  # noqa: E402
from core.search.session import Budget, choose_checked  # noqa: E402
from core.threads import configure_threads  # noqa: E402

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"


def timed(runner: LiveRunner, rgb) -> tuple[float, object]:
    start = time.perf_counter()
    result = runner.process(rgb)
    return (time.perf_counter() - start) * 1000.0, result


def one_video(net, info, path: Path, pieces, table, max_drop: float, selection: str) -> dict:
    count = frame_count(path)
    half = count // 2
    size = tuple(net.spec.input_size)
    transform = eval_transform(net.spec.mean, net.spec.std, None)
    first = VideoFrames(path, transform, size, picks=evenly_spaced_indices(half, 100))
    cache = run_job(calibrate(net, first, next(net.parameters()).device, weights_sha256=info.weights_sha256,
                              reference=FINAL_EXIT_REFERENCE))
    space = SearchSpace()
    result = search(net, cache, table, space=space)
    chosen, report, note = choose_checked(net, cache, table, space=space, result=result,
                                          budget=Budget("drop", max_drop), rule=selection)
    config = result.config(chosen)
    predicted = result.summary(chosen)
    second = VideoFrames(path, lambda image, mask, rng: (image, mask), None, picks=list(range(half, count)))
    runner = LiveRunner(net, config, pieces=pieces)
    full = LiveRunner(net, ExitConfig.static(FINAL_EXIT), pieces=pieces)
    runner.warmup()
    full.warmup()
    classes = net.spec.classes
    agreement = ConfusionMatrix(classes.num_classes, classes.ignore_index)
    ms, full_ms = [], []
    for i in range(len(second)):
        rgb = second.frames[i]
        if i % 2:
            f_ms, reference = timed(full, rgb)
            c_ms, answer = timed(runner, rgb)
        else:
            c_ms, answer = timed(runner, rgb)
            f_ms, reference = timed(full, rgb)
        ms.append(c_ms)
        full_ms.append(f_ms)
        agreement.update(answer.labels.astype("int64"), reference.labels.astype("int64"))
    measured = 100.0 * agreement.mean_iou()
    return {
        "video": path.name, "frames": count, "calibration_frames": len(first), "timed_frames": len(second),
        "config": config.to_json(), "note": note, "selection": report.rule if report is not None else "plain",
        "predicted_agreement": predicted["miou"], "measured_agreement": measured,
        "predicted_loss_pp": 100.0 - predicted["miou"], "measured_loss_pp": 100.0 - measured,
        "predicted_speedup": result.summary(result.full_index)["mean_latency_ms"] / predicted["mean_latency_ms"],
        "mean_latency_ms": statistics.fmean(ms), "full_mean_latency_ms": statistics.fmean(full_ms),
        "fps": 1000.0 / statistics.fmean(ms), "full_fps": 1000.0 / statistics.fmean(full_ms),
        "measured_speedup": statistics.fmean(full_ms) / statistics.fmean(ms),
        "held_out_summary": report.summary(report.rule) if report is not None else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(BUNDLED_MODEL))
    parser.add_argument("--videos", nargs="+", default=[str(VIDEOS / "highway.mp4"), str(VIDEOS / "pedestrians.mp4")])
    parser.add_argument("--max-drop", type=float, default=2.0)
    parser.add_argument("--backend", default=None)
    parser.add_argument("--selection", choices=("robust", "plain"), default="robust")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results/video_halves.json")
    args = parser.parse_args()
    configure_threads(args.threads)
    backend = args.backend or default_backend()
    net, info = load_model(args.model, "cpu", inference=True)
    size = tuple(net.spec.input_size)
    pieces = make_pieces(net, size, backend, precision="fp32", threads=args.threads)
    table = measure_costs(net, size, "cpu", pieces=pieces)
    records = []
    for video in args.videos:
        record = one_video(net, info, Path(video), pieces=pieces, table=table, max_drop=args.max_drop,
                           selection=args.selection)
        records.append(record)
        print(f"{record['video']}: agreement predicted {record['predicted_agreement']:.2f} %, measured "
              f"{record['measured_agreement']:.2f} %; {record['fps']:.1f} fps against {record['full_fps']:.1f} "
              f"for the full network (x{record['measured_speedup']:.2f}); {' > '.join(record['config']['exits'])}",
              flush=True)
    out = {"model": args.model, "backend": backend, "threads": args.threads,
           "device": describe_device(torch.device("cpu")),
           "max_drop_pp": args.max_drop, "selection": args.selection, "records": records,
           "targets": {"agreement_within_pp": 2.0, "speedup": 1.3}}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""Execution backends side by side: latency, accuracy, policy and pipeline costs, live and exported fps.

All in one run, 2 threads (``--threads``), backends interleaved in every repetition
so that a busy machine slows them alike; medians are reported. Writes JSON.

    python benchmarks/backends.py --out benchmarks/results/backends.json

1. ``network``: the full network (segments, final head, labels) on the same images,
   per backend and precision, and its ratio to torch eager.
2. ``accuracy``: the final exit's mIoU on CamVid val (``--data``) per backend, and the
   difference to torch's (skipped without the data).
3. ``policy``: per kept exit of the bundled model, the head's latency on the fastest
   backend and the exit policy's cost on its logits as the runtime pays it (one pixel
   threshold: ``host.confident_fraction``), and their ratio.
4. ``pipeline``: decode, resize, normalisation and overlay per frame of the video.
5. ``live``: ``mess run`` on the video (``--video``), full network, per backend (and OpenVINO at
   bf16 where the CPU has it), end to end (decode to labels), and the exported ``run.py`` with the
   same backend beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.threads import set_wait_policy  # noqa: E402

set_wait_policy()

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks.cpu_features import cpu_features  # noqa: E402
from core.data import eval_transform, open_dataset  # noqa: E402
from core.data.metrics import ConfusionMatrix  # noqa: E402
from core.data.transforms import preprocess_frame  # noqa: E402
from core.models import FINAL_EXIT, load_model  # noqa: E402
from core.profile.costs import TIMED_TH_PIX, describe_device  # noqa: E402
from core.runtime import host  # noqa: E402
from core.runtime.backends import BackendOptions, available_backends, get_backend  # noqa: E402
from core.runtime.backends.openvino_backend import supports_bf16  # noqa: E402
from core.runtime.config import ExitConfig  # noqa: E402
from core.runtime.config_file import ConfigOrigin  # noqa: E402
from core.runtime.early_exit import EarlyExitRunner  # noqa: E402
from core.runtime.video.overlay import blend, colorize  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
VARIANTS = [("torch", "fp32"), ("onnxruntime", "fp32"), ("openvino", "fp32"), ("openvino", "bf16")]


def median_ms(samples: list[float]) -> float:
    return round(1000.0 * statistics.median(samples), 3)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def variants(net, size) -> dict:
    runners = {}
    for backend, precision in VARIANTS:
        if backend not in available_backends():
            continue
        try:
            pieces = get_backend(backend).pieces(net, size, BackendOptions(precision))
        except Exception as exc:  # noqa: BLE001 - e.g. no bf16 on this CPU: reported, not fatal
            print(f"skipping {backend} {precision}: {exc}", flush=True)
            continue
        runners[f"{backend}/{precision}"] = EarlyExitRunner(net, ExitConfig.static(FINAL_EXIT), pieces)
    return runners


def network_latency(runners: dict, images: list[torch.Tensor], repeats: int) -> dict:
    samples = {name: [] for name in runners}
    for name, runner in runners.items():  # warm-up
        runner.run(images[0])
    for r in range(repeats):
        order = list(runners) if r % 2 == 0 else list(reversed(runners))
        for name in order:
            for image in images:
                samples[name].append(timed(lambda: runners[name].run(image)))
    result = {name: {"median_ms": median_ms(s), "p10_ms": round(1000 * float(np.percentile(s, 10)), 3),
                     "p90_ms": round(1000 * float(np.percentile(s, 90)), 3)} for name, s in samples.items()}
    base = result["torch/fp32"]["median_ms"]
    for name in result:
        result[name]["fraction_of_torch"] = round(result[name]["median_ms"] / base, 3)
        result[name]["speedup_vs_torch"] = round(base / result[name]["median_ms"], 2)
    return result


def accuracy(runners: dict, net, data: str, limit: int | None) -> dict:
    dataset = open_dataset(data, "val",
                           transform=eval_transform(net.spec.mean, net.spec.std, tuple(net.spec.input_size)))
    if limit:
        dataset.samples = dataset.samples[:limit]
    classes = net.spec.classes
    matrices = {name: ConfusionMatrix(classes.num_classes, classes.ignore_index) for name in runners}
    for i in range(len(dataset)):
        item = dataset[i]
        image = item["image"].unsqueeze(0).contiguous(memory_format=torch.channels_last)
        for name, runner in runners.items():
            matrices[name].update(runner.run(image).labels, item["mask"].unsqueeze(0))
    miou = {name: round(100 * m.mean_iou(), 3) for name, m in matrices.items()}
    return {"images": len(dataset), "final_miou": miou,
            "difference_to_torch_pp": {n: round(v - miou["torch/fp32"], 3) for n, v in miou.items()}}


def backend_and_precision(text: str) -> str:
    """--policy-on: 'openvino/bf16' and the like."""
    backend, _, precision = text.partition("/")
    if not backend or precision not in ("fp32", "bf16", "int8"):
        raise argparse.ArgumentTypeError(f"{text!r}: expected BACKEND/PRECISION, e.g. openvino/fp32")
    return text


def policy_costs(net, size, image: torch.Tensor, backend: str, precision: str, repeats: int) -> dict:
    pieces = get_backend(backend).pieces(net, size, BackendOptions(precision))
    segments, heads, output = pieces.timing_callables(image)
    result = {}
    for exit_id, head in heads.items():
        low = np.asarray(head())
        stride = net.exit_stride(exit_id)
        head_s = [timed(head) for _ in range(repeats)]
        policy = lambda: host.confident_fraction(low, size, stride, th_pix=TIMED_TH_PIX)  # noqa: E731
        policy_s = [timed(policy) for _ in range(repeats)]
        prefix = sum(statistics.median([timed(s) for _ in range(max(3, repeats // 3))])
                     for s in segments[: net.exit_segment(exit_id) + 1])
        exit_ms = 1000 * prefix + median_ms(head_s)
        result[exit_id] = {"head_ms": median_ms(head_s), "policy_ms": median_ms(policy_s),
                           "exit_latency_ms": round(exit_ms, 3),
                           "policy_fraction_of_exit": round(median_ms(policy_s) / exit_ms, 3)}
    result["labels_ms"] = median_ms([timed(output) for _ in range(repeats)])
    return {"backend": f"{backend}/{precision}", "exits": result}


def pipeline_costs(video: str, net, size, repeats: int) -> dict:
    capture = cv2.VideoCapture(video)
    decode, frames = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        ok, frame = capture.read()
        decode.append(time.perf_counter() - start)
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    capture.release()
    h, w = size
    resize = [timed(lambda: cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA)) for f in frames]
    small = [cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in frames]
    normalise = [timed(lambda: preprocess_frame(f, net.spec.mean, net.spec.std)) for f in small]
    labels = np.zeros((h, w), np.uint8)
    palette = net.spec.classes
    overlay = [timed(lambda: blend(f, colorize(labels, palette.palette), 0.5)) for f in small]
    return {"source_size": list(frames[0].shape[:2]) if frames else None,
            "decode_ms": median_ms(decode), "resize_ms": median_ms(resize), "normalise_ms": median_ms(normalise),
            "overlay_ms": median_ms(overlay)}


def live(video: str, model: str, frames: int, repeats: int, threads: int, work: Path) -> dict:
    env = {**os.environ, "MESS_CACHE_DIR": os.environ.get("MESS_CACHE_DIR", str(work / "cache"))}
    exports = {}
    for fmt, backend in (("openvino", "openvino"), ("onnx", "onnxruntime")):
        if backend in available_backends():
            out = work / f"export-{fmt}"
            subprocess.run([sys.executable, "-m", "core.cli", "export", "--model", model, "--format", fmt,
                            "--config", str(work / "full.json"), "--out", str(out), "--quiet"], cwd=ROOT, env=env,
                           check=True, stdout=subprocess.DEVNULL)
            exports[backend] = out
    commands = {}
    for backend in ("torch", "onnxruntime", "openvino"):
        if backend in available_backends():
            commands[f"mess run --backend {backend}"] = [sys.executable, "-m", "core.cli", "run", "--model", model,
                                                          "--source", video, "--max-frames", str(frames), "--backend",
                                                          backend, "--threads", str(threads), "--quiet"]
    if "openvino" in available_backends() and supports_bf16():   # the fastest precision, where the CPU has it
        commands["mess run --backend openvino --precision bf16"] = [
            *commands["mess run --backend openvino"], "--precision", "bf16"]
    for backend, out in exports.items():
        commands[f"run.py ({backend})"] = [sys.executable, str(out / "run.py"), "--source", video, "--max-frames",
                                           str(frames), "--threads", str(threads), "--quiet"]
    fps = {name: [] for name in commands}
    for r in range(repeats):
        order = list(commands) if r % 2 == 0 else list(reversed(commands))
        for name in order:
            stats = work / "stats.jsonl"
            subprocess.run([*commands[name], "--stats", str(stats)], cwd=ROOT, env=env, check=True,
                           stdout=subprocess.DEVNULL)
            summary = json.loads(stats.read_text().splitlines()[-1])["summary"]
            fps[name].append(summary["fps"])
    result = {name: {"fps_median": round(statistics.median(v), 2), "fps_runs": [round(x, 2) for x in v]}
              for name, v in fps.items()}
    base = result.get("mess run --backend torch", {}).get("fps_median")
    for name, record in result.items():
        if base:
            record["ratio_to_torch"] = round(record["fps_median"] / base, 2)
    for backend in exports:
        mess_fps = result[f"mess run --backend {backend}"]["fps_median"]
        result[f"run.py ({backend})"]["fraction_of_mess_run"] = round(
            result[f"run.py ({backend})"]["fps_median"] / mess_fps, 3)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "assets" / "models" / "default"))
    parser.add_argument("--data", default=str(SHARED / "camvid"))
    parser.add_argument("--video", default=str(SHARED / "videos" / "highway.mp4"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--images", type=int, default=8, help="images timed per backend and repetition")
    parser.add_argument("--accuracy-limit", type=int, help="val images for the accuracy check (default: all)")
    parser.add_argument("--live-frames", type=int, default=150)
    parser.add_argument("--live-repeats", type=int, default=3)
    parser.add_argument("--skip", default="",
                        help="comma-separated parts to skip: network,accuracy,policy,pipeline,live")
    parser.add_argument("--policy-on", metavar="BACKEND/PRECISION", type=backend_and_precision,
                        help="the backend whose exit latencies the policy is compared with (default: the fastest "
                             "of the network part; without it, openvino/fp32)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(1)
    work = Path(tempfile.mkdtemp(prefix="backends_"))
    os.environ.setdefault("MESS_CACHE_DIR", str(work / "cache"))
    net, info = load_model(args.model, inference=True)
    size = tuple(net.spec.input_size)
    report = {"benchmark": "backends", "model": args.model, "weights_sha256": info.weights_sha256,
              "device": describe_device(torch.device("cpu")), "machine": platform.machine(),
              "cpu_features": cpu_features(),
              "threads": args.threads, "input_size": list(size),
              "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY")}
    runners = variants(net, size)
    report["variants"] = list(runners)
    have_data = Path(args.data, "val").is_dir()
    if have_data:
        dataset = open_dataset(args.data, "val", transform=eval_transform(net.spec.mean, net.spec.std, size))
        images = [dataset[i]["image"].unsqueeze(0).contiguous(memory_format=torch.channels_last)
                  for i in range(0, len(dataset), max(1, len(dataset) // args.images))][: args.images]
    else:
        images = [torch.rand(1, 3, *size).contiguous(memory_format=torch.channels_last) for _ in range(args.images)]
    if "network" not in skip:
        print("network latency...", flush=True)
        report["network"] = network_latency(runners, images, args.repeats)
    if "accuracy" not in skip and have_data:
        print("accuracy...", flush=True)
        report["accuracy"] = accuracy(runners, net, args.data, limit=args.accuracy_limit)
    if "policy" not in skip:
        fastest = args.policy_on or min(report.get("network", {"openvino/fp32": {"median_ms": 0}}).items(),
                                        key=lambda kv: kv[1]["median_ms"])[0]
        print(f"policy cost on {fastest}...", flush=True)
        report["policy"] = policy_costs(net, size, images[0], *fastest.split("/"), repeats=20)
    if "pipeline" not in skip and Path(args.video).is_file():
        report["pipeline"] = pipeline_costs(args.video, net, size, repeats=60)
    if "live" not in skip and Path(args.video).is_file():
        print("live...", flush=True)
        ExitConfig.static(FINAL_EXIT).save(work / "full.json",
                                           extra=ConfigOrigin(args.model, info.weights_sha256).to_json())
        report["live"] = live(args.video, args.model, args.live_frames, repeats=args.live_repeats, threads=args.threads,
                              work=work)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

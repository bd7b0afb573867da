"""--precision int8 (``mess quantize``: ONNX Runtime static QDQ quantisation) against fp32, per backend, in one run.

The bundled model is calibrated for int8 on ``--calibration-images`` CamVid *train* images
(evenly spaced; the product's path, core.deploy.quantize.quantize_job), once per activation
scheme (``--schemes``), then, on the same image, the full network (segments, final head,
labels) and a half-network exit (segments up to that exit, its head, labels) are timed on
openvino and onnxruntime at fp32 and at int8 in each scheme, all interleaved in every
repetition (2 threads; medians). OpenVINO's per-layer profile of the full network at each
precision says where int8 saves time and where it spends it. Every exit's mIoU is then
measured on CamVid val at both precisions on each backend (the calibration images are not
val images). Writes JSON.

    python benchmarks/int8_qdq.py --out benchmarks/results/int8_qdq.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.threads import set_wait_policy  # noqa: E402

set_wait_policy()

import os  # noqa: E402

import torch  # noqa: E402

from core.data import eval_transform, open_dataset  # noqa: E402
from core.evaluation import exit_confusions  # noqa: E402
from core.jobs import run_job  # noqa: E402
from core.models import FINAL_EXIT, load_model  # noqa: E402
from core.runtime.backends import available_backends, make_pieces  # noqa: E402
from core.threads import configure_threads  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
HALF_EXIT = "features.10:dlb-c128-b1"   # about half the full network's latency (MODEL_CARD.md)


def run_exit(pieces, net, image, exit_id: str):
    state = pieces.start(image)
    state = pieces.advance(state, net.exit_segment(exit_id))
    handle, _ = pieces.head(state, exit_id)
    return pieces.labels(handle, exit_id, None)


def openvino_profile(segments_path: Path, head_path: Path, image, threads: int, repeats: int = 20) -> dict:
    """OpenVINO's per-layer time (PERF_COUNT) of the full network's two graphs, summed per layer type
    and kernel precision, in ms per frame: where int8 saves time and where it spends it."""
    import collections

    import openvino as ov

    core = ov.Core()
    options = {"PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1, "INFERENCE_NUM_THREADS": threads,
               "INFERENCE_PRECISION_HINT": "f32", "PERF_COUNT": True}
    totals: collections.Counter = collections.Counter()
    inputs = [image]
    for path in (segments_path, head_path):
        request = core.compile_model(str(path), "CPU", options).create_infer_request()
        for _ in range(5):
            request.infer(inputs)
        for _ in range(repeats):
            request.infer(inputs)
            for layer in request.profiling_info:
                if layer.status == layer.Status.EXECUTED:
                    kind = layer.exec_type.rsplit("_", 1)[-1]
                    totals[f"{layer.node_type} {kind}"] += layer.real_time.total_seconds() * 1000 / repeats
        inputs = [request.get_output_tensor(i).data.copy() for i in range(len(request.model_outputs))]
    return {"total_ms": round(sum(totals.values()), 2),
            "by_layer_type_ms": {k: round(v, 2) for k, v in totals.most_common() if v >= 0.05}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "assets" / "models" / "default"))
    parser.add_argument("--data", default=str(SHARED / "camvid"))
    parser.add_argument("--calibration-images", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--schemes", default="s8,u8", help="int8 schemes compared (core.deploy.quantize.SCHEMES)")
    parser.add_argument("--val-limit", type=int, default=0, help="score on the first N val images (0: all)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.environ.setdefault("MESS_CACHE_DIR", tempfile.mkdtemp(prefix="mess-int8-bench-"))
    configure_threads(args.threads)
    from core.deploy.graph_store import GraphStore
    from core.deploy.pieces import PieceKey
    from core.deploy.quantize import DEFAULT_SCHEME, int8_folder, quantize_job

    net, info = load_model(args.model, "cpu", inference=True)
    size = tuple(net.spec.input_size)
    backends = [b for b in ("openvino", "onnxruntime") if b in available_backends()]
    schemes = args.schemes.split(",")
    variants = {f"{b} fp32": make_pieces(net, size, b, precision="fp32", threads=args.threads) for b in backends}
    calibrations = {}
    store = GraphStore(net, size)
    full_keys = (PieceKey.segments(0, net.exit_segment(FINAL_EXIT)), PieceKey.head(FINAL_EXIT))
    probe = eval_transform(net.spec.mean, net.spec.std, size)
    first = open_dataset(args.data, "val", transform=probe)[0]["image"].unsqueeze(0).numpy()
    profiles = {}
    if "openvino" in backends:
        profiles["fp32"] = openvino_profile(*[store.onnx(k) for k in full_keys], image=first, threads=args.threads)
    for scheme in schemes:
        # One calibration is stored at a time: each scheme's pieces build every graph they will run
        # (prepare) before the next scheme replaces the stored calibration.
        start = time.perf_counter()
        record, _ = run_job(quantize_job(net, Path(args.data) / "train", input_size=size,
                                         count=args.calibration_images, scheme=scheme))
        calibrations[scheme] = {"fingerprint": record.fingerprint, "method": record.method,
                                "seconds": round(time.perf_counter() - start, 1)}
        for b in backends:
            pieces = make_pieces(net, size, b, precision="int8", threads=args.threads)
            for exits_needed in (net.exit_ids(), [HALF_EXIT], [FINAL_EXIT]):
                pieces.prepare(exits_needed)
            variants[f"{b} int8-{scheme}"] = pieces
        if "openvino" in backends:
            folder = int8_folder(store.folder) / record.tag
            profiles[f"int8-{scheme}"] = openvino_profile(*[folder / f"{k.name}.onnx" for k in full_keys],
                                                          image=first, threads=args.threads)
    val = open_dataset(args.data, "val", transform=eval_transform(net.spec.mean, net.spec.std, size))
    image = val[0]["image"].unsqueeze(0)
    exits = {"full": FINAL_EXIT, "half": HALF_EXIT}
    for pieces in variants.values():
        for exits_needed in (net.exit_ids(), [HALF_EXIT], [FINAL_EXIT]):
            pieces.prepare(exits_needed)
        for exit_id in exits.values():
            for _ in range(3):
                run_exit(pieces, net, image, exit_id=exit_id)
    samples = {(v, e): [] for v in variants for e in exits}
    order = list(variants)
    for r in range(args.repeats):
        for name in (order if r % 2 == 0 else order[::-1]):
            for what, exit_id in exits.items():
                begin = time.perf_counter()
                run_exit(variants[name], net, image, exit_id=exit_id)
                samples[(name, what)].append(1000 * (time.perf_counter() - begin))
    latency = {what: {name: round(statistics.median(samples[(name, what)]), 2) for name in variants}
               for what in exits}
    spread = {what: {name: [round(q, 2) for q in statistics.quantiles(samples[(name, what)], n=10)[::8]]
                     for name in variants} for what in exits}
    if args.val_limit:
        val.samples = val.samples[: args.val_limit]
    miou = {}
    with torch.no_grad():
        for name, pieces in variants.items():
            matrices = run_job(exit_confusions(net, val, torch.device("cpu"), pieces=pieces))
            miou[name] = {e: round(100 * cm.mean_iou(), 2) for e, cm in matrices.items()}
    report = {
        "benchmark": "int8_qdq", "model": args.model, "weights_sha256": info.weights_sha256,
        "machine": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
        "threads": args.threads, "input_size": list(size), "repeats": args.repeats,
        "default_scheme": DEFAULT_SCHEME, "calibration_images": args.calibration_images,
        "calibration_source": "CamVid train, evenly spaced", "calibrations": calibrations,
        "latency_ms_median": latency, "latency_ms_p10_p90": spread,
        "int8_speedup": {what: {f"{b} {s}": round(latency[what][f"{b} fp32"] / latency[what][f"{b} int8-{s}"], 3)
                                for b in backends for s in schemes} for what in exits},
        "openvino_layer_profile_full_network": profiles,
        "half_exit": HALF_EXIT, "val_images": len(val), "val_miou": miou,
        "int8_miou_change_pp": {f"{b} {s}": {e: round(miou[f"{b} int8-{s}"][e] - miou[f"{b} fp32"][e], 2)
                                             for e in net.exit_ids()} for b in backends for s in schemes},
        "worst_exit_change_pp": {f"{b} {s}": round(min(miou[f"{b} int8-{s}"][e] - miou[f"{b} fp32"][e]
                                                       for e in net.exit_ids()), 2) for b in backends for s in schemes},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: report[k] for k in ("latency_ms_median", "int8_speedup", "worst_exit_change_pp")}, indent=2))
    for name, profile in profiles.items():
        print(name, profile["total_ms"], list(profile["by_layer_type_ms"].items())[:6])


if __name__ == "__main__":
    main()

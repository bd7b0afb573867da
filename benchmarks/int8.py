"""int8 post-training quantisation (OpenVINO NNCF) of the full network, against fp32 and bf16, in one run.

The full network's two pieces (segments 0..last and the final head, as the openvino
backend runs them) are quantised with NNCF on CamVid train images (their inputs at
each piece computed by the fp32 graphs), then timed interleaved with the fp32 and
bf16 compilations of the same graphs (2 threads) and scored on CamVid val (final
exit mIoU). Writes JSON.

    python benchmarks/int8.py --out benchmarks/results/int8.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.threads import set_wait_policy  # noqa: E402

set_wait_policy()

import numpy as np  # noqa: E402
import torch  # noqa: E402

from core.data import eval_transform, open_dataset  # noqa: E402
from core.data.metrics import ConfusionMatrix  # noqa: E402
from core.deploy.graph_store import GraphStore  # noqa: E402
from core.deploy.pieces import PieceKey  # noqa: E402
from core.models import FINAL_EXIT, load_model  # noqa: E402
from core.runtime import host  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "assets" / "models" / "default"))
    parser.add_argument("--data", default=str(SHARED / "camvid"))
    parser.add_argument("--calibration-images", type=int, default=60)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    import nncf
    import openvino as ov

    torch.set_num_threads(args.threads)
    net, info = load_model(args.model, inference=True)
    size = tuple(net.spec.input_size)
    transform = eval_transform(net.spec.mean, net.spec.std, size)
    train = open_dataset(args.data, "train", transform=transform)
    val = open_dataset(args.data, "val", transform=transform)
    step = max(1, len(train) // args.calibration_images)
    calibration = [train[i]["image"].unsqueeze(0).numpy()
                   for i in range(0, len(train), step)][: args.calibration_images]
    store = GraphStore(net, size)
    last = len(net.segments) - 1
    segments_path, head_path = store.onnx(PieceKey.segments(0, last)), store.onnx(PieceKey.head(FINAL_EXIT))
    core = ov.Core()
    options = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": args.threads, "NUM_STREAMS": 1}
    models = {"segments": core.read_model(str(segments_path)), "head": core.read_model(str(head_path))}
    fp32 = {k: core.compile_model(m, "CPU", {**options, "INFERENCE_PRECISION_HINT": "f32"}) for k, m in models.items()}
    head_inputs = []
    for x in calibration:
        out = fp32["segments"]([x])
        head_inputs.append([out[0], out[1]] if len(out) > 1 else [out[0]])
    start = time.perf_counter()
    quantised = {
        "segments": nncf.quantize(models["segments"], nncf.Dataset(calibration), subset_size=len(calibration),
                                  preset=nncf.QuantizationPreset.MIXED),
        "head": nncf.quantize(models["head"], nncf.Dataset(head_inputs), subset_size=len(head_inputs),
                              preset=nncf.QuantizationPreset.MIXED),
    }
    quantise_s = time.perf_counter() - start
    variants = {
        "fp32": fp32,
        "bf16": {k: core.compile_model(m, "CPU", {**options, "INFERENCE_PRECISION_HINT": "bf16"})
                 for k, m in models.items()},
        "int8": {k: core.compile_model(m, "CPU", options) for k, m in quantised.items()},
    }

    def run(variant: dict, x: np.ndarray) -> np.ndarray:
        out = variant["segments"]([x])
        low = variant["head"]([out[0], *[out[i] for i in range(1, len(out))]])[0]
        return host.class_labels(np.ascontiguousarray(low), size)

    x = calibration[0]
    samples = {name: [] for name in variants}
    for name in variants:
        run(variants[name], x)
    for r in range(args.repeats):
        for name in (variants if r % 2 == 0 else list(reversed(list(variants)))):
            begin = time.perf_counter()
            run(variants[name], x)
            samples[name].append(time.perf_counter() - begin)
    classes = net.spec.classes
    matrices = {name: ConfusionMatrix(classes.num_classes, classes.ignore_index) for name in variants}
    for i in range(len(val)):
        item = val[i]
        image = item["image"].unsqueeze(0).numpy()
        for name, variant in variants.items():
            matrices[name].update(run(variant, image), item["mask"].unsqueeze(0).numpy())
    latency = {name: round(1000 * statistics.median(s), 3) for name, s in samples.items()}
    miou = {name: round(100 * m.mean_iou(), 3) for name, m in matrices.items()}
    report = {
        "benchmark": "int8", "model": args.model, "weights_sha256": info.weights_sha256, "threads": args.threads,
        "input_size": list(size), "calibration_images": len(calibration), "quantise_seconds": round(quantise_s, 1),
        "nncf": nncf.__version__, "openvino": ov.__version__,
        "full_network_latency_ms": latency,
        "int8_speedup_vs_fp32": round(latency["fp32"] / latency["int8"], 3),
        "bf16_speedup_vs_fp32": round(latency["fp32"] / latency["bf16"], 3),
        "val_final_miou": miou, "val_images": len(val),
        "int8_miou_change_pp": round(miou["int8"] - miou["fp32"], 3),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""The exit policy's parts, timed one by one: where its cost per exit goes at each output stride.

The policy (core.runtime.host.confidence_histograms, method section 4) upsamples an exit's logits to
the policy resolution (a quarter of 480x360: 90x120), takes each pixel's top-1 softmax confidence and
label, quantises the confidence to 8 bits, replaces it on the dilated label edges by the median of a
window of about 2 x the stride (at /16: 9x9), and counts a histogram (what the search stores). The
runtime reads one threshold only (core.runtime.host.confident_fraction): on the edges it counts the
window's pixels that reach it (a box filter) instead of taking the median. This times each step, the
search's whole and the runtime's whole, on smooth random logits of 11 classes at strides 4, 8 and
16 (the bundled model's exits), in one process, OpenCV on 1 thread (as core.threads sets it for 2
threads), the steps interleaved, medians of ``--repeats``.
Writes JSON.

    python benchmarks/policy_parts.py --out benchmarks/results/policy_parts.json

Do not run it beside other work.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.cpu_features import cpu_features  # noqa: E402
from core.runtime import host  # noqa: E402

INPUT = (360, 480)
CLASSES = 11
STRIDES = (4, 8, 16)


def medians_ms(steps: dict, repeats: int) -> dict:
    """Each step's median time, the steps interleaved round by round (so that a drift of the machine
    touches all alike)."""
    for step in steps.values():
        for _ in range(20):
            step()
    times: dict = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    return {name: round(float(np.median(t)) * 1000.0, 4) for name, t in times.items()}


def smooth_logits(stride: int, rng: np.random.Generator) -> np.ndarray:
    """Logits with regions, as a trained head gives: blurred noise, scaled so labels form blobs."""
    h, w = -(-INPUT[0] // stride), -(-INPUT[1] // stride)
    planes = [cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), max(1.0, 12.0 / stride)) * 30
              for _ in range(CLASSES)]
    return np.stack(planes)[None].astype(np.float32)


def quantised_in_place(confidence: np.ndarray) -> np.ndarray:
    """The 8-bit confidence as core.runtime.host makes it (one OpenCV call: 255 c rounded half to even)."""
    return cv2.convertScaleAbs(confidence.reshape(-1, confidence.shape[-1]), alpha=255.0).reshape(confidence.shape)


def parts(stride: int, repeats: int, rng: np.random.Generator) -> dict:
    logits = smooth_logits(stride, rng)
    size = host.policy_size(INPUT, 0.25)
    up = host.resize_bilinear(logits, size)
    confidence, labels = host.pixel_confidence(up)
    conf_u8 = np.clip(np.rint(confidence * 255), 0, 255).astype(np.uint8)
    window = host.median_window(stride, 0.25)
    edges = host.label_edges(labels[0]).astype(np.uint8)
    dilated = cv2.dilate(edges, np.ones((5, 5), np.uint8))
    steps = {
        "total_ms": lambda: host.confidence_histograms(logits, INPUT, stride),
        "runtime_total_ms": lambda: host.confident_fraction(logits, INPUT, stride, th_pix=0.9),
        "upsample_ms": lambda: host.resize_bilinear(logits, size),
        "softmax_confidence_and_labels_ms": lambda: host.pixel_confidence(up),
        "quantise_ms": lambda: quantised_in_place(confidence.copy()),
        "label_edges_ms": lambda: host.label_edges(labels[0]),
        "dilate_ms": lambda: cv2.dilate(edges, np.ones((5, 5), np.uint8)),
        "median_blur_ms": lambda: cv2.medianBlur(conf_u8[0], window),
        "smooth_edges_ms": lambda: host.smooth_edges(conf_u8[0], labels[0], window=window, dilation=2),
        "histogram_ms": lambda: np.bincount(conf_u8.ravel(), minlength=256),
        "reached_edge_smoothed_ms": lambda: host.reached_edge_smoothed(conf_u8[0] >= 230, labels[0], window=window,
                                                                       dilation=2),
    }
    return {"logits_shape": list(logits.shape), "policy_size": list(size), "median_window": window,
            "edge_fraction": round(float(dilated.mean()), 3), **medians_ms(steps, repeats)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--repeats", type=int, default=500)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    rng = np.random.default_rng(0)
    result = {"benchmark": "policy_parts", "input_size": list(INPUT), "classes": CLASSES, "policy_scale": 0.25,
              "repeats": args.repeats, "opencv_threads": 1,
              "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(), "cpu_features": cpu_features(),
                          "load_average_before": list(os.getloadavg())},
              "strides": {str(s): parts(s, args.repeats, rng) for s in STRIDES}}
    result["machine"]["load_average_after"] = list(os.getloadavg())
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    for stride, record in result["strides"].items():
        print(f"/{stride}: total {record['total_ms']:.3f} ms (runtime {record['runtime_total_ms']:.3f}); "
              f"upsample {record['upsample_ms']:.3f}, softmax "
              f"{record['softmax_confidence_and_labels_ms']:.3f}, median {record['median_blur_ms']:.3f} "
              f"(window {record['median_window']}), smooth {record['smooth_edges_ms']:.3f} "
              f"(box count {record['reached_edge_smoothed_ms']:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

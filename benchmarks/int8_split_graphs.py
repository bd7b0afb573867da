"""int8: how far the search's prediction can be from the runtime, because they run different graphs.

The search's calibration cache (``mess search --precision int8``) runs the backbone as one int8
graph per run of segments between *candidate* exits (so that it sees every exit); the runtime
runs one graph per run between the *kept* exits of a configuration (fewer graphs, faster). At
fp32 the two agree to float rounding; at int8 each graph boundary is an extra point where the
quantised network differs. This measures, for every exit, on CamVid val images, the largest
difference of the logits, the labels' agreement and the largest difference of the image
confidence (the policy at ``--th-pix``) between the two, and, interleaved in one run, the full
network's latency both ways on each graph backend. The model's int8 calibration must exist
(``mess quantize``). Writes JSON.

    python benchmarks/int8_split_graphs.py --out benchmarks/results/int8_split_graphs.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.threads import set_wait_policy  # noqa: E402

set_wait_policy()

import numpy as np  # noqa: E402

from benchmarks.cpu_features import cpu_features  # noqa: E402
from core.data import eval_transform, open_dataset  # noqa: E402
from core.models import FINAL_EXIT, load_model  # noqa: E402
from core.runtime import host  # noqa: E402
from core.runtime.backends import available_backends, make_pieces  # noqa: E402
from core.threads import configure_threads  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


def exit_logits(pieces, net, image, *, exit_id: str, stops: list[int]) -> np.ndarray:
    """``exit_id``'s logits with the backbone run as one graph per run of segments ending at ``stops``."""
    state = pieces.start(image)
    for stop in stops:
        state = pieces.advance(state, stop)
    return np.asarray(pieces.head(state, exit_id)[1])


def compare(pieces, net, images, *, th_pix: float) -> dict:
    """Per exit: the search's split graphs against the runtime's one graph from the input to the exit
    (a configuration whose first kept exit it is; deeper kept exits differ likewise)."""
    candidates = sorted({net.exit_segment(e) for e in net.exit_ids()})
    size = tuple(images[0].shape[-2:])
    out = {}
    for exit_id in net.exit_ids():
        segment = net.exit_segment(exit_id)
        split = [s for s in candidates if s <= segment]
        stride = net.exit_stride(exit_id)
        worst_logit, agree, worst_conf = 0.0, [], 0.0
        for image in images:
            a = exit_logits(pieces, net, image, exit_id=exit_id, stops=split)
            b = exit_logits(pieces, net, image, exit_id=exit_id, stops=[segment])
            worst_logit = max(worst_logit, float(np.abs(a - b).max() / max(float(np.abs(a).max()), 1e-6)))
            agree.append(float((host.class_labels(a, size) == host.class_labels(b, size)).mean()))
            ca = host.confident_fraction(a, size, stride, th_pix=th_pix)[0]
            cb = host.confident_fraction(b, size, stride, th_pix=th_pix)[0]
            worst_conf = max(worst_conf, abs(float(ca - cb)))
        out[exit_id] = {"graphs_split": len(split), "max_logit_difference_relative": round(worst_logit, 5),
                        "min_label_agreement": round(min(agree), 5),
                        "mean_label_agreement": round(statistics.fmean(agree), 5),
                        "max_image_confidence_difference": round(worst_conf, 5)}
    return out


def timing(pieces, net, image, *, repeats: int) -> dict:
    """The full network split as the search runs it and fused as the runtime does, interleaved (ms)."""
    candidates = sorted({net.exit_segment(e) for e in net.exit_ids()})
    last = net.exit_segment(FINAL_EXIT)
    ways = {"split": candidates, "fused": [last]}
    for stops in ways.values():
        exit_logits(pieces, net, image, exit_id=FINAL_EXIT, stops=stops)
    times: dict[str, list[float]] = {k: [] for k in ways}
    for _ in range(repeats):
        for name, stops in ways.items():
            started = time.perf_counter()
            exit_logits(pieces, net, image, exit_id=FINAL_EXIT, stops=stops)
            times[name].append(1000 * (time.perf_counter() - started))
    return {name: round(statistics.median(v), 2) for name, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "assets" / "models" / "default"))
    parser.add_argument("--data", default=str(SHARED / "camvid"))
    parser.add_argument("--images", type=int, default=10, help="val images compared, evenly spaced")
    parser.add_argument("--th-pix", type=float, default=0.9)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    configure_threads(args.threads)
    net, info = load_model(args.model, "cpu", inference=True)
    size = tuple(net.spec.input_size or (360, 480))
    data = open_dataset(args.data, "val", transform=eval_transform(net.spec.mean, net.spec.std, size=size))
    picks = np.linspace(0, len(data) - 1, args.images).round().astype(int)
    images = [data[int(i)]["image"].unsqueeze(0).numpy() for i in picks]
    results = {}
    for backend in [b for b in ("openvino", "onnxruntime") if b in available_backends()]:
        pieces = make_pieces(net, size, backend, precision="int8", threads=args.threads)
        results[backend] = {"precision_id": pieces.precision_id,
                            "full_network_ms": timing(pieces, net, images[0], repeats=args.repeats),
                            "exits": compare(pieces, net, images, th_pix=args.th_pix)}
        worst = results[backend]["exits"]
        print(backend, results[backend]["full_network_ms"],
              "worst confidence difference", max(e["max_image_confidence_difference"] for e in worst.values()),
              "lowest label agreement", min(e["min_label_agreement"] for e in worst.values()), flush=True)
    out = {"benchmark": "int8_split_graphs", "model": args.model, "weights_sha256": info.weights_sha256,
           "machine": {"platform": platform.platform(), "cpu_features": cpu_features()},
           "threads": args.threads, "input_size": list(size), "images": [str(data[int(i)]["path"]) for i in picks],
           "th_pix": args.th_pix, "backends": results}
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()

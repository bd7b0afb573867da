"""Stage-2 training throughput: all heads at once from one backbone pass, against one head at a time.

Both ways train the same heads (a preset at every candidate point) on the same
batches with the same loss (positive-filtering distillation from the frozen
final exit), on the same machine, in one run. "One at a time" is what
training each head separately costs: a backbone pass per head per batch.
Writes JSON with images/s of each and their ratio.

    python benchmarks/stage2_throughput.py --out benchmarks/results/stage2_throughput.json
    python benchmarks/stage2_throughput.py --data ../shared/data/camvid --model runs/x/stage1-model
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

from core.data import CLASS_SETS, open_dataset, train_transform  # noqa: E402
from core.models import HEAD_PRESETS, ExitHeadSpec, convert_backbone, load_model  # noqa: E402
from core.models.spec import FINAL_EXIT  # noqa: E402
from core.profile.costs import describe_device  # noqa: E402
from core.train.losses import positive_filtering_loss  # noqa: E402


def batches(args, net, count: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    size = tuple(int(v) for v in args.crop.split("x"))
    if args.data:
        transform = train_transform(size, net.spec.mean, net.spec.std, ignore_index=net.spec.classes.ignore_index)
        dataset = open_dataset(args.data, "train", transform=transform)
        items = [dataset[i] for i in range(count * args.batch_size)]
        return [(torch.stack([it["image"] for it in items[i:i + args.batch_size]]),
                 torch.stack([it["mask"] for it in items[i:i + args.batch_size]]))
                for i in range(0, len(items), args.batch_size)]
    generator = torch.Generator().manual_seed(0)
    return [(torch.randn(args.batch_size, 3, *size, generator=generator),
             torch.randint(0, net.spec.num_classes, (args.batch_size, *size), generator=generator))
            for _ in range(count)]


def train_steps(net, heads: list[str], data, ignore: int, per_head: bool) -> float:
    """Seconds for one pass over ``data`` training ``heads`` jointly or one by one."""
    optimizer = torch.optim.SGD([p for e in heads for p in net.head_module(e).parameters()], lr=0.01, momentum=0.9)
    start = time.perf_counter()
    for image, mask in data:
        groups = [[e] for e in heads] if per_head else [heads]
        for group in groups:
            out = net(image, exits=[*group, FINAL_EXIT])
            teacher = out[FINAL_EXIT].detach()
            loss = sum(positive_filtering_loss(out[e], teacher, mask, ignore_index=ignore) for e in group)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="lraspp_mobilenet_v3_large")
    parser.add_argument("--model", help="a model folder (its backbone; its early heads are replaced)")
    parser.add_argument("--data", help="a CamVid-style dataset (default: random images and labels)")
    parser.add_argument("--heads", default="wide", help="head preset trained at every point (default wide)")
    parser.add_argument("--crop", default="180x240")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results/stage2_throughput.json")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    if args.model:
        net, _ = load_model(args.model)
        net.remove_heads(net.spec.exit_ids())
    else:
        net = convert_backbone(args.backbone, CLASS_SETS.get("camvid"))
    net.add_heads(ExitHeadSpec(p, h) for p in net.exit_points for h in HEAD_PRESETS.get(args.heads))
    for param in list(net.segments.parameters()) + list(net.final_head.parameters()):
        param.requires_grad_(False)
    net.train()
    net.segments.eval()
    net.final_head.eval()
    heads = net.exit_ids()[:-1]
    data = batches(args, net, args.batches)
    images = args.batches * args.batch_size
    ignore = net.spec.classes.ignore_index
    train_steps(net, heads, data[:1], ignore=ignore, per_head=False)  # warm-up
    joint, separate = [], []
    for _ in range(args.repeats):  # interleaved, so machine noise hits both alike
        joint.append(images / train_steps(net, heads, data, ignore=ignore, per_head=False))
        separate.append(images / train_steps(net, heads, data, ignore=ignore, per_head=True))
    report = {
        "benchmark": "stage2_throughput",
        "backbone": net.spec.backbone,
        "heads": len(heads),
        "head_preset": args.heads,
        "crop": args.crop,
        "batch_size": args.batch_size,
        "data": args.data or "random",
        "threads": args.threads,
        "device_description": describe_device(torch.device("cpu")),
        "all_heads_at_once_images_per_s": statistics.median(joint),
        "one_head_at_a_time_images_per_s": statistics.median(separate),
        "speedup": statistics.median(joint) / statistics.median(separate),
        "samples": {"all_at_once": joint, "one_at_a_time": separate},
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"{len(heads)} heads, {args.crop} crops, batch {args.batch_size}: all at once "
          f"{report['all_heads_at_once_images_per_s']:.2f} img/s, one at a time "
          f"{report['one_head_at_a_time_images_per_s']:.2f} img/s, x{report['speedup']:.1f}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

"""mess convert: build a registered backbone as a MESS network and save it as a model folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.cli.commands import COMMANDS, Command
from core.cli.common import parse_size
from core.data.classes import CLASS_SETS, load_class_set
from core.errors import ConfigError
from core.models import BACKBONES, HEAD_PRESETS, HeadConfig, convert_backbone, save_model
from core.profile.costs import cascade_cost, measure_costs


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backbone", help=f"registered backbone ({', '.join(BACKBONES.names())})")
    parser.add_argument("--out", help="model folder to create")
    parser.add_argument("--classes", default="camvid",
                        help=f"class set: {', '.join(CLASS_SETS.names())}, or a classes.json file (default camvid)")
    parser.add_argument("--weights",
                        help="local safetensors file with torchvision-named weights (nothing is downloaded)")
    parser.add_argument("--heads", default="light",
                        help=f"head preset ({', '.join(HEAD_PRESETS.names())}) or comma-separated heads such as "
                             "fcn-c128-b2-rdi,dlb-c64-b1 (default light)")
    parser.add_argument("--points", help="comma-separated candidate points to attach heads at (default: all)")
    parser.add_argument("--output-stride", type=int,
                        help="backbone output stride (allowed values depend on the backbone)")
    parser.add_argument("--final-head", help="final head for plain backbones: deeplabv3, fcn or lraspp")
    parser.add_argument("--input", type=parse_size, help="the input size HxW the model is meant for (e.g. 360x480)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random initialisation (default 0)")
    parser.add_argument("--force", action="store_true", help="replace a model folder that exists")
    parser.add_argument("--list", action="store_true",
                        help="list backbones, their exit points and head presets, then exit")


def _heads(text: str) -> list[HeadConfig]:
    if text in HEAD_PRESETS:
        return list(HEAD_PRESETS.get(text))
    return [HeadConfig.parse(part.strip()) for part in text.split(",") if part.strip()]


def _print_registry() -> None:
    from core.data.classes import CLASS_SETS as classes
    from core.models import ModelSpec, MultiExitNet

    print("backbones:")
    for name in BACKBONES:
        adapter = BACKBONES.get(name)
        net = MultiExitNet(ModelSpec(name, classes.get("camvid")))
        points = ", ".join(f"{p.name} ({p.channels}ch, /{p.stride})" for p in net.exit_points.values())
        print(f"  {name:30s} {adapter.description}\n  {'':30s} exit points: {points}")
    print("head presets:")
    for name in HEAD_PRESETS:
        print(f"  {name:10s} {', '.join(h.key() for h in HEAD_PRESETS.get(name))}")


def run(args: argparse.Namespace) -> int:
    if args.list:
        _print_registry()
        return 0
    if not args.backbone or not args.out:
        raise ConfigError("mess convert needs --backbone NAME and --out DIR (or --list)")
    out = Path(args.out)
    if out.exists() and any(out.iterdir()) and not args.force:
        raise ConfigError(f"{out}: folder exists and is not empty (use --force to replace the model in it)")
    classes = CLASS_SETS.get(args.classes) if args.classes in CLASS_SETS else load_class_set(args.classes)
    options = {k: v for k, v in (("output_stride", args.output_stride), ("final_head", args.final_head))
               if v is not None}
    points = [p.strip() for p in args.points.split(",")] if args.points else None
    net = convert_backbone(args.backbone, classes, _heads(args.heads), points=points, options=options,
                           weights=args.weights, input_size=args.input, seed=args.seed)
    size = args.input or (360, 480)
    costs = measure_costs(net, size, latency=False)
    save_model(net, out, provenance={"created_by": "mess convert", "backbone": args.backbone,
                                     "weights": str(args.weights) if args.weights else "random initialisation",
                                     "seed": args.seed, "trained": False})
    print(f"saved {out}: {args.backbone}, {len(net.exit_ids()) - 1} early exits + final, {classes.num_classes} classes")
    for exit_id in net.exit_ids():
        gflops = cascade_cost(net, costs, [exit_id], taken=0, key="gflops")
        print(f"  {exit_id:34s} /{net.exit_stride(exit_id):<3d} {gflops:7.2f} GFLOPs at {size[0]}x{size[1]}")
    return 0


COMMANDS.add("convert", Command("convert", "build a registered backbone as a MESS network (a model folder)",
                                configure, run=run))

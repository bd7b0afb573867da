"""mess inspect: one frame through every exit, saved as a grid picture and per-exit JSON; or, with
--data, every exit over a labelled split: a per-class IoU heat map, agreement with the final exit and
the images where the early exits fail most."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.cli.commands import COMMANDS, Command
from core.cli.common import (add_backend_arguments, backend_pieces, note, parse_size, positive_int,
                             precision_of_config, resolve_model, write_json)
from core.device import DEVICE_CHOICES, select_device
from core.errors import ConfigError
from core.models import load_model
from core.inspect.dataset import DEFAULT_WORST
from core.runtime.config_file import ConfigFile

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def configure(parser: argparse.ArgumentParser) -> None:
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--image", help="image file, or a video file with --frame N")
    what.add_argument("--data", help="a labelled dataset folder (CamVid layout and the others mess eval reads): "
                                     "every exit over --split, drawn as a per-class IoU heat map")
    parser.add_argument("--split", default="val", help="with --data: the split (default val; train+val joins)")
    parser.add_argument("--sequences", type=_names, default=(), metavar="A,B",
                        help="with --data: only the frames of these sequences (CamVid: the file-name prefix)")
    parser.add_argument("--limit", type=positive_int, help="with --data: the first N images only")
    parser.add_argument("--worst", type=positive_int, default=DEFAULT_WORST, metavar="K",
                        help=f"with --data: list the K images where the early exits fail most "
                             f"(default {DEFAULT_WORST})")
    parser.add_argument("--frame", type=int, help="with a video: the frame to inspect, from 0 (default 0)")
    parser.add_argument("--label", help="label image of class indices (train ids) for the image: error maps and mIoU")
    parser.add_argument("--config", help="exit configuration JSON: its thresholds decide where the frame leaves "
                                         "(default: the full network alone)")
    parser.add_argument("--out", required=True, help="grid (or, with --data, heat map) picture to write "
                                                     "(.png or .jpg)")
    parser.add_argument("--json", help="write the per-exit figures to this JSON file")
    parser.add_argument("--model", help="model folder (default: the bundled model)")
    parser.add_argument("--input", type=parse_size, help="resize the frame to HxW (default: the model's input size)")
    parser.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    add_backend_arguments(parser)


def print_summary(inspection) -> None:
    print(f"the frame leaves at {inspection.leaves_at} (configuration: {', '.join(inspection.config.exits)})")
    print(f"  {'exit':34s} {'image conf':>10s} {'th_img':>6s} {'mIoU %':>7s} {'agree %':>7s}")
    for view in inspection.exits:
        th_img = f"{view.th_img:6.2f}" if view.th_img is not None else f"{'-':>6s}"
        miou = f"{view.miou:7.2f}" if view.miou is not None else f"{'-':>7s}"
        mark = "  <- leaves" if view.leaves else ""
        print(f"  {view.exit_id:34s} {view.image_confidence:10.2f} {th_img} {miou} {view.agreement:7.1f}{mark}")


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


def print_dataset_summary(inspection, worst: int) -> None:
    print(f"{len(inspection.images)} images, every exit")
    print(f"  {'exit':34s} {'mIoU %':>7s} {'agree %':>7s}")
    for exit_id in inspection.exits:
        print(f"  {exit_id:34s} {inspection.miou[exit_id]:7.2f} {inspection.agreement[exit_id]:7.1f}")
    print("  where the early exits fail most (mean mIoU drop against the final exit):")
    for record in inspection.worst(worst):
        print(f"    {record.drop:6.1f} pp  {record.image}  (worst: {record.worst_exit})")


def run_dataset(args: argparse.Namespace, out: Path) -> int:
    from core.cli.progress import ProgressBar
    from core.fileio import write_bytes_atomic
    from core.inspect.dataset import dataset_inspection, open_inspection_set
    from core.inspect.grid import encode_picture
    from core.inspect.heatmap import render_heatmap
    from core.jobs import run_job

    if args.label or args.config or args.frame is not None:
        raise ConfigError("--label, --config and --frame are for one --image, not --data")
    model_dir = resolve_model(args.model)
    device = select_device(args.device)
    net, _ = load_model(model_dir, device, inference=True)
    dataset = open_inspection_set(net, args.data, args.split, sequences=args.sequences, limit=args.limit,
                                  size=args.input)
    first = dataset[0]["image"]
    pieces = backend_pieces(net, (int(first.shape[-2]), int(first.shape[-1])), args)
    inspection = run_job(dataset_inspection(net, dataset, pieces), ProgressBar())
    picture = encode_picture(render_heatmap(inspection), out.suffix)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(out, picture)
    if args.json:
        write_json(args.json, {**inspection.to_json(args.worst), "model": str(model_dir), "data": str(args.data),
                               "split": args.split, "sequences": list(args.sequences), "heatmap": str(out),
                               "backend": pieces.backend if pieces else "torch"})
    print_dataset_summary(inspection, args.worst)
    print(f"heat map -> {out}")
    return 0


def run(args: argparse.Namespace) -> int:
    from core.fileio import write_bytes_atomic
    from core.inspect import at_input_size, inspect_frame, read_frame, read_label, render_grid
    from core.inspect.grid import encode_picture

    out = Path(args.out)
    if out.suffix.lower() not in IMAGE_SUFFIXES:
        raise ConfigError(f"--out {out}: the grid is a picture, name it .png or .jpg")
    if args.data:
        return run_dataset(args, out)
    model_dir = resolve_model(args.model)
    config_file = ConfigFile.load(args.config) if args.config else None
    device = select_device(args.device)
    net, info = load_model(model_dir, device, inference=True)
    config = config_file.checked(info.weights_sha256, net.exit_ids(), note) if config_file is not None else None
    precision_of_config(args, config_file)
    spec = net.spec
    image = read_frame(args.image, args.frame)
    label = read_label(args.label, image, args.image, classes=spec.classes) if args.label else None
    size = args.input or (tuple(spec.input_size) if spec.input_size else None)
    image, label, tensor = at_input_size(image, label, size, mean=spec.mean, std=spec.std)
    pieces = backend_pieces(net, (int(tensor.shape[-2]), int(tensor.shape[-1])), args)
    inspection = inspect_frame(net, image, tensor.to(device), config=config, label=label, pieces=pieces)
    grid = render_grid(inspection, spec.classes)
    encoded = encode_picture(grid, out.suffix)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(out, encoded)
    report = {**inspection.to_json(), "model": str(model_dir), "image": str(args.image), "frame": args.frame,
              "label": args.label, "grid": str(out), "backend": pieces.backend if pieces else "torch"}
    if args.json:
        write_json(args.json, report)
    print_summary(inspection)
    print(f"grid {grid.shape[0]}x{grid.shape[1]} (HxW) -> {out}")
    return 0


COMMANDS.add("inspect", Command("inspect", "one frame through every exit: labels, confidence maps, where it leaves",
                                configure, run=run))

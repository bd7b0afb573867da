"""mess profile: a latency table (per segment and head) measured on the device at hand."""

from __future__ import annotations

import argparse

from core.cli.commands import COMMANDS, Command
from core.cli.common import add_backend_arguments, backend_pieces, parse_size, resolve_model, warn_about_table
from core.device import DEVICE_CHOICES, select_device
from core.models import load_model
from core.profile.costs import measure_costs
from core.profile.miss_cost import profile_lines


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="model folder (default: the bundled model)")
    parser.add_argument("--out", required=True, help="latency table JSON to write")
    parser.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    parser.add_argument("--input", type=parse_size, help="input size HxW (default: the model's, else 360x480)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed runs first (default 5)")
    parser.add_argument("--repeats", type=int, default=20, help="timed runs; the median is kept (default 20)")
    add_backend_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from core.cli.common import write_json

    model_dir = resolve_model(args.model)
    device = select_device(args.device)
    net, info = load_model(model_dir, device, inference=True)
    size = args.input or net.spec.input_size or (360, 480)
    pieces = backend_pieces(net, size, args)
    table = measure_costs(net, size, device, warmup=args.warmup, repeats=args.repeats, pieces=pieces)
    table.weights_sha256 = info.weights_sha256
    write_json(args.out, table.to_json())
    warn_about_table(table, args.out)
    total, p10, p90 = table.full_network_spread()
    print(f"{model_dir} on {table.device_description}, {size[0]}x{size[1]}, backend {table.backend} "
          f"{table.precision}: full network {total:.1f} ms (p10 {p10:.1f}, p90 {p90:.1f}) "
          f"(sum of medians), {len(table.segments)} segments and {len(table.heads)} heads -> {args.out}")
    for line in profile_lines(table):
        print(f"  {line}")
    return 0


COMMANDS.add("profile", Command("profile", "measure a latency table for a model on this device", configure, run=run))

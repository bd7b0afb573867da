"""mess train: two-stage MESS training as a resumable job (DDP under torchrun)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from core.cli.commands import COMMANDS, Command
from core.cli.common import parse_size, positive_int
from core.cli.progress import ProgressBar
from core.jobs import CancelToken, run_job
from core.errors import ConfigError
from core.train.config import SettingType, TrainConfig, default_of, flag_of, setting_types
from core.train.config import options as config_options
from core.train.recipe import RECIPE_JSON, Recipe, run_recipe
from core.train.trainer import Trainer


def parse_range(text: str) -> tuple[float, float]:
    """'MIN,MAX' -> (MIN, MAX), e.g. 0.5,2."""
    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a range MIN,MAX such as 0.5,2") from None
    if low > high:
        raise argparse.ArgumentTypeError(f"range '{text}': MIN is above MAX")
    return low, high


def _text(value) -> str:
    """A default as the command line writes it (sizes HxW, ranges MIN,MAX)."""
    if isinstance(value, tuple):
        return ("{}x{}" if all(isinstance(v, int) for v in value) else "{:g},{:g}").format(*value)
    return str(value)


def _parser_type(kind: SettingType):
    if kind.kind is tuple:
        return parse_size if kind.item is int else parse_range
    return kind.kind if kind.kind in (int, float) else None


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """One option per TrainConfig setting (two for backbone_options), generated from its Option."""
    types = setting_types()
    for name, option in config_options():
        if option.entries:
            for entry in option.entries:
                parser.add_argument(entry.flag, type=entry.type if entry.type is not str else None, help=entry.help)
            continue
        kind = types[name]
        flag = flag_of(name)
        if option.negates:
            parser.add_argument(flag, action="store_true", help=option.help)
            continue
        default = default_of(name)
        help_text = option.help + (f": one of {', '.join(option.names())}" if option.names is not None else "")
        if default not in (None, "", {}) and "default" not in help_text:
            help_text += f" (default {_text(default)})"
        if option.falls_back_to is not None or any(o.falls_back_to == name for _, o in config_options()):
            default = None               # not given: the setting it falls back to, else the default
        metavar = option.metavar or ("HxW" if kind.kind is tuple and kind.item is int else None)
        parser.add_argument(flag, type=_parser_type(kind), default=None if option.required else default,
                            required=option.required, choices=option.choice_list(), metavar=metavar, help=help_text)


def configure(parser: argparse.ArgumentParser) -> None:
    add_config_options(parser)
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    parser.add_argument("--override", action="store_true",
                        help="with --resume: the settings given now replace the stored run's (e.g. a moved --data); "
                             "without it a differing setting is refused")
    parser.add_argument("--threads", type=positive_int, default=None, metavar="N",
                        help="CPU threads for training (default: all cores; under torchrun, per process)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--recipe", help="a training recipe (JSON): several runs chained in OUT/phase-N, each starting "
                                         "from the previous one's model; the training options come from it "
                                         "(only --data, --out, --resume, --device, --workers, --no-amp, --hold-out "
                                         "and --quiet go with it)")


# Options a recipe may be combined with; every other training option is the recipe's to set.
RECIPE_COMPANIONS = ("data", "out", "resume", "device", "workers", "no_amp", "quiet", "recipe", "threads", "hold_out")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig of a command line: each setting from its option, else the one it falls back to,
    else its default."""
    values = {}
    for name, option in config_options():
        if option.entries:
            values[name] = {e.key: getattr(args, _dest(e.flag)) for e in option.entries
                            if getattr(args, _dest(e.flag)) is not None}
            continue
        value = getattr(args, _dest(flag_of(name)))
        if option.negates:
            values[name] = not value
            continue
        if value is None and option.falls_back_to is not None:
            value = getattr(args, _dest(flag_of(option.falls_back_to)))
        values[name] = default_of(name) if value is None and default_of(name) is not None else value
    return TrainConfig(**values)


def given_settings(args: argparse.Namespace, config: TrainConfig) -> dict:
    """The training settings set on this command line (they differ from what no option gives)."""
    from dataclasses import fields

    parser = argparse.ArgumentParser()
    configure(parser)
    bare = config_from_args(parser.parse_args(["--out", args.out]))
    return {f.name: getattr(config, f.name) for f in fields(TrainConfig)
            if f.name != "out" and getattr(config, f.name) != getattr(bare, f.name)}


class TrainProgress(ProgressBar):
    """The progress bar, plus a line per validated epoch."""

    def __call__(self, event) -> None:
        if event.stage == "phase":                  # a recipe's next phase: a line of its own
            if not self.quiet:
                self.stream.write(("\n" if self.live else "") + event.message + "\n")
                self.stream.flush()
            return
        if "val_miou" in event.metrics and not self.quiet:
            val = event.metrics["val_miou"]
            final = val.get("final")
            best = max((v for k, v in val.items() if k != "final"), default=None)
            text = (f"stage {event.metrics['stage']}, weights of the last {event.metrics['averaged']} epochs averaged: "
                    if event.metrics.get("averaged") else
                    f"stage {event.metrics['stage']} epoch {event.metrics['epoch']}/{event.metrics['epochs']}: ")
            split = event.metrics.get("split", "val")
            where = "val mIoU" if split == "val" else f"{split} mIoU"
            text += f"{where} final {final:.2f}" if final is not None else "no validation"
            if best is not None:
                text += f", best early exit {best:.2f}"
            self.stream.write(("\n" if self.live else "") + text + "\n")
            return
        super().__call__(event)


def run_with_recipe(args: argparse.Namespace) -> int:
    defaults = argparse.ArgumentParser()
    configure(defaults)
    clashing = [name for name, value in vars(args).items()
                if name not in RECIPE_COMPANIONS and name in vars(defaults.parse_args(["--out", "x"]))
                and value != defaults.get_default(name)]
    if clashing:
        options = ", ".join("--" + name.replace("_", "-") for name in sorted(clashing))
        raise ConfigError(f"--recipe sets the training options: drop {options}")
    if not args.data:
        raise ConfigError("--recipe needs --data DIR")
    recipe = Recipe.load(args.recipe)
    stored = Path(args.out) / RECIPE_JSON
    if args.resume and stored.is_file() and Recipe.load(stored) != recipe:
        print(f"note: resuming with the run's own {stored}, not {args.recipe} (they differ)", file=sys.stderr)
    given = {"device": args.device != "auto", "workers": args.workers != 0, "amp": args.no_amp,
             "hold_out": bool(args.hold_out)}
    overrides = {name: value for name, value in (("device", args.device), ("workers", args.workers),
                                                 ("amp", not args.no_amp), ("hold_out", args.hold_out))
                 if given[name]}   # else the recipe's
    main_process = int(os.environ.get("RANK", "0")) == 0      # under torchrun, rank 0 reports
    progress = TrainProgress(quiet=args.quiet or not main_process)
    model = run_job(run_recipe(recipe, args.data, args.out, resume=args.resume, overrides=overrides,
                               cancel=CancelToken()), progress)
    if main_process:
        print(f"trained model: {model}", file=sys.stdout)
    return 0


def run(args: argparse.Namespace) -> int:
    from core.threads import configure_threads

    configure_threads(args.threads)
    if args.recipe:
        return run_with_recipe(args)
    config = config_from_args(args)
    given = given_settings(args, config) if args.resume else None
    trainer = Trainer(config, resume=args.resume, cancel=CancelToken(), given=given, override=args.override)
    quiet = args.quiet or not trainer.ctx.is_main
    model = run_job(trainer.run(), TrainProgress(quiet=quiet))
    if trainer.ctx.is_main:
        print(f"trained model: {model}", file=sys.stdout)
    return 0


COMMANDS.add("train", Command("train", "two-stage MESS training (resumable; DDP under torchrun)", configure, run=run))

"""mess train: two-stage MESS training as a resumable job (DDP under torchrun)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from core.cli.commands import COMMANDS, Command
from core.cli.common import parse_size, positive_int
from core.cli.progress import ProgressBar
from core.device import DEVICE_CHOICES
from core.jobs import CancelToken, run_job
from core.models import BACKBONES
from core.errors import ConfigError
from core.train.config import TrainConfig
from core.train.recipe import RECIPE_JSON, Recipe, run_recipe
from core.train.trainer import Trainer


def configure(parser: argparse.ArgumentParser) -> None:
    defaults = TrainConfig(data="", out="")
    parser.add_argument("--data", help="labelled dataset folder (CamVid, image/mask folders, Cityscapes or VOC layout)")
    parser.add_argument("--out", required=True, help="run folder (new or empty; with --resume, the run to continue)")
    parser.add_argument("--split", default=defaults.train_split,
                        help="split(s) to train on, joined with '+' (default train; e.g. train+val)")
    parser.add_argument("--val-split", default=defaults.val_split, help="split to validate on (default val)")
    parser.add_argument("--hold-out", default="", metavar="SEQ[,SEQ]",
                        help="leave these sequences (file-name prefix, e.g. 0006R0) out of training and validate on "
                             "all their frames in --split and --val-split instead of on --val-split; "
                             "with --recipe, a fold of the recipe")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    parser.add_argument("--override", action="store_true",
                        help="with --resume: the settings given now replace the stored run's (e.g. a moved --data); "
                             "without it a differing setting is refused")
    parser.add_argument("--backbone", default=defaults.backbone, help=f"one of {', '.join(BACKBONES.names())}")
    parser.add_argument("--stage", default=defaults.stage, choices=("1", "2", "all"))
    parser.add_argument("--epochs", type=int, help=f"epochs of each stage run (default {defaults.epochs_stage1} "
                                                   f"for stage 1, {defaults.epochs_stage2} for stage 2)")
    parser.add_argument("--stage2-epochs", type=int, help="epochs of stage 2 when it differs from --epochs")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size, help="images per step and process")
    parser.add_argument("--train-size", type=parse_size, help="resize training images to HxW before augmentation")
    parser.add_argument("--crop", type=parse_size, default=defaults.crop, help="training crop HxW (default 360x480)")
    parser.add_argument("--eval-size", type=parse_size, help="validation size HxW (default: native)")
    parser.add_argument("--optimizer", default=defaults.optimizer, choices=("sgd", "adamw"))
    parser.add_argument("--lr", type=float, default=defaults.lr, help="stage-1 learning rate")
    parser.add_argument("--swa-epochs", type=int, default=0,
                        help="stage 1: average the weights of its last N epochs (stochastic weight averaging; "
                             "the poly schedule then ends N epochs early)")
    parser.add_argument("--swa-lr", type=float,
                        help="constant learning rate of the averaged epochs (default: --lr / 10)")
    parser.add_argument("--lr-stage2", type=float, default=defaults.lr_stage2, help="stage-2 learning rate")
    parser.add_argument("--loss", default=defaults.loss, choices=("weighted_ce", "ohem", "ce"))
    parser.add_argument("--stage2-heads", default=defaults.stage2_heads,
                        help="head preset or comma-separated heads trained in stage 2 at every point (default wide)")
    parser.add_argument("--output-stride", type=int, help="backbone output stride")
    parser.add_argument("--final-head", help="final head of a plain backbone (deeplabv3, fcn, lraspp)")
    parser.add_argument("--pretrained", help="safetensors file with torchvision-named weights for the backbone")
    parser.add_argument("--init-model", help="trained model folder to start from: stage 1 fine-tunes its backbone, "
                                             "--stage 2 trains heads on it")
    parser.add_argument("--unlabelled", help="images folder or video file: label-free stage 2 (self-distillation)")
    parser.add_argument("--classes", help="class set name or classes.json (default: the dataset's)")
    parser.add_argument("--val-limit", type=int, help="validate on the first N images only")
    parser.add_argument("--workers", type=int, default=0, help="data-loading processes (default 0)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    parser.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")
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
    options = {k: v for k, v in (("output_stride", args.output_stride), ("final_head", args.final_head))
               if v is not None}
    defaults = TrainConfig(data="", out="")
    epochs1 = args.epochs or defaults.epochs_stage1
    epochs2 = args.stage2_epochs or args.epochs or defaults.epochs_stage2
    return TrainConfig(
        data=args.data or "", out=args.out, train_split=args.split, val_split=args.val_split, hold_out=args.hold_out,
        backbone=args.backbone, backbone_options=options, classes=args.classes,
        stage=args.stage, epochs_stage1=epochs1, epochs_stage2=epochs2, batch_size=args.batch_size,
        train_size=args.train_size, crop=args.crop, eval_size=args.eval_size, optimizer=args.optimizer, lr=args.lr,
        swa_epochs=args.swa_epochs, swa_lr=args.swa_lr,
        lr_stage2=args.lr_stage2, loss=args.loss, stage2_heads=args.stage2_heads, pretrained=args.pretrained,
        init_model=args.init_model, unlabelled=args.unlabelled, val_limit=args.val_limit, workers=args.workers,
        seed=args.seed, device=args.device, amp=not args.no_amp,
    )


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
    model = run_job(run_recipe(recipe, args.data, args.out, args.resume, overrides, CancelToken()), progress)
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


COMMANDS.add("train", Command("train", "two-stage MESS training (resumable; DDP under torchrun)", configure, run))

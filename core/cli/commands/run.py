"""mess run: an exit configuration on live video without a window; per-frame JSONL stats and an overlay video."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import TextIO

from core.cli.commands import COMMANDS, Command
from core.cli.common import (add_backend_arguments, backend_pieces, note, parse_size, positive_int,
                             precision_of_config, resolve_model, warn_about_table)
from core.device import DEVICE_CHOICES, select_device
from core.errors import ConfigError, MessError
from core.models import load_model
from core.runtime.config import ExitConfig
from core.runtime.config_file import ConfigFile
from core.profile.costs import CostTable, measure_costs
from core.runtime.early_exit import default_deadline_exits
from core.runtime.live import FrameResult, LiveRunner
from core.runtime.video.overlay import OVERLAY_STYLES, short_exit_name
from core.runtime.video.player import Failed, Frame, LivePlayer, Opened, RecordingFailed
from core.fileio import temp_beside
from core.runtime.video.recorder import check_video_path
from core.threads import configure_threads


RUN_MODES = ("exit", "anytime")


def anytime_summary(refinements: list[list]) -> dict:
    """Anytime mode: for each kept exit, the median time its answer was ready and how often it was confident."""
    by_exit: dict[str, list] = {}
    for frame in refinements:
        for answer in frame:
            by_exit.setdefault(answer.exit_id, []).append(answer)
    return {"mode": "anytime", "refinements": {
        exit_id: {"median_ready_ms": round(statistics.median(a.latency_ms for a in answers), 3),
                  "confident_fraction": round(sum(a.confident for a in answers) / len(answers), 4)}
        for exit_id, answers in by_exit.items()}}


def _opacity(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"opacity {value} is outside 0..1")
    return value


def _milliseconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of milliseconds") from None
    if not 0 < value < 1e6:
        raise argparse.ArgumentTypeError(f"deadline {value} ms must be positive")
    return value


def deadline_costs(net, args, size, device, pieces):
    """The latency table a deadline decides from: --latency-table (checked), else measured now."""
    if args.latency_table:
        table = CostTable.load(args.latency_table)
        backend = pieces.backend if pieces is not None else "torch"
        table.check_matches(net, args.latency_table, backend,
                            precision=pieces.precision if pieces is not None else "fp32")
        if size is not None and tuple(table.input_size) != tuple(size):
            raise ConfigError(f"{args.latency_table}: measured at {table.input_size[0]}x{table.input_size[1]}, "
                              f"the frames are processed at {size[0]}x{size[1]}")
        warn_about_table(table, args.latency_table)
        return table
    if not args.quiet:
        print("measuring the latency table the deadline decides from...", file=sys.stderr, flush=True)
    return measure_costs(net, size or (360, 480), device, pieces=pieces)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="model folder (default: the bundled model)")
    parser.add_argument("--config", help="exit configuration JSON (default: the full network)")
    parser.add_argument("--source", required=True,
                        help="webcam index (0, 1...), video file, folder of images, or rtsp:// / http(s):// URL")
    parser.add_argument("--out", help="record the annotated overlay video here (.mp4, .avi, .mkv, .mov)")
    parser.add_argument("--stats", help="write one JSON line per frame, then a summary line, to this file")
    parser.add_argument("--max-frames", type=positive_int, help="stop after N frames")
    parser.add_argument("--size", type=parse_size, help="process at HxW (default: the model's input size)")
    parser.add_argument("--realtime", action="store_true",
                        help="play a file or folder at its own frame rate, dropping frames the model cannot keep "
                             "up with (a webcam or stream always does)")
    parser.add_argument("--compare-full", action="store_true",
                        help="also run the full network on every frame, in the same loop: each stats line gets "
                             "full_latency_ms and the summary the full network's median latency and the speed-up")
    parser.add_argument("--deadline-ms", type=_milliseconds, metavar="MS",
                        help="each frame answers with the deepest kept exit that can finish within MS, decided "
                             "from the latency table before each segment (the --config's exits, default the first "
                             "head at each exit point and the final exit)")
    parser.add_argument("--latency-table", help="with a deadline: the latency table to decide from (mess profile "
                                                "with the same backend; default: measured at start)")
    parser.add_argument("--mode", choices=RUN_MODES, default="exit",
                        help="exit: each frame leaves at the first confident kept exit (default); anytime: every "
                             "kept exit answers in turn, each as soon as it is ready, and --stats records when "
                             "each refinement was ready")
    parser.add_argument("--opacity", type=_opacity, default=0.5, help="overlay opacity in --out, 0..1 (default 0.5)")
    parser.add_argument("--overlay", choices=OVERLAY_STYLES, default="plain",
                        help="overlay style in --out: plain (the palette blended at the opacity), outline (also "
                             "every class boundary at full opacity) or high-contrast (vivid class colours); "
                             "default plain")
    parser.add_argument("--device", default="auto", choices=DEVICE_CHOICES, help="cuda, then mps, then cpu when auto")
    add_backend_arguments(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress line")


class StatsFile:
    """The --stats JSONL, written to a temporary file beside it and renamed by ``finish``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        folder = self.path.parent
        self._temp = temp_beside(self.path, suffix=".part")
        try:
            self._file: TextIO = open(self._temp, "w", encoding="utf-8")
        except OSError as exc:
            self._temp.unlink(missing_ok=True)
            raise ConfigError(f"{self.path}: cannot write in {folder} ({exc.strerror})") from None

    def _failed(self, exc: OSError) -> ConfigError:
        return ConfigError(f"{self.path}: cannot write the stats ({exc.strerror or exc}); nothing was kept")

    def frame(self, result: FrameResult) -> None:
        try:
            self._write_frame(result)
        except OSError as exc:
            raise self._failed(exc) from None

    def _write_frame(self, result: FrameResult) -> None:
        self._file.write(json.dumps({
            "frame": result.index, "exit": result.exit_id, "latency_ms": round(result.latency_ms, 3),
            "confidence": round(result.confidence, 5), "exit_index": result.exit_index,
            "exit_depth": round(result.exit_depth, 4), "dropped": result.dropped,
            **({"full_latency_ms": round(result.full_latency_ms, 3)} if result.full_latency_ms is not None else {}),
        **({"refinements": [{"exit": r.exit_id, "latency_ms": round(r.latency_ms, 3),
                             "confidence": round(r.confidence, 5), "confident": r.confident}
                            for r in result.refinements]} if result.refinements is not None else {}),
        }) + "\n")

    def finish(self, summary: dict) -> None:
        try:
            self._file.write(json.dumps({"summary": summary}) + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            os.replace(self._temp, self.path)
        except OSError as exc:
            raise self._failed(exc) from None

    def abort(self) -> None:
        if not self._file.closed:
            try:
                self._file.close()
            except OSError:  # the disk that failed the writes fails the flush too
                pass
        self._temp.unlink(missing_ok=True)


class ProgressLine:
    """'frame 120/221  14.2 fps  exit features.12  61 ms' on stderr: redrawn on a terminal, sparse otherwise."""

    def __init__(self, total: int | None, quiet: bool, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.total = total
        self.quiet = quiet
        self.live = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last = 0.0
        self._drawn = False

    def update(self, frames: int, result: FrameResult, fps: float, dropped: int) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        if now - self._last < (0.25 if self.live else 5.0) and not (self.total and frames >= self.total):
            return
        self._last = now
        total = f"/{self.total}" if self.total else ""
        line = (f"frame {frames}{total}  {fps:5.1f} fps  exit {short_exit_name(result.exit_id)}  "
                f"{result.latency_ms:5.0f} ms" + (f"  dropped {dropped}" if dropped else ""))
        self.stream.write(("\r" + line.ljust(79)) if self.live else line + "\n")
        self.stream.flush()
        self._drawn = True

    def end(self) -> None:
        if self.live and self._drawn and not self.quiet:
            self.stream.write("\n")
            self.stream.flush()


def _full_comparison(median_ms: float, full_latencies: list[float]) -> dict:
    """--compare-full: the full network's latency measured on the same frames, and the speed-up."""
    if not full_latencies:
        return {}
    full = statistics.median(full_latencies)
    return {"full_median_latency_ms": full, "speedup": full / median_ms if median_ms > 0 else 0.0}


def _print_summary(summary: dict, source: str) -> None:
    print(f"{source}: {summary['frames']} frames in {summary['seconds']:.1f} s, {summary['fps']:.1f} fps end to end; "
          f"latency median {summary['median_latency_ms']:.1f} ms, p95 {summary['p95_latency_ms']:.1f} ms"
          + (f"; {summary['dropped']} frames dropped" if summary["dropped"] else ""))
    frames = max(1, summary["frames"])
    print("  exits taken: "
          + ", ".join(f"{e} {n} ({100 * n / frames:.0f}%)" for e, n in summary["exit_histogram"].items()))
    if "deadline_ms" in summary:
        print(f"  deadline {summary['deadline_ms']:g} ms: p95 latency {summary['p95_latency_ms']:.1f} ms "
              f"(x{summary['p95_latency_ms'] / summary['deadline_ms']:.2f} the deadline), mean exit depth "
              f"{summary['mean_exit_depth']:.2f} (1 = the final exit)")
    if summary.get("mode") == "anytime":
        print("  anytime: " + ", ".join(f"{e} ready at {r['median_ready_ms']:.1f} ms (median), confident on "
                                        f"{100 * r['confident_fraction']:.0f}% of frames"
                                        for e, r in summary["refinements"].items()))
    if "speedup" in summary:
        print(f"  full network on the same frames: median {summary['full_median_latency_ms']:.1f} ms; "
              f"the configuration is x{summary['speedup']:.2f} as fast")


def threads_left_free(quiet: bool) -> int:
    """Without --threads: the cores other processes leave free (said in one line when not all are)."""
    from core.threads import available_cores, free_cores

    threads, busy = free_cores()
    if threads < available_cores() and not quiet:
        note(f"other processes keep {busy:.1f} of {available_cores()} cores busy: running on {threads} "
             f"thread{'s' * (threads != 1)} (--threads N to choose)")
    return threads


def run(args: argparse.Namespace) -> int:
    model_dir = resolve_model(args.model)
    device = select_device(args.device)
    config_file = ConfigFile.load(args.config) if args.config else None
    if args.out:
        check_video_path(args.out)
    if args.out and args.stats and Path(args.out).resolve() == Path(args.stats).resolve():
        raise ConfigError(f"--out and --stats are the same file: {args.out}")
    for option, path in (("--out", args.out), ("--stats", args.stats)):
        if path and Path(path).is_dir():
            raise ConfigError(f"{option} {path}: is a folder, not a file")
        if path and Path(path).resolve() == Path(args.source).resolve():
            raise ConfigError(f"{option} {path}: is the --source itself")
    net, info = load_model(model_dir, device, inference=True)
    config = config_file.checked(info.weights_sha256, net.exit_ids(), note) if config_file is not None else None
    precision_of_config(args, config_file)
    process_size = args.size or (tuple(net.spec.input_size) if net.spec.input_size else None)
    args.threads = args.threads or threads_left_free(args.quiet)
    configure_threads(args.threads)
    pieces = None
    if process_size is not None or args.backend not in (None, "torch"):
        if process_size is None:
            raise ConfigError(f"--backend {args.backend} needs a fixed processing size: give --size HxW")
        pieces = backend_pieces(net, process_size, args)
    elif (args.precision or "fp32") != "fp32":
        raise ConfigError(f"--precision {args.precision} runs on a graph backend at a fixed size: give --size HxW")
    if args.mode == "anytime" and (args.deadline_ms is not None or args.compare_full
                                   or (config is not None and config.mode == "deadline")):
        raise ConfigError("--mode anytime runs every kept exit in turn: it does not go with a deadline or "
                          "--compare-full")
    if args.deadline_ms is not None:
        exits = config.exits if config is not None else default_deadline_exits(net)
        config = ExitConfig.deadline(exits, args.deadline_ms, config.policy if config is not None else None)
    elif args.latency_table:
        raise ConfigError("--latency-table is for a deadline (--deadline-ms, or a configuration of mode deadline)")
    deadline = config is not None and config.mode == "deadline"
    costs = deadline_costs(net, args, process_size, device=device, pieces=pieces) if deadline else None
    # checks the configuration against the model
    runner = LiveRunner(net, config, size=process_size, device=device, pieces=pieces, costs=costs,
                        anytime=args.mode == "anytime")
    player = LivePlayer(net, args.source, config=runner.config, loop=False, realtime=args.realtime,
                        compare_full=args.compare_full, opacity=args.opacity, overlay=args.overlay, runner=runner,
                        max_frames=args.max_frames, draw=False, record_drawing="processed")
    if args.out:
        player.start_recording(args.out)
    full_latencies: list[float] = []
    refinements: list[list] = []
    depths: list[float] = []
    info = None
    progress = ProgressLine(None, args.quiet)
    stats_file = StatsFile(args.stats) if args.stats else None
    size: list[int] | None = None
    interrupted: KeyboardInterrupt | None = None
    try:
        try:
            with closing(player.play()) as events:
                for event in events:
                    if isinstance(event, Opened):
                        info = event.info
                        progress.total = min(filter(None, (info.frame_count, args.max_frames)), default=None)
                    elif isinstance(event, Frame):
                        result = event.frame.result
                        depths.append(result.exit_depth)
                        size = list(result.image.shape[:2])
                        if result.full_latency_ms is not None:
                            full_latencies.append(result.full_latency_ms)
                        if result.refinements is not None:
                            refinements.append(result.refinements)
                        if stats_file is not None:
                            stats_file.frame(result)
                        progress.update(event.frame.processed, result, event.frame.fps,
                                        dropped=event.frame.dropped_total)
                    elif isinstance(event, (Failed, RecordingFailed)):
                        player.abort_recording()       # a failed run keeps no half-written video
                        raise MessError(event.text)
        except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM (core.cli.main.Terminated)
            interrupted = stop  # the player has finished the recording; finish the stats with the frames so far
            for event in player.take_events():
                if isinstance(event, RecordingFailed):
                    raise MessError(event.text) from None
        progress.end()
        stats = player.summary()
        summary = {
            **stats,
            "source": info.name if info else args.source, "kind": info.kind if info else None,
            "model": str(model_dir), "size": size,
            "device": str(device), "exits": list(runner.config.exits), "interrupted": bool(interrupted),
            "backend": runner.backend, "precision": runner.precision,
            "mean_exit_depth": statistics.fmean(depths) if depths else None,
            **({"deadline_ms": runner.config.deadline_ms} if runner.config.mode == "deadline" else {}),
            **_full_comparison(stats["median_latency_ms"], full_latencies),
            **(anytime_summary(refinements) if refinements else {}),
        }
        if stats_file is not None:
            stats_file.finish(summary)
            stats_file = None
    finally:
        if stats_file is not None:
            stats_file.abort()
    _print_summary(summary, summary["source"])
    announced = info.frame_count if info else None
    seen = summary["frames"] + summary["dropped"]
    if (not interrupted and info is not None and info.kind == "file" and announced and seen < announced
            and not (args.max_frames and summary["frames"] >= args.max_frames)):
        print(f"warning: {info.name}: the video announced {announced} frames but only {seen} could be read "
              f"({announced - seen} missing: truncated or damaged)", file=sys.stderr)
    for what, path in (("video", args.out), ("stats", args.stats)):
        if path and Path(path).exists():
            print(f"  {what}: {path}")
    if interrupted:
        raise interrupted
    return 0


COMMANDS.add("run", Command("run", "run a model live on a webcam, a file, a folder of images or a stream "
                            "(early exit per frame)",
                            configure, run=run))

"""Run an exported MESS network with real early exit: numpy, OpenCV and onnxruntime or openvino only.

    python run.py --source VIDEO|FOLDER|IMAGE|WEBCAM_INDEX [--max-frames N] [--stats FILE.jsonl]

This file was written by ``mess export`` beside ``manifest.json``, the graphs, and
``mess_host.py`` (the exit policy and routing that MESS Studio itself uses). Every
graph's SHA-256 is checked against the manifest before anything runs. ``--stats``
writes one JSON line per frame (``frame``, ``exit``, ``latency_ms``, ``confidence``,
...) and a last ``{"summary": {...}}`` line, as ``mess run --stats`` does.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

import mess_host as host  # noqa: E402

MANIFEST_VERSION = 1
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


class ExportError(Exception):
    """A one-line problem with the export, the source or an argument."""


# --- the manifest and its graphs -------------------------------------------------------------

def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


MAX_MANIFEST_BYTES = 16 << 20


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def load_manifest(folder: Path) -> dict:
    path = folder / "manifest.json"
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise ExportError(f"{path}: larger than {MAX_MANIFEST_BYTES >> 20} MiB, not a manifest")
        manifest = json.loads(path.read_bytes().decode("utf-8"), parse_constant=_no_constant)
    except OSError as exc:
        raise ExportError(f"{path}: cannot read the manifest ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise ExportError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise ExportError(f"{path}: not JSON ({exc})") from None
    except RecursionError:
        raise ExportError(f"{path}: not a manifest (JSON nested too deeply)") from None
    if not isinstance(manifest, dict) or manifest.get("format") != "mess-export":
        raise ExportError(f"{path}: not a MESS export manifest")
    if manifest.get("format_version") != MANIFEST_VERSION:
        raise ExportError(f"{path}: unknown manifest version {manifest.get('format_version')!r} "
                          f"(this runner reads version {MANIFEST_VERSION})")
    graphs = manifest.get("graphs")
    if not isinstance(graphs, list) or not all(isinstance(graph, dict) for graph in graphs):
        raise ExportError(f"{path}: malformed manifest ('graphs' must be a list of objects)")
    for graph in graphs:
        for key_file, key_hash in (("file", "sha256"), ("weights_file", "weights_sha256")):
            name = graph.get(key_file)
            if not name:
                continue
            if not isinstance(name, str) or Path(name).name != name:
                raise ExportError(f"{path}: malformed manifest (graph file {name!r} is not a name in the export)")
            file = folder / name
            if not file.is_file():
                raise ExportError(f"{file}: graph file missing")
            if sha256_file(file) != graph.get(key_hash):
                raise ExportError(f"{file}: SHA-256 does not match the manifest (tampered or damaged)")
    return manifest


class ExportPieces(host.ArrayPieces):
    """The exported graphs behind mess_host's Pieces protocol."""

    def __init__(self, folder: Path, manifest: dict, threads: int) -> None:
        super().__init__(manifest["input_size"], manifest["tap_segments"],
                         {e["exit"]: e["head_taps"] for e in manifest["exits"]})
        self.runtime = manifest["runtime"]
        self.precision = manifest["precision"]
        self._graphs = {}
        for graph in manifest["graphs"]:
            self._graphs[(graph["kind"], graph["start"], graph["stop"], graph["exit"])] = (
                host.open_graph(self.runtime, str(folder / graph["file"]), precision=self.precision, threads=threads),
                graph)

    def segments_graph(self, start: int, stop: int):
        exact = self._graphs.get(("segments", start, stop, None))
        if exact is not None:
            return exact[0]
        parts = []
        for k in range(start, stop + 1):  # an export without a configuration: one graph per segment
            single = self._graphs.get(("segments", k, k, None))
            if single is None:
                raise ExportError(f"the export has no graph for segments {start}..{stop}")
            parts.append((single[0], single[1]["taps"]))
        return host.chain_graphs(parts)

    def head_graph(self, exit_id: str):
        graph = self._graphs.get(("head", 0, 0, exit_id))
        if graph is None:
            raise ExportError(f"the export has no head for exit '{exit_id}'")
        return graph[0]


def cascade_steps(manifest: dict) -> tuple[list[host.Step], dict]:
    config = manifest["config"]
    by_exit = {e["exit"]: e for e in manifest["exits"]}
    steps = []
    for exit_id, th_pix, th_img in zip(config["exits"], config["th_pix"], config["th_img"]):
        if exit_id not in by_exit:
            raise ExportError(f"the configuration keeps exit '{exit_id}', which the export does not hold")
        steps.append(host.Step(exit_id, by_exit[exit_id]["segment"], by_exit[exit_id]["stride"],
                               float(th_pix), float(th_img)))
    policy = config.get("policy", {})
    return steps, {"measure": policy.get("confidence", "top1"),
                   "edge_smoothing": bool(policy.get("edge_smoothing", True)),
                   "scale": float(policy.get("scale", 0.25)), "edge_dilation": int(policy.get("edge_dilation", 2))}


# --- sources ---------------------------------------------------------------------------------

def open_frames(source: str):
    """(name, kind, iterator of RGB uint8 frames); kind is webcam, folder, image or file."""
    if source.isdigit():
        capture = cv2.VideoCapture(int(source))
        if not capture.isOpened():
            raise ExportError(f"webcam {source}: cannot be opened")
        return f"webcam {source}", "webcam", _capture_frames(capture)
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ExportError(f"{path}: no images in the folder")
        return str(path), "folder", (_read_image(p) for p in files)
    if not path.is_file():
        raise ExportError(f"{path}: no such file or folder")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return str(path), "image", iter([_read_image(path)])
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise ExportError(f"{path}: not a video OpenCV can read")
    return str(path), "file", _capture_frames(capture)


def _read_image(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ExportError(f"{path}: not an image OpenCV can read")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _capture_frames(capture):
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                return
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        capture.release()


def read_ahead(frames, depth: int = 2, drop: bool = False):
    """(frame, dropped) decoded on a thread, at most ``depth`` frames ahead, as mess run's reader does.

    A file or folder waits for the consumer; a webcam (``drop``) keeps only the newest frame and
    counts the ones the consumer could not take. Closing the generator stops the thread and waits
    for it, so that no thread is left inside OpenCV when the process exits (that aborts it)."""
    import queue

    slots: queue.Queue = queue.Queue(maxsize=1 if drop else depth)
    stop = threading.Event()
    done = object()
    dropped = [0]

    def put(item) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                if drop and isinstance(item, np.ndarray):
                    try:
                        slots.get_nowait()
                        dropped[0] += 1
                    except queue.Empty:
                        pass
                continue
        return False

    def loop():
        try:
            for frame in frames:
                if not put(frame):
                    break
        except Exception as exc:  # noqa: BLE001 - handed to the consumer
            put(exc)
        finally:
            close = getattr(frames, "close", None)
            if close:
                close()  # releases the capture on this thread
        put(done)

    thread = threading.Thread(target=loop, name="read", daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if item is done:
                return
            if isinstance(item, Exception):
                raise item
            count, dropped[0] = dropped[0], 0
            yield item, count
    finally:
        stop.set()
        thread.join(timeout=10)


# --- the loop --------------------------------------------------------------------------------

class Preprocess:
    """Resize (INTER_AREA) to the input size and normalise as MESS Studio does (x * scale + offset, float32)."""

    def __init__(self, manifest: dict) -> None:
        self.size = tuple(manifest["input_size"])
        mean = np.asarray(manifest["normalisation"]["mean"])
        std = np.asarray(manifest["normalisation"]["std"])
        self.scale = (1.0 / std).astype(np.float32) / 255.0
        self.offset = (-mean / std).astype(np.float32)

    def __call__(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h, w = self.size
        if rgb.shape[:2] != (h, w):
            rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
        return rgb, host.planar_input(rgb, self.scale, self.offset)


def summary_of(latencies: list[float], histogram: dict, started: float, finished: float) -> dict:
    lat = np.asarray(latencies, dtype=np.float64)
    seconds = finished - started if latencies else 0.0
    return {
        "frames": len(latencies),
        "fps": float(len(latencies) / seconds) if seconds > 0 else 0.0,
        "median_latency_ms": float(np.median(lat)) if len(lat) else 0.0,
        "p95_latency_ms": float(np.percentile(lat, 95)) if len(lat) else 0.0,
        "exit_histogram": histogram,
        "dropped": 0,
        "seconds": float(seconds),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run.py", description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="video file, folder of images, image, or webcam index")
    parser.add_argument("--max-frames", type=int, help="stop after N frames")
    parser.add_argument("--stats", help="write one JSON line per frame, then a summary line")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="CPU threads (default: all)")
    parser.add_argument("--quiet", action="store_true", help="no summary on stdout")
    args = parser.parse_args(argv)
    if args.threads < 1 or (args.max_frames is not None and args.max_frames < 1):
        parser.error("--threads and --max-frames must be at least 1")
    try:
        return run(args)
    except ExportError as exc:
        print(f"run.py: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("run.py: interrupted", file=sys.stderr)
        return 130


def open_export(threads: int):
    """The manifest, the compiled pieces, the cascade's steps and policy; one-line errors."""
    manifest = load_manifest(HERE)
    try:
        pieces = ExportPieces(HERE, manifest, threads)
        steps, policy = cascade_steps(manifest)
        return manifest, pieces, steps, policy, Preprocess(manifest)
    except ImportError as exc:
        raise ExportError(f"the {manifest.get('runtime')} package is not installed ({exc.name}): "
                          f"pip install {manifest.get('runtime')}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise ExportError(f"{HERE / 'manifest.json'}: malformed manifest ({type(exc).__name__}: {exc})") from None


def run(args: argparse.Namespace) -> int:
    cv2.setNumThreads(1)
    manifest, pieces, steps, policy, preprocess = open_export(args.threads)
    name, kind, frames = open_frames(args.source)
    depth = {s.exit_id: (s.segment + 1) / manifest["segments"] for s in steps}
    histogram = {s.exit_id: 0 for s in steps}
    latencies: list[float] = []
    dropped_total = 0
    stats_tmp = Path(args.stats).with_name(f".{Path(args.stats).name}.part") if args.stats else None
    try:
        stats = open(stats_tmp, "w", encoding="utf-8") if stats_tmp else None
    except OSError as exc:
        raise ExportError(f"{args.stats}: cannot write ({exc.strerror})") from None
    interrupted = False
    reader = read_ahead(frames, drop=kind == "webcam")
    try:
        started = time.perf_counter()
        try:
            for index, (rgb, dropped) in enumerate(reader):
                if args.max_frames and index >= args.max_frames:
                    break
                begin = time.perf_counter()
                _, x = preprocess(rgb)
                out = host.run_cascade(pieces, steps, x, 1, preprocess.size, policy)
                latency = (time.perf_counter() - begin) * 1000.0
                k = out.exit_index[0]
                exit_id = steps[k].exit_id
                latencies.append(latency)
                histogram[exit_id] += 1
                dropped_total += dropped
                if stats:
                    stats.write(json.dumps({"frame": index, "exit": exit_id, "latency_ms": round(latency, 3),
                                            "confidence": round(out.confidence[0], 5), "exit_index": k,
                                            "exit_depth": round(depth[exit_id], 4), "dropped": dropped}) + "\n")
        except KeyboardInterrupt:
            interrupted = True  # finish the stats with the frames so far, as mess run does
        finished = time.perf_counter()
        summary = {**summary_of(latencies, histogram, started, finished=finished), "dropped": dropped_total,
                   "source": name, "kind": kind, "model": str(manifest["model"].get("name", "")),
                   "size": list(preprocess.size), "device": "cpu", "exits": [s.exit_id for s in steps],
                   "interrupted": interrupted, "backend": manifest["runtime"], "precision": manifest["precision"],
                   "runner": "run.py"}
        if stats:
            stats.write(json.dumps({"summary": summary}) + "\n")
            stats.close()
            os.replace(stats_tmp, args.stats)
            stats = None
    except OSError as exc:
        raise ExportError(f"{args.stats}: cannot write ({exc.strerror})") from None
    finally:
        reader.close()
        if stats:
            stats.close()
            stats_tmp.unlink(missing_ok=True)
    if not args.quiet:
        print(f"{name}: {summary['frames']} frames, {summary['fps']:.1f} fps end to end; latency median "
              f"{summary['median_latency_ms']:.1f} ms, p95 {summary['p95_latency_ms']:.1f} ms; "
              + ", ".join(f"{e} {n}" for e, n in histogram.items()))
    if interrupted:
        raise KeyboardInterrupt
    return 0


if __name__ == "__main__":
    sys.exit(main())

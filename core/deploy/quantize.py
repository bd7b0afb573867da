"""int8 graphs of a network's pieces: ONNX Runtime static post-training quantisation.

`mess quantize` stores a calibration set (images the network is calibrated on, at one
input size) beside a network's cached ONNX graphs (``core.deploy.graph_store``), in
``<store>/int8/``. Each piece's int8 graph is then made on first use: its fp32 graph
quantised to QDQ form (int8 weights per output channel, uint8 activations whose
ranges are the min/max seen on the calibration images at that piece's inputs, which
the float network computes). ONNX Runtime and OpenVINO both run QDQ graphs (OpenVINO
folds them into int8 kernels). Graphs are written to a temporary file and renamed
into place; a new calibration set replaces the old one and its graphs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shutil
import tempfile
import threading
import zipfile
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch

from core.cpu_flags import cpu_flags
from core.deploy.pieces import PieceKey, head_taps, io_names
from core.errors import ConfigError
from core.models.network import MultiExitNet
from core.models.spec import FINAL_EXIT

INT8_FOLDER = "int8"
RECORD = "calibration.json"
IMAGES = "calibration.npz"
RECORD_VERSION = 1
DEFAULT_IMAGES = 32
METHOD = "onnxruntime quantize_static: QDQ, int8 weights per output channel"
VNNI_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")
X86 = ("x86_64", "amd64", "i386", "i686")


@lru_cache(maxsize=1)
def reduced_weight_range(cpuinfo: str = "/proc/cpuinfo", machine: str | None = None) -> bool:
    """Whether int8 weights are quantised to 7 bits here: on x86 CPUs without VNNI. Their uint8 x int8
    multiply-add (AVX2's vpmaddubsw) adds pairs of products in int16, which saturates with full-range
    weights (ONNX Runtime's quantisation guide: ``reduce_range``). Measured on a 2-core AVX2-only EPYC:
    an early exit's int8 labels agreed with fp32 on 0.78 of the pixels with 8-bit weights, above 0.8
    with 7-bit ones (tests/deploy/test_quantize.py). An x86 CPU whose flags cannot be read is taken
    to lack VNNI."""
    if (machine or platform.machine()).lower() not in X86:
        return False
    flags = cpu_flags(cpuinfo)
    return flags is None or not flags.intersection(VNNI_FLAGS)


@dataclass(frozen=True)
class Int8Scheme:
    """How activations are quantised (weights are always int8, symmetric, per output channel)."""

    name: str
    activations: str          # "uint8" or "int8"
    symmetric: bool           # symmetric ranges: zero point 0, no zero-point arithmetic at run time
    description: str


SCHEMES = {
    "s8": Int8Scheme("s8", "int8", symmetric=True, description="int8 activations, symmetric min-max ranges"),
    "u8": Int8Scheme("u8", "uint8", symmetric=False, description="uint8 activations, asymmetric min-max ranges"),
}
# benchmarks/int8_qdq.py (README, int8): u8 keeps every exit within 1 pp of fp32 on val and is faster on
# both runtimes; s8 is faster still on OpenVINO (zero points cost nothing) but loses up to 1.4 pp, and
# is slower than fp32 on ONNX Runtime.
DEFAULT_SCHEME = "u8"
_LOCK = threading.RLock()  # one quantisation at a time (it runs torch and writes into the store)


@dataclass(frozen=True)
class Int8Calibration:
    """What an int8 calibration was made from (``<store>/int8/calibration.json``)."""

    fingerprint: str          # SHA-256 of the calibration images as the network saw them (float16 bytes)
    source: str               # the folder or video they came from
    images: int
    input_size: tuple[int, int]
    scheme: str = DEFAULT_SCHEME

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise ConfigError(f"unknown int8 scheme '{self.scheme}' (known: {', '.join(SCHEMES)})")

    @property
    def method(self) -> str:
        weights = " (7-bit range: this CPU has no VNNI)" if reduced_weight_range() else ""
        return f"{METHOD}{weights}, {SCHEMES[self.scheme].description}"

    def to_json(self) -> dict:
        return {"format": "mess-int8-calibration", "version": RECORD_VERSION, **asdict(self),
                "input_size": list(self.input_size)}

    @classmethod
    def from_json(cls, data: dict, source: str) -> "Int8Calibration":
        if data.get("format") != "mess-int8-calibration" or data.get("version") != RECORD_VERSION:
            raise ConfigError(f"{source}: not an int8 calibration record of version {RECORD_VERSION}")
        known = {"format", "version", "fingerprint", "source", "images", "input_size", "scheme"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown keys {', '.join(unknown)}")
        try:
            return cls(fingerprint=str(data["fingerprint"]), source=str(data["source"]), images=int(data["images"]),
                       input_size=(int(data["input_size"][0]), int(data["input_size"][1])),
                       scheme=str(data.get("scheme", DEFAULT_SCHEME)))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ConfigError(f"{source}: malformed int8 calibration record ({exc})") from None
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None

    @property
    def tag(self) -> str:
        """Names what was made from this calibration (compiled graphs, search calibration caches); "-w7"
        where the weights take 7 bits (``reduced_weight_range``), so such graphs are never mixed up."""
        return f"{self.scheme}-{self.fingerprint[:12]}" + ("-w7" if reduced_weight_range() else "")


def images_fingerprint(images: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(images, dtype=np.float16).tobytes()).hexdigest()


def int8_folder(store_folder: Path) -> Path:
    return Path(store_folder) / INT8_FOLDER


def load_calibration(store_folder: Path) -> Int8Calibration | None:
    """The calibration stored for a graph store's network and size, or None."""
    path = int8_folder(store_folder) / RECORD
    if not path.is_file() or not (int8_folder(store_folder) / IMAGES).is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read the int8 calibration ({exc})") from None
    return Int8Calibration.from_json(data, str(path))


def missing_calibration_error(input_size: tuple[int, int]) -> ConfigError:
    h, w = input_size
    return ConfigError(f"precision int8: this model has no int8 calibration at {h}x{w}; make one with "
                       f"'mess quantize [--model DIR] --images IMAGES --input {h}x{w}' (IMAGES: a folder or a "
                       "video like the footage it will run on, not the images it is evaluated on; in the app: "
                       "Runtime > Calibrate int8)")


def save_calibration(store_folder: Path, images: np.ndarray, source: str,
                     scheme: str = DEFAULT_SCHEME) -> Int8Calibration:
    """Store ``images`` (N, 3, H, W, normalised float) as the calibration set, replacing any earlier
    one and the int8 graphs made from it (all or nothing: built beside the store, then renamed)."""
    images = np.ascontiguousarray(images, dtype=np.float16)
    if images.ndim != 4 or images.shape[0] == 0 or images.shape[1] != 3:
        raise ConfigError(f"calibration images must be N x 3 x H x W with N >= 1, got shape {images.shape}")
    record = Int8Calibration(fingerprint=images_fingerprint(images), source=source, images=int(images.shape[0]),
                             input_size=(int(images.shape[2]), int(images.shape[3])), scheme=scheme)
    store_folder = Path(store_folder)
    target = int8_folder(store_folder)
    with _LOCK:
        try:
            store_folder.mkdir(parents=True, exist_ok=True)
            building = Path(tempfile.mkdtemp(dir=store_folder, prefix=".int8.", suffix=".part"))
        except OSError as exc:
            raise ConfigError(f"{store_folder}: cannot write the int8 calibration ({exc.strerror or exc})") from None
        try:
            np.savez_compressed(building / IMAGES, images=images)
            (building / RECORD).write_text(json.dumps(record.to_json(), indent=2))
            old = None
            if target.exists():
                old = store_folder / f".int8.{os.getpid()}.old"
                shutil.rmtree(old, ignore_errors=True)
                os.replace(target, old)
            try:
                os.replace(building, target)
            except OSError:
                if old is not None and not target.exists():
                    os.replace(old, target)        # the previous calibration stays as it was
                raise
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except OSError as exc:
            raise ConfigError(f"{target}: cannot write the int8 calibration ({exc.strerror or exc})") from None
        finally:
            shutil.rmtree(building, ignore_errors=True)
    return record


def load_images(store_folder: Path) -> np.ndarray:
    path = int8_folder(store_folder) / IMAGES
    try:
        with np.load(path, allow_pickle=False) as data:
            return data["images"].astype(np.float32)
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ConfigError(f"{path}: cannot read the int8 calibration images ({exc}); run 'mess quantize' "
                          "again") from None


class PieceInputs:
    """The inputs each piece sees on the calibration images, computed once by the float network."""

    def __init__(self, net: MultiExitNet, images: np.ndarray) -> None:
        self.net = net
        self.images = images
        self._features: list[list[np.ndarray]] | None = None  # per image: each segment's output
        self._taps: list[dict[str, np.ndarray]] | None = None

    def _compute(self) -> None:
        features, taps = [], []
        with torch.no_grad():
            for image in self.images:
                x = torch.from_numpy(np.ascontiguousarray(image[None]))
                outs, made = [], {}
                for k in range(len(self.net.segments)):
                    x = self.net.run_segments(x, k, k, taps=made)
                    outs.append(x.numpy())
                features.append(outs)
                taps.append({name: t.numpy() for name, t in made.items()})
        self._features, self._taps = features, taps

    def of(self, key: PieceKey) -> list[list[np.ndarray]]:
        """One list of input arrays per calibration image, in the piece's input order."""
        if self._features is None:
            self._compute()
        if key.kind == "segments":
            if key.start == 0:
                return [[np.ascontiguousarray(image[None])] for image in self.images]
            return [[f[key.start - 1]] for f in self._features]
        segment = self.net.exit_segment(key.exit_id)
        names = head_taps(self.net, key.exit_id)
        return [[f[segment], *[t[name] for name in names]] for f, t in zip(self._features, self._taps)]


def quantize_graph(fp32_path: Path, out_path: Path, input_names: list[str], samples: Iterable[list[np.ndarray]],
                   scheme: str = DEFAULT_SCHEME) -> Path:
    """Write the int8 (QDQ) form of the ONNX graph at ``fp32_path`` to ``out_path``, atomically,
    with activation ranges from ``samples`` (one list of input arrays per calibration image),
    activations quantised as ``scheme`` (SCHEMES) says."""
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._items = iter(samples)

        def get_next(self):
            item = next(self._items, None)
            return None if item is None else dict(zip(input_names, item))

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=out_path.parent, prefix=".quantize.", suffix=".part"))
    try:
        tmp = scratch / out_path.name
        root = logging.getLogger()
        with _LOCK:
            level = root.level
            root.setLevel(logging.ERROR)  # it advises pre-processing on the root logger, for every graph
        try:
            chosen = SCHEMES[scheme]
            quantize_static(str(fp32_path), str(tmp), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8 if chosen.activations == "uint8" else QuantType.QInt8,
                            weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax,
                            reduce_range=reduced_weight_range(),
                            extra_options={"ActivationSymmetric": chosen.symmetric, "WeightSymmetric": True})
        except OSError:
            raise
        except Exception as exc:  # noqa: BLE001 - the quantiser's own errors, as one line naming the graph
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"{fp32_path}: cannot quantise the graph to int8 ({first})") from None
        finally:
            with _LOCK:
                root.setLevel(level)
        os.replace(tmp, out_path)
    except OSError as exc:
        raise ConfigError(f"{out_path}: cannot write the int8 graph ({exc.strerror or exc})") from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return out_path


class Int8Graphs:
    """int8 graphs of a graph store's pieces, made on first use from its stored calibration."""

    def __init__(self, store) -> None:
        self.store = store
        calibration = load_calibration(store.folder)
        if calibration is None or tuple(calibration.input_size) != tuple(store.input_size):
            raise missing_calibration_error(store.input_size)
        self.calibration = calibration
        self.folder = int8_folder(store.folder) / calibration.tag   # graphs of this calibration only
        self._inputs: PieceInputs | None = None
        self.quantized = 0  # graphs this object had to quantise

    def path(self, key: PieceKey, check: Callable[[], None] | None = None) -> Path:
        path = self.folder / f"{key.name}.onnx"
        if path.is_file():
            return path
        with _LOCK:
            if not path.is_file():
                if load_calibration(self.store.folder) != self.calibration:
                    raise ConfigError(f"{int8_folder(self.store.folder)}: the int8 calibration was replaced while "
                                      "this ran ('mess quantize'); start again")
                fp32 = self.store.onnx(key)
                if self._inputs is None:
                    self._inputs = PieceInputs(self.store.net, load_images(self.store.folder))
                if check is not None:
                    check()
                names = io_names(self.store.net, key)[0]
                quantize_graph(fp32, path, input_names=names, samples=self._inputs.of(key),
                               scheme=self.calibration.scheme)
                self.quantized += 1
        return path


def calibration_images(source: str | Path, net: MultiExitNet, input_size: tuple[int, int] | None,
                       count: int = DEFAULT_IMAGES) -> np.ndarray:
    """``count`` images (or video frames) evenly spaced over ``source``, resized and normalised as the
    runtime does: N x 3 x H x W float32."""
    from core.data.footage import open_unlabelled_calibration_set

    if count < 1:
        raise ConfigError(f"--count {count}: must be at least 1")
    dataset = open_unlabelled_calibration_set(source, net, input_size, limit=count)
    if len(dataset) == 0:
        raise ConfigError(f"{source}: no images found")
    images = [dataset[i]["image"].numpy() for i in range(len(dataset))]
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        raise ConfigError(f"{source}: images of several sizes; give --input HxW")
    return np.stack(images).astype(np.float32)



def quantize_job(net: MultiExitNet, source: str | Path, *, input_size: tuple[int, int],
                 count: int = DEFAULT_IMAGES, scheme: str = DEFAULT_SCHEME, cancel=None):
    """Job: store ``count`` images of ``source`` as the int8 calibration of ``net`` at ``input_size``
    and make the int8 graphs of the full network (other pieces are made on first use).
    Returns (Int8Calibration, the graph store folder). A "stored" progress event follows the writing of
    the calibration at once, before any cancel is honoured: from then on the new calibration is kept
    (even when the job is cancelled or fails), and a process that keeps latency tables forgets its int8
    ones at ``input_size`` (``CostCache.forget``, as the app does): they timed the graphs it replaces."""
    from core.deploy.graph_store import GraphStore
    from core.jobs import CancelToken, Progress

    cancel = cancel or CancelToken()
    yield Progress("calibrate", 0, 0, message=f"reading {count} calibration images from {source}")
    if scheme not in SCHEMES:
        raise ConfigError(f"unknown int8 scheme '{scheme}' (known: {', '.join(SCHEMES)})")
    images = calibration_images(source, net, input_size, count=count)
    store = GraphStore(net, input_size)
    record = save_calibration(store.folder, images, str(source), scheme=scheme)
    yield Progress("stored", 0, 0, message=f"calibration of {record.images} images stored")
    graphs = Int8Graphs(store)
    keys = [PieceKey.segments(0, net.exit_segment(FINAL_EXIT)), PieceKey.head(FINAL_EXIT)]
    for i, key in enumerate(keys):
        cancel.check()
        yield Progress("quantize", i, len(keys), message=f"quantising {key.name}")
        graphs.path(key, check=cancel.check)
    yield Progress("quantize", len(keys), len(keys), message="int8 graphs of the full network made")
    return record, store.folder

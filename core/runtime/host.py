"""Host code shared by every execution backend: the exit policy and the cascade's routing.

This module needs numpy and OpenCV only (no torch, no other part of ``core``): the
backends (torch, ONNX Runtime, OpenVINO) run the network's pieces, and this code
decides, image by image, where each one leaves. ``mess export`` copies this very
file beside the standalone ``run.py`` it writes, so an exported network routes its
frames with the same code that the search calibrated and ``mess run`` runs.

The policy (method section 4): an exit's logits are upsampled (bilinear, half-pixel
centres, as torch's ``align_corners=False``) to the *policy resolution* (a quarter of
the input size in each direction by default), turned into a per-pixel confidence
(top-1 probability or 1 - normalised entropy) quantised to 8 bits; pixels on
(dilated) label edges take the median confidence of a window of about 2 x the exit's
output stride. The result is a 256-bin histogram per image, from which the image
confidence at any pixel threshold is read off exactly: what the search stores. The
runtime needs one threshold per exit and computes the same fraction directly
(``confident_fraction``: a count of the pixels reaching it, no median filter).
"""

from __future__ import annotations

import ctypes
import time

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Iterator, Protocol, Sequence

import cv2
import numpy as np

LEVELS = 256
MEASURES = ("top1", "entropy")
MEDIAN_CHEAPER_UP_TO = 3   # windows up to this: OpenCV's median costs less than the box count (/4: 0.10 vs 0.13 ms)
BIT_CODED_CLASSES = 24     # argmax_classes codes up to this many classes as bits of a float32 (24-bit mantissa)


# --- the policy ------------------------------------------------------------------------------

def planar_input(rgb: np.ndarray, scale: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """An HxWx3 uint8 frame -> the 1x3xHxW float32 C-contiguous input of a graph: ``x * scale + offset``
    per channel (``scale`` = 1 / (255 std), ``offset`` = -mean / std, float32), the same two float32
    operations as core.data.transforms.Normalize, so the values are equal; written plane by plane,
    which saves the HWC float copy and the transpose to NCHW (measured 2.2 against 0.7 ms at 480x360)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expects an HxWx3 uint8 RGB frame, got shape {rgb.shape} of {rgb.dtype}")
    h, w, _ = rgb.shape
    out = np.empty((1, 3, h, w), np.float32)
    for c in range(3):
        plane = out[0, c]
        np.multiply(rgb[:, :, c], np.float32(scale[c]), out=plane, dtype=np.float32)
        plane += np.float32(offset[c])
    return out


def policy_size(input_hw: Sequence[int], scale: float) -> tuple[int, int]:
    return max(1, round(input_hw[0] * scale)), max(1, round(input_hw[1] * scale))


def median_window(stride: int, scale: float) -> int:
    """Odd window of about 2 x output stride input pixels, at policy resolution."""
    return max(3, int(2 * stride * scale)) | 1


@lru_cache(maxsize=64)
def _corners(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per output index: the two source indices and the weight of the second (as interpolation_matrix)."""
    scale = n_in / n_out
    source = np.maximum((np.arange(n_out, dtype=np.float64) + 0.5) * scale - 0.5, 0.0)
    low = np.minimum(np.floor(source).astype(np.int64), n_in - 1)
    high = np.minimum(low + 1, n_in - 1)
    return low, high, (source - low).astype(np.float32)


@lru_cache(maxsize=64)
def interpolation_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) float32 weights of 1-D linear resampling with half-pixel centres (no antialiasing)."""
    low, high, weight_high = _corners(n_in, n_out)
    matrix = np.zeros((n_out, n_in), dtype=np.float32)
    rows = np.arange(n_out)
    np.add.at(matrix, (rows, low), 1.0 - weight_high)
    np.add.at(matrix, (rows, high), weight_high)
    matrix.setflags(write=False)
    return matrix


def resize_bilinear(logits: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """(B, C, h, w) -> (B, C, H, W) float32, separable bilinear resampling (half-pixel centres, edge
    pixels replicated), along the rows first, then along the columns.

    Upsampling (the policy's case) is OpenCV's linear resize, one pass per axis over every class at
    once: the (C h) x w planes widened to W (the height kept: a pure horizontal pass), then, as
    h x (C W), heightened to H. Single-channel images, so x86 OpenCV builds take the IPP path with
    exact weights: the values equal the matrix form's to float rounding (about 3e-6 for logits of
    standard deviation 8), and only rows of W floats are moved between the passes (moving single
    floats to a pixels x classes layout and back cost more than the matrix products saved). Alone,
    on a warm heap: 0.089 against 0.223 ms for 11 x 45 x 60 -> 90 x 120 (/8), 0.062 against 0.094 ms
    for 11 x 23 x 30 (/16). (Builds without IPP round OpenCV's weights to multiples of 2 ** -15:
    about 3e-5 at /16, as far as torch's own bilinear.) The search and the runtime both call this,
    so they see the same values. Downsampling (which the policy does not do) takes the two matrix
    products."""
    logits = np.asarray(logits, dtype=np.float32)
    h, w = logits.shape[-2:]
    height, width = int(size[0]), int(size[1])
    if (h, w) == (height, width):
        return logits
    if logits.ndim == 4 and height >= h and width >= w:
        batch, classes = logits.shape[:2]
        out = np.empty((batch, classes, height, width), dtype=np.float32)
        for b in range(batch):
            planes = np.ascontiguousarray(logits[b]).reshape(classes * h, w)
            wide = cv2.resize(planes, (width, classes * h), interpolation=cv2.INTER_LINEAR)
            by_row = np.ascontiguousarray(wide.reshape(classes, h, width).transpose(1, 0, 2))
            tall = cv2.resize(by_row.reshape(h, classes * width), (classes * width, height),
                              interpolation=cv2.INTER_LINEAR)
            out[b] = tall.reshape(height, classes, width).transpose(1, 0, 2)
        return out
    rows, cols = interpolation_matrix(h, height), interpolation_matrix(w, width)
    return np.matmul(rows, np.matmul(logits, cols.T))


def argmax_classes(values: np.ndarray, axis: int = 1, top: np.ndarray | None = None) -> np.ndarray:
    """argmax along a short ``axis`` (the classes), first index on ties, int32 (``top``: the max, if known).

    numpy's argmax along a non-last or short axis is slow (measured 0.56 ms for 11 x 90 x 120);
    a max, one comparison with it and a bit code of the classes that reach it (up to 24 classes;
    a comparison per class beyond) is several times faster with the same result. Along the last
    axis of a C-contiguous array (pixels x classes) numpy's own is the fast one: the comparisons
    there are strided (measured 0.9 against 5.7 ms for 50 000 x 11). (Logits hold no NaN: where one
    would, the two ways may name different classes.)
    """
    if top is None and axis in (-1, values.ndim - 1) and values.flags.c_contiguous:
        return np.argmax(values, axis=-1).astype(np.int32, copy=False)
    values = np.moveaxis(values, axis, 0)
    top = values.max(axis=0) if top is None else top
    classes = values.shape[0]
    if classes <= BIT_CODED_CLASSES:
        # Each pixel's classes that reach the max as one number, class c as bit (classes - 1 - c): its
        # highest bit (frexp's exponent, exact) is the first of them. One comparison and one small
        # matrix product instead of a masked write per class (measured 0.065 against 0.107 ms, 11 x 90 x 120).
        reached = (values == top).reshape(classes, -1).astype(np.float32)
        codes = _class_bits(classes) @ reached
        out = (classes - np.frexp(codes)[1]).astype(np.int32)
        out[codes == 0] = 0                      # no class equals the max (a NaN): the loop's answer too
        return out.reshape(top.shape)
    out = np.zeros(top.shape, dtype=np.int32)
    for c in range(classes - 1, -1, -1):
        out[values[c] == top] = c
    return out


@lru_cache(maxsize=8)
def _class_bits(classes: int) -> np.ndarray:
    """2 ** (classes - 1 - c) for each class c, float32 (exact sums up to 2 ** 24)."""
    bits = 2.0 ** np.arange(classes - 1, -1, -1, dtype=np.float32)
    bits.setflags(write=False)
    return bits


def class_labels(logits: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """argmax over classes of the logits bilinearly upsampled to ``size``: (B, C, h, w) -> (B, H, W).

    Where the four source pixels of an output pixel share one argmax, any convex
    combination of them has that argmax too, so the label is read off the low
    resolution; only pixels near a label change (a few percent) take the argmax of
    the upsampled logits. uint8 up to 256 classes.
    """
    logits = np.asarray(logits, dtype=np.float32)
    batch, classes, h, w = logits.shape
    height, width = int(size[0]), int(size[1])
    dtype = np.uint8 if classes <= 256 else np.int32
    y0 = _corners(h, height)[0]
    x0 = _corners(w, width)[0]
    out = np.empty((batch, height, width), dtype=dtype)
    low_labels = argmax_classes(logits, axis=1).astype(dtype)
    for b in range(batch):
        low = low_labels[b]
        mixed_low = np.zeros((h, w), dtype=bool)
        if w > 1:
            mixed_low[:, :-1] |= low[:, 1:] != low[:, :-1]
        if h > 1:
            mixed_low[:-1, :] |= low[1:, :] != low[:-1, :]
        if h > 1 and w > 1:
            mixed_low[:-1, :-1] |= (low[1:, 1:] != low[:-1, :-1]) | (low[1:, :-1] != low[:-1, 1:])
        labels = np.ascontiguousarray(low[y0][:, x0])  # advanced indexing may not give C order
        mixed = np.flatnonzero(mixed_low[y0][:, x0])
        if mixed.size:
            # One class plane at a time (OpenCV's fast single-channel path; measured 1.2 against 1.7 ms
            # for 11 classes at 480x360 as one 11-channel image), only the mixed pixels kept.
            values = np.empty((classes, mixed.size), dtype=np.float32)
            for c in range(classes):
                plane = cv2.resize(np.ascontiguousarray(logits[b, c]), (width, height),
                                   interpolation=cv2.INTER_LINEAR)
                values[c] = plane.reshape(-1).take(mixed)
            labels.reshape(-1)[mixed] = argmax_classes(values, axis=0)
        out[b] = labels
    return out


def pixel_confidence(logits: np.ndarray, measure: str = "top1", *,
                     overwrite: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(B, C, H, W) logits -> (confidence (B, H, W) float32 in 0..1, labels (B, H, W) int32).
    ``overwrite``: the logits are a temporary of the caller's and may be written over (one large
    allocation fewer)."""
    if measure not in MEASURES:
        raise ValueError(f"unknown confidence measure {measure!r} (known: {', '.join(MEASURES)})")
    top = logits.max(axis=1)
    labels = argmax_classes(logits, axis=1, top=top)
    if overwrite and measure == "top1" and logits.dtype == np.float32 and logits.flags.c_contiguous:
        exp = np.subtract(logits, top[:, None], out=logits)
    else:
        exp = np.subtract(logits, top[:, None], order="C")   # C order: the view below is no copy
    flat = exp.reshape(-1, exp.shape[-1])   # a 2-D view: OpenCV's exp, in place (0.017 against numpy's
    cv2.exp(flat, flat)                     # 0.042 ms for 11 x 90 x 120; values within 2.4e-7 of numpy's)
    total = exp.sum(axis=1)
    if measure == "top1":
        np.divide(1.0, total, out=total)
        return total.astype(np.float32, copy=False), labels
    probs = exp / total[:, None]
    entropy = -(probs * np.log(np.maximum(probs, 1e-12))).sum(axis=1)
    return (1.0 - entropy / np.float32(np.log(logits.shape[1]))).astype(np.float32), labels


def quantise(th_pix: float | np.ndarray) -> np.ndarray:
    """Pixel threshold -> 8-bit confidence level (same rounding as the confidences)."""
    return np.clip(np.rint(np.asarray(th_pix, dtype=np.float64) * (LEVELS - 1)), 0, LEVELS - 1).astype(np.int64)


def label_edges(labels: np.ndarray) -> np.ndarray:
    """Pixels whose label differs from a 4-neighbour's."""
    edges = np.zeros(labels.shape, dtype=bool)
    horizontal = labels[:, :-1] != labels[:, 1:]
    vertical = labels[:-1, :] != labels[1:, :]
    edges[:, :-1] |= horizontal
    edges[:, 1:] |= horizontal
    edges[:-1, :] |= vertical
    edges[1:, :] |= vertical
    return edges


def dilated_edges(labels: np.ndarray, dilation: int) -> np.ndarray | None:
    """The label edges grown by ``dilation`` pixels (bool), or None where the labels have no edge."""
    edges = label_edges(labels).astype(np.uint8)
    if not edges.any():
        return None
    if dilation > 0:
        size = 2 * dilation + 1
        edges = cv2.dilate(edges, np.ones((size, size), np.uint8))
    return edges.astype(bool)


def smooth_edges(confidence: np.ndarray, labels: np.ndarray, *, window: int, dilation: int) -> np.ndarray:
    """Replace the (uint8) confidence on (dilated) label edges by the neighbourhood median."""
    edges = dilated_edges(labels, dilation)
    if edges is None:
        return confidence
    return np.where(edges, cv2.medianBlur(confidence, window), confidence)


def _raw_confidence(logits: np.ndarray, input_hw: Sequence[int], *, scale: float,
                    measure: str) -> tuple[np.ndarray, np.ndarray]:
    """8-bit pixel confidence before smoothing and the labels, (B, h, w) each, at policy resolution."""
    up = resize_bilinear(logits, policy_size(input_hw, scale))
    # ``up`` is the policy's own temporary unless it shares the caller's memory (logits already at the
    # policy's size, or a float32 torch tensor or memmap that np.asarray only wraps).
    confidence, labels = pixel_confidence(up, measure, overwrite=not np.may_share_memory(up, np.asarray(logits)))
    # round(255 c) in one OpenCV call (c in [0, 1]: the float32 product rounded half to even, as np.rint).
    levels = cv2.convertScaleAbs(confidence.reshape(-1, confidence.shape[-1]), alpha=float(LEVELS - 1))
    return levels.reshape(confidence.shape), labels


def confidence_maps(logits: np.ndarray, input_hw: Sequence[int], stride: int, *, measure: str = "top1",
                    edge_smoothing: bool = True, scale: float = 0.25, edge_dilation: int = 2) -> np.ndarray:
    """8-bit (smoothed) pixel confidence maps, (B, h, w) uint8 at policy resolution."""
    conf_u8, labels = _raw_confidence(logits, input_hw, scale=scale, measure=measure)
    if not edge_smoothing:
        return conf_u8
    window = median_window(stride, scale)
    return np.stack([smooth_edges(c, label, window=window, dilation=edge_dilation)
                     for c, label in zip(conf_u8, labels)])


def reached_edge_smoothed(reached: np.ndarray, labels: np.ndarray, *, window: int, dilation: int) -> np.ndarray:
    """Where the edge-smoothed confidence reaches a level, from where the raw one does (``reached``, bool):
    ``smooth_edges(...) >= level`` without the median filter. The median of a window's ``n`` values
    reaches a level exactly when more than ``n // 2`` of them do, so on (dilated) label edges the
    answer is a box count of ``reached`` over the median's window, with the median filter's border
    (replicated edge pixels)."""
    edges = dilated_edges(labels, dilation)
    if edges is None:
        return reached
    # uint16 counts saturate at 65535 (not wrap), so the test stays exact up to a 361 x 361 window; the
    # largest median_window gives (stride 32 at scale 1) is 65 x 65.
    counts = cv2.boxFilter(reached.view(np.uint8), cv2.CV_16U, (window, window), normalize=False,
                           borderType=cv2.BORDER_REPLICATE)
    return np.where(edges, counts > (window * window) // 2, reached)


def confident_fraction(logits: np.ndarray, input_hw: Sequence[int], stride: int, *, th_pix: float,
                       measure: str = "top1", edge_smoothing: bool = True, scale: float = 0.25,
                       edge_dilation: int = 2) -> np.ndarray:
    """(B,) float64 image confidence at one pixel threshold: the fraction of pixels whose smoothed 8-bit
    confidence reaches ``th_pix``. Equal to ``image_confidence(confidence_histograms(...), th_pix)``,
    which the search reads at every threshold, and cheaper (no median filter: see
    ``reached_edge_smoothed``): what the runtime pays at each exit."""
    if not 0.0 <= th_pix <= 1.0:                           # NaN too
        raise ValueError(f"th_pix must be in [0, 1], got {th_pix!r}")
    conf_u8, labels = _raw_confidence(logits, input_hw, scale=scale, measure=measure)
    level = int(quantise(th_pix))
    window = median_window(stride, scale)
    out = np.empty(len(conf_u8), dtype=np.float64)
    for b, (confidence, label) in enumerate(zip(conf_u8, labels)):
        if not edge_smoothing:
            reached = confidence >= level
        elif window <= MEDIAN_CHEAPER_UP_TO:
            reached = smooth_edges(confidence, label, window=window, dilation=edge_dilation) >= level
        else:
            reached = reached_edge_smoothed(confidence >= level, label, window=window, dilation=edge_dilation)
        out[b] = np.count_nonzero(reached) / reached.size
    return out


def confidence_histograms(logits: np.ndarray, input_hw: Sequence[int], stride: int, **policy: Any) -> np.ndarray:
    """(B, 256) int64 histograms of the smoothed 8-bit pixel confidence (``policy``: see confidence_maps)."""
    maps = confidence_maps(logits, input_hw, stride, **policy)
    return np.stack([np.bincount(m.ravel(), minlength=LEVELS) for m in maps]).astype(np.int64)


def image_confidence(histograms: np.ndarray, th_pix: float | np.ndarray) -> np.ndarray:
    """Fraction of pixels whose confidence reaches ``th_pix``, from (..., 256) histograms.

    With an array of thresholds, the result gains a trailing axis (one value per threshold).
    """
    tail = np.cumsum(histograms[..., ::-1], axis=-1)[..., ::-1]
    total = histograms.sum(axis=-1)
    levels = quantise(th_pix)
    return tail[..., levels] / (total[..., None] if levels.ndim else total)


# --- the cascade -----------------------------------------------------------------------------

class Pieces(Protocol):
    """What a backend runs: backbone segments, exit heads and the labels of an exit.

    ``state`` is the backend's own (features of the images still active, taps, the
    last segment run); logits come back as numpy arrays for the policy, with a
    backend handle for the labels.
    """

    def start(self, images: Any) -> Any: ...

    def advance(self, state: Any, stop: int) -> Any: ...

    def head(self, state: Any, exit_id: str) -> tuple[Any, np.ndarray]: ...

    def labels(self, handle: Any, exit_id: str, rows: np.ndarray | None) -> Any: ...

    def keep(self, state: Any, rows: np.ndarray) -> Any: ...


@dataclass(frozen=True)
class Step:
    """One kept exit of a configuration: where it sits and its thresholds."""

    exit_id: str
    segment: int
    stride: int
    th_pix: float
    th_img: float


@dataclass
class CascadeOutput:
    """Per image: the kept exit it left at (index), its image confidence there; labels by exit."""

    exit_index: list[int]
    confidence: list[float]
    parts: list[tuple[np.ndarray, Any]] = field(default_factory=list)  # (image rows, labels of those rows)


def run_cascade(pieces: Pieces, steps: Sequence[Step], images: Any, batch: int, input_hw: Sequence[int],
                policy: dict) -> CascadeOutput:
    """Run a batch through the kept exits with real early exit; each image leaves on its own.

    At each kept exit its head runs on the images still active, the policy decides per
    image, and the images that leave are dropped: the segments after an image's exit
    never run for it, and once every image has left the rest of the network does not run.
    The last kept exit always answers. ``policy``: confidence_maps' keyword settings.
    """
    out = CascadeOutput([-1] * batch, [0.0] * batch)
    active = np.arange(batch)
    state = pieces.start(images)
    for k, step in enumerate(steps):
        state = pieces.advance(state, step.segment)
        handle, low = pieces.head(state, step.exit_id)
        frac = confident_fraction(low, input_hw, step.stride, th_pix=step.th_pix, **policy)
        last = k == len(steps) - 1
        leave = np.ones(len(frac), dtype=bool) if last else frac >= step.th_img
        if not leave.any():
            continue
        everyone = bool(leave.all())
        rows = active if everyone else active[leave]
        out.parts.append((rows, pieces.labels(handle, step.exit_id, None if everyone else np.flatnonzero(leave))))
        for row, value in zip(rows.tolist(), frac[leave].tolist()):
            out.exit_index[row] = k
            out.confidence[row] = float(value)
        if everyone:
            break
        stay = np.flatnonzero(~leave)
        active = active[stay]
        state = pieces.keep(state, stay)
    return out


@dataclass
class Refinement:
    """One kept exit's answer for every image of the batch, as soon as that exit has run."""

    step: int                     # index of the kept exit
    labels: Any                   # the backend's labels of every image (B, H, W)
    confidence: np.ndarray        # image confidence of each image at this exit
    confident: np.ndarray         # whether each image would leave here under the thresholds (True at the last)


def run_anytime(pieces: Pieces, steps: Sequence[Step], images: Any, input_hw: Sequence[int],
                policy: dict) -> Iterator[Refinement]:
    """Anytime inference: a generator of every kept exit's labels in depth order, each as soon as it is
    ready; every image goes on to the last kept exit unless the consumer stops (closes the generator),
    for example when the next frame has arrived. The policy's decision is reported, not acted on."""
    state = pieces.start(images)
    for k, step in enumerate(steps):
        state = pieces.advance(state, step.segment)
        handle, low = pieces.head(state, step.exit_id)
        frac = confident_fraction(low, input_hw, step.stride, th_pix=step.th_pix, **policy)
        confident = np.ones(len(frac), dtype=bool) if k == len(steps) - 1 else frac >= step.th_img
        yield Refinement(k, pieces.labels(handle, step.exit_id, None), np.asarray(frac, dtype=np.float64),
                         confident=confident)


def run_deadline(pieces: Pieces, steps: Sequence[Step], images: Any, batch: int, *, step_ms: Sequence[float],
                 output_ms: float, deadline_ms: float, clock: Callable[[], float] = time.perf_counter) -> CascadeOutput:
    """Run a batch to the deepest kept exit that can finish within ``deadline_ms`` of now.

    ``step_ms[k]`` is the predicted cost of going on from kept exit k-1 to kept exit k (the
    segments between them and exit k's head), ``output_ms`` that of the labels. Before each
    step after the first, the time spent so far plus the step's and the labels' predicted cost
    is checked against the deadline; when it does not fit, the last exit computed answers. So the
    first kept exit always answers, and a frame overruns the deadline only by what the latency
    table mispredicted (at most about one step). No exit policy runs (confidence is reported 0)."""
    start = clock()
    out = CascadeOutput([0] * batch, [0.0] * batch)
    state = pieces.start(images)
    handle = None
    for k, step in enumerate(steps):
        if k and (clock() - start) * 1000.0 + step_ms[k] + output_ms > deadline_ms:
            break
        state = pieces.advance(state, step.segment)
        handle, _ = pieces.head(state, step.exit_id)
        out.exit_index = [k] * batch
    out.parts.append((np.arange(batch), pieces.labels(handle, steps[out.exit_index[0]].exit_id, None)))
    return out


# --- pieces as graphs on numpy arrays --------------------------------------------------------

Graph = Callable[[Sequence[np.ndarray]], list]
OPENVINO_PRECISION_HINT = {"fp32": "f32", "bf16": "bf16", "int8": "f32"}  # int8: QDQ graphs, the rest f32


def open_graph(runtime: str, path: str, *, precision: str = "fp32", threads: int = 1,
               cache_dir: str | None = None) -> Graph:
    """A callable running the graph file at ``path`` (ONNX, or OpenVINO IR) on a list of input arrays.

    ``runtime`` 'onnxruntime': CPU provider, all graph optimisations, threads that do not spin
    (they would compete with decoding, the policy and the UI). 'openvino': CPU plugin, latency
    hint, one stream, ``precision`` as its inference-precision hint, compiled blobs cached in
    ``cache_dir``; it reads the input arrays in place and returns its own output buffers (no copy
    either way: about 0.5 ms a frame for the full network), so an output is valid until the same
    graph runs again (and after a run with a larger batch, which reallocates the buffer, it is
    freed memory): a caller that keeps one longer copies it. The callable says so
    (``shares_outputs``).
    """
    if runtime == "onnxruntime":
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        names = [i.name for i in session.get_inputs()]
        return lambda arrays: session.run(None, dict(zip(names, arrays)))
    if runtime != "openvino":
        raise ValueError(f"unknown graph runtime {runtime!r} (known: onnxruntime, openvino)")
    import openvino as ov

    saved = SIGNAL_STACK.get()
    core = ov.Core()
    if cache_dir:
        core.set_property({"CACHE_DIR": str(cache_dir)})
    compiled = core.compile_model(str(path), "CPU", {
        "PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1, "INFERENCE_NUM_THREADS": threads,
        "INFERENCE_PRECISION_HINT": OPENVINO_PRECISION_HINT[precision],
    })
    request = compiled.create_infer_request()
    SIGNAL_STACK.put_back(saved)
    outputs = list(compiled.outputs)

    def run(arrays: Sequence[np.ndarray]) -> list:
        saved = SIGNAL_STACK.get()
        result = request.infer(list(arrays), share_inputs=True, share_outputs=True)
        SIGNAL_STACK.put_back(saved)
        return [result[o] for o in outputs]

    run.shares_outputs = True
    return run


class _SignalStack:
    """The calling thread's alternate signal stack (sigaltstack), read and put back around OpenVINO calls.

    OpenVINO's CPU plugin gives the thread that compiles a graph or runs an inference request an
    alternate signal stack of its own and frees it with the graph, leaving the thread's signal stack pointing at freed
    memory: the next signal delivered to that thread (Ctrl-C, SIGTERM) then crashes the process
    (SIGSEGV) before any handler runs. Putting the previous stack back after each call avoids that; a
    signal then runs on the thread's own stack (or Python's faulthandler stack), as on every other thread.
    Where the C library has no sigaltstack (Windows) this does nothing.
    """

    class _Stack(ctypes.Structure):
        _fields_ = [("ss_sp", ctypes.c_void_p), ("ss_flags", ctypes.c_int), ("ss_size", ctypes.c_size_t)]

    def __init__(self) -> None:
        try:
            self._sigaltstack = ctypes.CDLL(None).sigaltstack
        except (OSError, AttributeError, TypeError):
            self._sigaltstack = None

    def get(self):
        if self._sigaltstack is None:
            return None
        stack = self._Stack()
        return stack if self._sigaltstack(None, ctypes.byref(stack)) == 0 else None

    def put_back(self, saved) -> None:
        if saved is None:
            return
        now = self.get()
        if now is not None and (now.ss_sp, now.ss_size, now.ss_flags) != (saved.ss_sp, saved.ss_size, saved.ss_flags):
            self._sigaltstack(ctypes.byref(saved), None)


SIGNAL_STACK = _SignalStack()


class ArrayPieces:
    """The Pieces protocol over graphs that take and give numpy arrays (ONNX Runtime, OpenVINO).

    A subclass says where the graphs come from (``segments_graph``, ``head_graph``). A
    segments graph returns the features, then the taps it made in sorted name order; a
    head graph takes the features, then the taps it reads (``head_taps``), and returns
    logits. ``tap_segments`` maps each tap to the segment that makes it.
    """

    def __init__(self, input_size: Sequence[int], tap_segments: dict[str, int],
                 head_taps: dict[str, list[str]]) -> None:
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.tap_segments = dict(tap_segments)
        self.head_taps = {k: list(v) for k, v in head_taps.items()}

    def segments_graph(self, start: int, stop: int) -> Graph:
        raise NotImplementedError

    def head_graph(self, exit_id: str) -> Graph:
        raise NotImplementedError

    def taps_made(self, start: int, stop: int) -> list[str]:
        return sorted(name for name, segment in self.tap_segments.items() if start <= segment <= stop)

    def start(self, images: np.ndarray) -> dict:
        array = np.ascontiguousarray(images, dtype=np.float32)
        if tuple(array.shape[-2:]) != self.input_size:
            raise ValueError(f"the graphs were built for {self.input_size[0]}x{self.input_size[1]} "
                             f"images (HxW), got {array.shape[-2]}x{array.shape[-1]}")
        return {"x": array, "taps": {}, "done": -1}

    def advance(self, state: dict, stop: int) -> dict:
        start = state["done"] + 1
        if stop >= start:
            outputs = self.segments_graph(start, stop)([state["x"]])
            state["x"] = outputs[0]
            state["taps"].update(zip(self.taps_made(start, stop), outputs[1:]))
            state["done"] = stop
        return state

    def head(self, state: dict, exit_id: str) -> tuple[np.ndarray, np.ndarray]:
        """The exit's logits, an array of the caller's own (a graph's output buffer is reused by its next
        run; the features and taps in ``state`` are only read before the graphs that made them run again)."""
        inputs = [state["x"], *[state["taps"][name] for name in self.head_taps.get(exit_id, [])]]
        graph = self.head_graph(exit_id)
        low = graph(inputs)[0]
        if getattr(graph, "shares_outputs", False):
            low = np.array(low, dtype=np.float32, order="C", copy=True)
        else:
            low = np.ascontiguousarray(low, dtype=np.float32)
        return low, low

    def labels(self, handle: np.ndarray, exit_id: str, rows: np.ndarray | None) -> np.ndarray:
        low = handle if rows is None else np.ascontiguousarray(handle[rows])
        return class_labels(low, self.input_size)

    def keep(self, state: dict, rows: np.ndarray) -> dict:
        state["x"] = np.ascontiguousarray(state["x"][rows])
        state["taps"] = {name: np.ascontiguousarray(t[rows]) for name, t in state["taps"].items()}
        return state


def chain_graphs(parts: Sequence[tuple[Graph, Sequence[str]]]) -> Graph:
    """One segments graph from consecutive ones, each given with the names of the taps it makes:
    features flow through; the taps of all come out in sorted name order."""
    names = sorted(name for _, tap_names in parts for name in tap_names)

    def run(arrays: Sequence[np.ndarray]) -> list:
        x, taps = arrays[0], {}
        for graph, tap_names in parts:
            outputs = graph([x])
            x = outputs[0]
            taps.update(zip(tap_names, outputs[1:]))
        return [x, *[taps[name] for name in names]]

    return run

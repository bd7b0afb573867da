"""The calibration cache (method section 6).

One pass of every exit over a calibration split caches, per image and per
exit: the confusion matrix of its prediction against the labels (or, for
unlabelled footage, against the final exit's own prediction: a label-free
calibration, whose "mIoU" is then the agreement with the full network), and the
256-bin histogram of its smoothed 8-bit pixel confidence for each confidence
measure (top-1 and entropy). The image confidence at any pixel threshold,
hence the exit any configuration takes, follows from the histograms exactly
as the runtime computes it; a configuration's mIoU follows from summing the
confusion matrices of the exits taken. Saved in the model folder's calibration/
directory, one slot per calibration set (core.search.calibration_store), tagged
with the weights' SHA-256, the input size and the dataset, so a stale cache is
detected and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from core.data.datasets import SegmentationDataset
from core.errors import DataError, ModelFormatError
from core.jobs import ETA, CancelToken, Job, Progress
from core.models.heads import class_labels, upsample_logits
from core.models.network import MultiExitNet
from core.models.spec import FINAL_EXIT
from core.runtime.policy import CONFIDENCE_MEASURES, PolicySettings, confidence_histograms

CACHE_VERSION = 3   # 2: the policy upsamples with OpenCV; 3: OpenCV's exp in the softmax (each: confidences
                    # may differ at a level's rounding edge)
LABELS = "labels"            # reference of a labelled calibration: the dataset's masks
FINAL_EXIT_REFERENCE = "final exit"   # label-free: the final exit's prediction stands in for labels


@dataclass
class CalibrationCache:
    """Per image n and exit e: confusion[n, e] (C x C) and histograms[measure][n, e] (256)."""

    exit_ids: list[str]
    confusion: np.ndarray                 # (N, E, C, C) int64
    histograms: dict[str, np.ndarray]     # measure -> (N, E, 256) int32
    image_paths: list[str]
    input_size: tuple[int, int]
    policy: PolicySettings                # edge smoothing, scale, dilation (the measure is per histogram)
    weights_sha256: str
    reference: str = LABELS               # what the confusion matrices compare against
    precision: str = "fp32"               # the network's numeric precision when calibrated (int8: its int8 graphs)

    @property
    def images(self) -> int:
        return self.confusion.shape[0]

    def tag(self) -> dict:
        return {
            "version": CACHE_VERSION,
            "weights_sha256": self.weights_sha256,
            "exit_ids": self.exit_ids,
            "input_size": list(self.input_size),
            "policy": self.policy.to_json(),
            "dataset": dataset_fingerprint(self.image_paths),
            "reference": self.reference,
            **({"precision": self.precision} if self.precision != "fp32" else {}),
        }

    def save(self, path: Path) -> None:
        import io

        from core.fileio import write_bytes_atomic

        buffer = io.BytesIO()
        arrays = {"confusion": self.confusion, **{f"hist_{m}": h for m, h in self.histograms.items()}}
        np.savez_compressed(buffer, tag=np.array(json.dumps(self.tag())),
                            image_paths=np.array(self.image_paths), **arrays)
        write_bytes_atomic(Path(path), buffer.getvalue())

    @classmethod
    def load(cls, path: Path) -> "CalibrationCache":
        try:
            with np.load(path, allow_pickle=False) as data:
                tag = json.loads(str(data["tag"]))
                histograms = {k[len("hist_"):]: data[k] for k in data.files if k.startswith("hist_")}
                cache = cls(tag["exit_ids"], data["confusion"], histograms,
                            image_paths=[str(p) for p in data["image_paths"]], input_size=tuple(tag["input_size"]),
                            policy=PolicySettings.from_json(tag["policy"]), weights_sha256=tag["weights_sha256"],
                            reference=tag.get("reference", LABELS), precision=tag.get("precision", "fp32"))
        except (OSError, ValueError, KeyError) as exc:
            raise ModelFormatError(f"{path}: not a readable calibration cache ({exc})") from None
        if tag.get("version") != CACHE_VERSION:
            raise ModelFormatError(f"{path}: calibration cache version {tag.get('version')!r} is not {CACHE_VERSION} "
                                   "(written by another version of mess)")
        return cache

    def is_valid_for(self, weights_sha256: str, exit_ids: list[str], input_size: tuple[int, int],
                     policy: PolicySettings, image_paths: list[str], reference: str = LABELS,
                     precision: str = "fp32") -> bool:
        """False when the model, its exits, the size, the policy, the images, the reference or the
        precision changed."""
        base = replace(policy, confidence="top1").to_json()
        return (self.weights_sha256 == weights_sha256 and self.exit_ids == list(exit_ids)
                and self.reference == reference and self.precision == precision
                and tuple(self.input_size) == tuple(input_size)
                and replace(self.policy, confidence="top1").to_json() == base
                and dataset_fingerprint(self.image_paths) == dataset_fingerprint(image_paths))


def dataset_fingerprint(paths: list[str]) -> str:
    return hashlib.sha256("\n".join(paths).encode()).hexdigest()[:16]


def _float_final_labels(net: MultiExitNet, image: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    """The float network's final-exit labels of ``image``, flattened: what a label-free calibration of
    another precision (int8) is scored against."""
    taps: dict = {}
    features = net.run_segments(image, 0, net.exit_segment(FINAL_EXIT), taps=taps)
    return class_labels(upsample_logits(net.exit_logits(FINAL_EXIT, features, taps), size)).cpu().numpy().ravel()


def calibrate(net: MultiExitNet, dataset: SegmentationDataset, device: torch.device, *, weights_sha256: str,
              policy: PolicySettings | None = None, cancel: CancelToken | None = None,
              reference: str = LABELS, pieces=None) -> Job[CalibrationCache]:
    """Job: run every exit once over ``dataset`` (one image at a time) and build the cache.

    ``reference`` FINAL_EXIT_REFERENCE scores every exit against the final exit's prediction
    (unlabelled images: their masks, if any, are not used). ``pieces`` (a backend's RunnablePieces)
    run the network when given, so that the cache predicts what that backend and precision give
    (int8); else the float network in torch."""
    if reference not in (LABELS, FINAL_EXIT_REFERENCE):
        raise ValueError(f"unknown calibration reference {reference!r}")
    policy = replace(policy or PolicySettings(), confidence="top1")
    cancel = cancel or CancelToken()
    if len(dataset) == 0:
        raise DataError("the calibration split is empty")
    net = net.to(device).eval()
    classes = net.spec.classes
    exit_ids = net.exit_ids()
    n, e, c = len(dataset), len(exit_ids), classes.num_classes
    confusion = np.zeros((n, e, c, c), dtype=np.int64)
    histograms = {m: np.zeros((n, e, 256), dtype=np.int32) for m in CONFIDENCE_MEASURES}
    by_segment: dict[int, list[int]] = {}
    for j, exit_id in enumerate(exit_ids):
        by_segment.setdefault(net.exit_segment(exit_id), []).append(j)
    paths, size = [], None
    eta = ETA()
    with torch.no_grad():
        for i in range(n):
            cancel.check()
            item = dataset[i]
            if reference == LABELS and "mask" not in item:
                raise DataError(f"{item['path']}: calibration needs labels (no mask found)")
            image = item["image"].unsqueeze(0).to(device)
            image_size = (int(image.shape[-2]), int(image.shape[-1]))
            if size is None:
                size = image_size
            elif image_size != size:
                raise DataError(f"{item['path']}: is {image_size[1]}x{image_size[0]}, the others "
                                f"{size[1]}x{size[0]}; give --input HxW to resize all")
            paths.append(str(item["path"]))
            predictions: list[np.ndarray] = [np.empty(0)] * e
            x, taps, done = image, {}, -1
            state = pieces.start(image) if pieces is not None else None
            for segment in sorted(by_segment):
                if pieces is not None:
                    state = pieces.advance(state, segment)
                else:
                    x = net.run_segments(x, done + 1, segment, taps=taps)
                done = segment
                for j in by_segment[segment]:
                    exit_id = exit_ids[j]
                    if pieces is not None:
                        low = torch.as_tensor(np.asarray(pieces.head(state, exit_id)[1]))
                    else:
                        low = net.exit_logits(exit_id, x, taps)
                    predictions[j] = class_labels(upsample_logits(low, size)).cpu().numpy().ravel()
                    stride = net.exit_stride(exit_id)
                    for measure in CONFIDENCE_MEASURES:
                        settings = replace(policy, confidence=measure)
                        histograms[measure][i, j] = confidence_histograms(low, size, stride, settings=settings)[0]
            if reference == LABELS:
                target = item["mask"].numpy().ravel()
            elif pieces is not None:   # agreement with the float network, so that its own loss shows
                target = _float_final_labels(net, image, size)
            else:
                target = predictions[-1]
            valid = (target != classes.ignore_index) & (target < c)
            for j, pred in enumerate(predictions):
                confusion[i, j] = np.bincount(c * target[valid] + pred[valid], minlength=c * c).reshape(c, c)
            yield Progress("calibrate", i + 1, n, message=f"image {i + 1}/{n}",
                           metrics={"eta_s": eta.seconds_left(i + 1, n)})
    return CalibrationCache(exit_ids, confusion, histograms, image_paths=paths, input_size=size, policy=policy,
                            weights_sha256=weights_sha256, reference=reference,
                            precision=pieces.precision_id if pieces is not None else "fp32")

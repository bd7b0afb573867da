"""Every exit over a labelled dataset: per-class IoU, agreement with the final exit, the worst images.

``dataset_inspection`` is a job (core.jobs): one pass of every exit per image (through a backend's
pieces, as `mess eval` does), a confusion matrix per exit for the per-class IoU heat map, the pixel
agreement of each exit with the final exit, and per image each exit's mIoU, so that the images where
the early exits fail most (the largest mean mIoU drop of the early exits against the final exit on
that image) can be listed and inspected one by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from core.data import eval_transform
from core.data.datasets import SegmentationDataset, open_dataset
from core.data.metrics import ConfusionMatrix
from core.errors import DataError
from core.inspect.frame import depth_order
from core.jobs import ETA, CancelToken, Job, Progress
from core.models.network import MultiExitNet
from core.models.spec import FINAL_EXIT
from core.runtime.backends.base import RunnablePieces
from core.runtime.early_exit import all_exit_labels

DEFAULT_WORST = 10


@dataclass(frozen=True)
class ImageRecord:
    """One image: every exit's mIoU on it and the early exits' mean drop against the final exit."""

    index: int
    image: str
    mask: str
    miou: dict[str, float]          # exit -> mIoU (%) on this image
    drop: float                     # mean over the early exits of (final mIoU - exit mIoU), pp
    worst_exit: str                 # the early exit with the largest drop

    def to_json(self) -> dict:
        return {"index": self.index, "image": self.image, "mask": self.mask, "drop_pp": round(self.drop, 3),
                "worst_exit": self.worst_exit, "miou": {e: round(v, 3) for e, v in self.miou.items()}}


@dataclass(frozen=True)
class DatasetInspection:
    """Per exit (depth order) and class: IoU (%), NaN where a class never appears or is predicted."""

    exits: list[str]
    classes: list[str]
    iou: np.ndarray                 # (exits, classes)
    miou: dict[str, float]
    agreement: dict[str, float]     # exit -> % of labelled pixels with the final exit's class
    images: list[ImageRecord]

    def worst(self, count: int = DEFAULT_WORST) -> list[ImageRecord]:
        """The images where the early exits lose most against the final exit, worst first."""
        return sorted(self.images, key=lambda r: (-r.drop, r.index))[:count]

    def to_json(self, worst: int = DEFAULT_WORST) -> dict:
        return {
            "images": len(self.images),
            "classes": list(self.classes),
            "exits": [{"exit": e, "miou": round(self.miou[e], 3), "agreement_with_final": round(self.agreement[e], 3),
                       "iou_per_class": {c: (None if np.isnan(v) else round(float(v), 3))
                                         for c, v in zip(self.classes, self.iou[i])}}
                      for i, e in enumerate(self.exits)],
            "worst_images": [r.to_json() for r in self.worst(worst)],
        }


def dataset_inspection(net: MultiExitNet, dataset: SegmentationDataset, pieces: RunnablePieces, *,
                       cancel: CancelToken | None = None) -> Job[DatasetInspection]:
    """Job: every exit of ``net`` over the labelled ``dataset`` (already at the model's input size)."""
    if len(dataset) == 0:
        raise DataError(f"dataset '{dataset.name}': no images to inspect")
    cancel = cancel or CancelToken()
    classes = net.spec.classes
    exits = depth_order(net)
    matrices = {e: ConfusionMatrix(classes.num_classes, classes.ignore_index) for e in exits}
    agree = {e: 0 for e in exits}
    counted = 0
    records: list[ImageRecord] = []
    device = next(net.parameters()).device
    eta = ETA()
    total = len(dataset)
    with torch.no_grad():
        for index in range(total):
            cancel.check()
            item = dataset[index]
            if "mask" not in item:
                raise DataError(f"{item['path']}: inspecting a dataset needs labels (no mask found)")
            mask = item["mask"].unsqueeze(0)
            image = item["image"].unsqueeze(0).to(device)
            labels = {e: v.cpu() for e, v in all_exit_labels(net, pieces, image).items()}
            valid = (mask >= 0) & (mask < classes.num_classes)
            counted += int(valid.sum())
            final = labels[FINAL_EXIT]
            per_exit = {}
            for exit_id in exits:
                on_image = ConfusionMatrix(classes.num_classes, classes.ignore_index)
                on_image.update(labels[exit_id], mask)              # counted once: the image's, then the split's
                matrices[exit_id].merge(on_image)
                agree[exit_id] += int(((labels[exit_id] == final) & valid).sum())
                per_exit[exit_id] = 100.0 * on_image.mean_iou()
            drops = {e: per_exit[FINAL_EXIT] - v for e, v in per_exit.items() if e != FINAL_EXIT}
            worst_exit = max(drops, key=drops.get) if drops else FINAL_EXIT
            sample = dataset.samples[index]
            records.append(ImageRecord(index, str(sample.image), str(sample.mask), miou=per_exit,
                                       drop=float(np.mean(list(drops.values()))) if drops else 0.0,
                                       worst_exit=worst_exit))
            yield Progress("inspect-dataset", index + 1, total, message=f"every exit, image {index + 1}/{total}",
                           metrics={"eta_s": eta.seconds_left(index + 1, total)})
    iou = np.stack([100.0 * matrices[e].iou_per_class() for e in exits])
    return DatasetInspection(
        exits=exits, classes=list(classes.names), iou=iou,
        miou={e: 100.0 * matrices[e].mean_iou() for e in exits},
        agreement={e: 100.0 * agree[e] / max(1, counted) for e in exits},
        images=records,
    )


def open_inspection_set(net: MultiExitNet, data: str | Path, split: str = "val", *, sequences: tuple[str, ...] = (),
                        limit: int | None = None, size: tuple[int, int] | None = None) -> SegmentationDataset:
    """The labelled split to inspect, at ``size`` (default: the model's input size); the first ``limit``."""
    spec = net.spec
    size = size or (tuple(spec.input_size) if spec.input_size else None)
    dataset = open_dataset(data, split, transform=eval_transform(spec.mean, spec.std, size), sequences=sequences)
    if limit:
        dataset.samples = dataset.samples[:limit]
    if not len(dataset):
        raise DataError(f"{data}: no images in split {split!r}"
                        + (f" of sequences {', '.join(sequences)}" if sequences else ""))
    return dataset


def dataset_job(net: MultiExitNet, data: str | Path, split: str = "val", *, limit: int | None = None,
                backend: str | None = None, precision: str = "fp32",
                cancel: CancelToken | None = None) -> Job[DatasetInspection]:
    """Job (the Inspect page's): open the split, build the backend's pieces, inspect every exit."""
    from core.runtime.backends import make_pieces

    yield Progress("inspect-dataset", 0, 1, message=f"opening {data} ({split})")
    dataset = open_inspection_set(net, data, split, limit=limit)
    first = dataset[0]["image"]
    yield Progress("inspect-dataset", 0, len(dataset), message=f"preparing the {backend or 'default'} backend")
    pieces = make_pieces(net, (int(first.shape[-2]), int(first.shape[-1])), backend, precision=precision)
    return (yield from dataset_inspection(net, dataset, pieces, cancel=cancel))

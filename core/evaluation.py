"""Evaluating a MESS network: every exit from one pass, and a configuration with real early exit.

``evaluate`` is a job (see core.jobs). Per exit it reports mIoU, per-class
IoU, pixel accuracy, GFLOPs and median latency (backbone prefix + head). With
an ExitConfig it also runs the configured network image by image with real
early exit and reports its mIoU, mean latency (measured), mean GFLOPs and the
fraction of images that left at each exit, with the full network measured in
the same loop, interleaved (``full_mean_latency_ms``, ``speedup``, ``full_miou``;
``full_precision`` says at which precision it ran: by default the configuration's own, or another
one's pieces, e.g. fp32's beside an int8 configuration searched against fp32's full network).
``evaluate_config`` is that loop alone (the Search page's measured speed-up runs it too).
Keys follow the 'Machine-readable outputs' contract of docs/architecture.md.
"""

from __future__ import annotations

import statistics
import time
from typing import Iterator

import numpy as np
import torch

from core.data.datasets import SegmentationDataset
from core.data.metrics import ConfusionMatrix
from core.data.sequences import sequence_counts, sequence_of
from core.errors import ConfigError, DataError
from core.device import synchronize
from core.jobs import ETA, CancelToken, Job, Progress
from core.models.heads import class_labels
from core.models.network import MultiExitNet
from core.models.spec import FINAL_EXIT
from core.profile.costs import CostTable, cascade_cost, measure_costs
from core.runtime.config import ExitConfig
from core.runtime.backends.base import RunnablePieces
from core.runtime.backends.torch_backend import TorchPieces
from core.runtime.early_exit import EarlyExitRunner, all_exit_labels
from core.search.calibration import FINAL_EXIT_REFERENCE, LABELS


def _items(dataset: SegmentationDataset,
           labelled: bool = True) -> Iterator[tuple[torch.Tensor, torch.Tensor | None, str]]:
    """(image, mask, path) of every item, batched by one; without ``labelled`` the mask is None."""
    for i in range(len(dataset)):
        item = dataset[i]
        if not labelled:
            yield item["image"].unsqueeze(0), None, str(item["path"])
            continue
        if "mask" not in item:
            raise DataError(f"{item['path']}: evaluation needs labels (no mask found)")
        yield item["image"].unsqueeze(0), item["mask"].unsqueeze(0), str(item["path"])


def _exit_record(cm: ConfusionMatrix, class_names: list[str]) -> dict:
    ious = cm.iou_per_class()
    return {
        "miou": 100.0 * cm.mean_iou(),
        "pixel_accuracy": 100.0 * cm.pixel_accuracy(),
        "iou_per_class": {n: (None if np.isnan(v) else 100.0 * float(v)) for n, v in zip(class_names, ious)},
    }


def exit_confusions(net: MultiExitNet, dataset: SegmentationDataset, device: torch.device,
                    cancel: CancelToken | None = None, total: int | None = None,
                    eta: ETA | None = None, pieces: RunnablePieces | None = None) -> Job[dict[str, ConfusionMatrix]]:
    """Job: a confusion matrix for every exit of ``net`` over ``dataset``, one forward pass per image
    (through ``pieces``, a backend's, when given; else the training forward)."""
    by_sequence = yield from sequence_confusions(net, dataset, device, cancel=cancel, total=total, eta=eta,
                                                 pieces=pieces)
    return merge_sequences(by_sequence, net)


def merge_sequences(by_sequence: dict[str, dict[str, ConfusionMatrix]],
                    net: MultiExitNet) -> dict[str, ConfusionMatrix]:
    """Every exit's confusion matrix over all sequences together."""
    classes = net.spec.classes
    merged = {e: ConfusionMatrix(classes.num_classes, classes.ignore_index) for e in net.exit_ids()}
    for matrices in by_sequence.values():
        for exit_id, cm in matrices.items():
            merged[exit_id].merge(cm)
    return merged


def sequence_confusions(net: MultiExitNet, dataset: SegmentationDataset, device: torch.device,
                        cancel: CancelToken | None = None, total: int | None = None,
                        eta: ETA | None = None,
                        pieces: RunnablePieces | None = None) -> Job[dict[str, dict[str, ConfusionMatrix]]]:
    """Job: per sequence (core.data.sequences; "" for frames of none), a confusion matrix per exit."""
    cancel = cancel or CancelToken()
    eta = eta or ETA()
    total = total or len(dataset)
    classes = net.spec.classes
    by_sequence: dict[str, dict[str, ConfusionMatrix]] = {}
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            for i, (image, mask, path) in enumerate(_items(dataset)):
                cancel.check()
                if pieces is None:
                    labels = {e: class_labels(logits) for e, logits in net(image.to(device)).items()}
                else:
                    labels = all_exit_labels(net, pieces, image.to(device))
                matrices = by_sequence.setdefault(sequence_of(path), {
                    e: ConfusionMatrix(classes.num_classes, classes.ignore_index) for e in net.exit_ids()})
                for exit_id, exit_labels in labels.items():
                    matrices[exit_id].update(exit_labels.cpu(), mask)
                yield Progress("exits", i + 1, total, message=f"all exits, image {i + 1}/{len(dataset)}",
                               metrics={"eta_s": eta.seconds_left(i + 1, total)})
    finally:
        net.train(was_training)
    return dict(sorted(by_sequence.items()))


def _sequence_records(by_sequence: dict[str, dict[str, ConfusionMatrix]],
                      dataset: SegmentationDataset) -> dict[str, dict]:
    """Per sequence: its images and every exit's mIoU ("final" included)."""
    counts = sequence_counts(dataset.samples)
    return {name: {"images": counts.get(name, 0), "miou": {e: 100.0 * cm.mean_iou() for e, cm in matrices.items()}}
            for name, matrices in by_sequence.items()}


def evaluate(net: MultiExitNet, dataset: SegmentationDataset, device: torch.device,
             config: ExitConfig | None = None, costs: CostTable | None = None,
             cancel: CancelToken | None = None, model_name: str = "", split: str = "",
             pieces: RunnablePieces | None = None, full_pieces: RunnablePieces | None = None) -> Job[dict]:
    """Job: evaluate every exit (and ``config`` if given) on ``dataset``; returns the report dict.

    ``pieces`` (a backend's, for the dataset's image size) run the network; default torch.
    ``full_pieces`` run the full network ``config`` is compared with (default ``pieces``)."""
    cancel = cancel or CancelToken()
    net = net.to(device).eval()
    if len(dataset) == 0:
        raise DataError("the dataset to evaluate is empty")
    classes = net.spec.classes
    first_image = dataset[0]["image"]
    size = (int(first_image.shape[-2]), int(first_image.shape[-1]))
    if costs is None:
        yield Progress("profile", 0, 1, message=f"measuring cost of every segment and head at {size[0]}x{size[1]}")
        costs = measure_costs(net, size, device, pieces=pieces)
    total = len(dataset) * (2 if config else 1)
    eta = ETA()
    by_sequence = yield from sequence_confusions(net, dataset, device, cancel=cancel, total=total, eta=eta,
                                                 pieces=pieces)
    matrices = merge_sequences(by_sequence, net)
    exit_ids = net.exit_ids()

    exits = []
    for exit_id in exit_ids:
        record = {"exit": exit_id, **_exit_record(matrices[exit_id], classes.names)}
        record["gflops"] = cascade_cost(net, costs, [exit_id], taken=0, key="gflops")
        record["latency_ms"] = cascade_cost(net, costs, [exit_id], taken=0, key="latency_ms")
        record["stride"] = net.exit_stride(exit_id)
        exits.append(record)
    final = next(r for r in exits if r["exit"] == FINAL_EXIT)
    report = {
        "model": model_name,
        "split": split,
        "images": len(dataset),
        "input_size": list(size),
        "device": str(device),
        "device_description": costs.device_description,
        "backend": (pieces or TorchPieces(net)).backend,
        "precision": (pieces or TorchPieces(net)).precision,
        "exits": [r for r in exits if r["exit"] != FINAL_EXIT],
        "final": {k: final[k] for k in ("miou", "gflops", "latency_ms", "pixel_accuracy", "iou_per_class")},
        "sequences": _sequence_records(by_sequence, dataset),
        "config": None,
    }
    if config is not None:
        report["config"] = yield from evaluate_config(net, dataset, device, config=config, costs=costs, cancel=cancel,
                                                      eta=eta, done=len(dataset), total=total, pieces=pieces,
                                                      full_pieces=full_pieces)
    return report


def evaluate_config(net: MultiExitNet, dataset: SegmentationDataset, device: torch.device, config: ExitConfig,
                    costs: CostTable, cancel: CancelToken | None = None, eta: ETA | None = None, done: int = 0,
                    total: int | None = None, pieces: RunnablePieces | None = None,
                    reference: str = LABELS, full_pieces: RunnablePieces | None = None) -> Job[dict]:
    """Job: the configuration with real early exit and, interleaved with it on every image (the order
    alternating), the full network through the same kind of runner: both mean latencies come from the
    same loop, so their ratio is the configuration's speed-up on these images (`mess eval --config`, and
    the Search page's measured speed-up, core.search.measure, which compares at the searched precision,
    the one its prediction is of).

    ``reference`` LABELS scores both against the dataset's masks; FINAL_EXIT_REFERENCE (unlabelled
    images) scores them against the full network's labels of the same run: ``miou`` is then the
    configuration's agreement with the full network. ``full_pieces`` (default ``pieces``) run the full
    network: e.g. fp32's beside an int8 configuration searched against fp32's full network.
    Progress counts from ``done`` to ``total``."""
    if reference not in (LABELS, FINAL_EXIT_REFERENCE):
        raise ConfigError(f"unknown reference '{reference}' ({LABELS} or {FINAL_EXIT_REFERENCE})")
    if len(dataset) == 0:
        raise DataError("the dataset to evaluate is empty")
    cancel = cancel or CancelToken()
    eta = eta or ETA()
    total = total or done + len(dataset)
    runner = EarlyExitRunner(net, config, pieces, costs=costs)   # a deadline decides from the table
    full_pieces = full_pieces or pieces
    full = EarlyExitRunner(net, ExitConfig.static(FINAL_EXIT), full_pieces)
    classes = net.spec.classes
    cm = ConfusionMatrix(classes.num_classes, classes.ignore_index)
    full_cm = ConfusionMatrix(classes.num_classes, classes.ignore_index)
    latencies, full_latencies, gflops, taken, sequences = [], [], [], [], []
    sequence_cms: dict[str, ConfusionMatrix] = {}

    def timed(run, image):
        synchronize(device)
        start = time.perf_counter()
        result = run(image)
        synchronize(device)
        return result, (time.perf_counter() - start) * 1000.0

    with torch.no_grad():
        # One warm-up image each, so the first timing is not a cold start.
        first = dataset[0]["image"].unsqueeze(0).to(device)
        runner.run(first)
        full.run(first)
        for i, (image, mask, path) in enumerate(_items(dataset, labelled=reference == LABELS)):
            cancel.check()
            image = image.to(device)
            if i % 2:
                full_result, full_ms = timed(full.run, image)
            result, ms = timed(runner.run, image)
            if not i % 2:
                full_result, full_ms = timed(full.run, image)
            latencies.append(ms)
            full_latencies.append(full_ms)
            labels, full_labels = result.labels.cpu(), full_result.labels.cpu()
            truth = mask if mask is not None else full_labels
            cm.update(labels, truth)
            full_cm.update(full_labels, truth)
            sequence_cms.setdefault(sequence_of(path),
                                    ConfusionMatrix(classes.num_classes, classes.ignore_index)).update(labels, truth)
            sequences.append(sequence_of(path))
            taken.append(result.exit_ids[0])
            gflops.append(cascade_cost(net, costs, config.exits, taken=result.exit_index[0], key="gflops"))
            yield Progress("config", done + i + 1, total, message=f"configuration, image {i + 1}/{len(dataset)}",
                           metrics={"eta_s": eta.seconds_left(done + i + 1, total)})
    n = len(taken)
    mean, full_mean = statistics.fmean(latencies), statistics.fmean(full_latencies)
    return {
        **config.to_json(),
        "images": n,
        "reference": reference,
        "miou": 100.0 * cm.mean_iou(),
        "full_miou": 100.0 * full_cm.mean_iou(),
        "pixel_accuracy": 100.0 * cm.pixel_accuracy(),
        "mean_latency_ms": mean,
        "median_latency_ms": statistics.median(latencies),
        "full_mean_latency_ms": full_mean,
        "full_median_latency_ms": statistics.median(full_latencies),
        "full_precision": full.pieces.precision,
        "speedup": full_mean / mean if mean > 0 else 0.0,
        "mean_gflops": statistics.fmean(gflops),
        "exit_fractions": {e: taken.count(e) / n for e in config.exits},
        "per_image_exit": taken,
        "sequences": {name: _config_sequence_record(name, sequence_cms[name], sequences, latencies=latencies,
                                                    full_latencies=full_latencies, taken=taken, config=config)
                      for name in sorted(sequence_cms)},
    }


def _config_sequence_record(name: str, cm: ConfusionMatrix, sequences: list[str], latencies: list[float],
                            full_latencies: list[float], taken: list[str], config: ExitConfig) -> dict:
    """The configuration on one sequence's images: mIoU, both mean latencies, speed-up, exits taken."""
    rows = [i for i, s in enumerate(sequences) if s == name]
    mean = statistics.fmean(latencies[i] for i in rows)
    full_mean = statistics.fmean(full_latencies[i] for i in rows)
    return {
        "images": len(rows),
        "miou": 100.0 * cm.mean_iou(),
        "mean_latency_ms": mean,
        "full_mean_latency_ms": full_mean,
        "speedup": full_mean / mean if mean > 0 else 0.0,
        "exit_fractions": {e: sum(taken[i] == e for i in rows) / len(rows) for e in config.exits},
    }

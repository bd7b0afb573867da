"""One exit-configuration search, step by step, as `mess search` and the GUI's Search page both run it.

The steps: open the calibration split (optionally a quick, evenly spaced subset),
check an imported latency table against the model and the calibration size,
build or reuse the calibration cache in the model folder (one slot per calibration set),
search, choose a configuration for a budget, and write the configuration document (the
ExitConfig plus what the search predicts for it) and the Pareto front. Sharing
these functions is what keeps the command line and the GUI from drifting apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from core.data import eval_transform, open_dataset
from core.data.footage import evenly_spaced, open_unlabelled_calibration_set
from core.data.video_frames import VideoFrames
from core.data.datasets import SegmentationDataset
from core.errors import ConfigError, DataError, MessError
from core.jobs import CancelToken, Job, Progress
from core.models.io import ModelInfo
from core.models.network import MultiExitNet
from core.profile.costs import CostTable
from core.runtime.config_file import ConfigOrigin
from core.search.calibration import FINAL_EXIT_REFERENCE, LABELS, CalibrationCache, calibrate
from core.search.calibration_store import CalibrationStore
from core.search.budget import Budget
from core.search.holdout import fold_results, held_out_choice, make_folds
from core.search.search import SearchResult

def folds_for(net: MultiExitNet, cache: CalibrationCache, table: CostTable, space,
              blocks: int = 3) -> tuple[object | None, str | None]:
    """The per-fold searches of a held-out check (core.search.holdout.FoldResults), or None and a
    note when the calibration images are too few to fold."""
    try:
        folds = make_folds(cache.image_paths, blocks)
    except ConfigError as exc:
        return None, f"no held-out check: {exc}; chosen on all images pooled"
    return fold_results(net, cache, table, space=space, folds=folds), None


def choose(result: SearchResult, budget: Budget, folds=None, rule: str = "robust"):
    """The configuration for ``budget`` (index) and its held-out report (None without folds)."""
    if folds is None:
        return budget.choose(result), None
    return held_out_choice(folds, result, kind=budget.kind, value=budget.value, cost=budget.cost, rule=rule)


def choose_checked(net: MultiExitNet, cache: CalibrationCache, table: CostTable, space, result: SearchResult,
                   budget: Budget, *, rule: str = "robust", blocks: int = 3, check: bool = True):
    """The configuration for ``budget`` and, with ``check``, its held-out check (core.search.holdout):
    (index, HeldOutReport or None, a note when the check could not run: too few images)."""
    if not check:
        return budget.choose(result), None, None
    folds, note = folds_for(net, cache, table, space=space, blocks=blocks)
    chosen, report = choose(result, budget, folds, rule=rule)
    return chosen, report, note


def open_calibration_set(data: str | Path, split: str, net: MultiExitNet, layout: str | None = None,
                         input_size: tuple[int, int] | None = None, limit: int | None = None) -> SegmentationDataset:
    """The labelled split that calibrates ``net``: checked for its class count and emptiness."""
    transform = eval_transform(net.spec.mean, net.spec.std, input_size)
    dataset = open_dataset(data, split, layout=layout, transform=transform)
    if dataset.classes.num_classes != net.spec.num_classes:
        raise DataError(f"{data}: the dataset has {dataset.classes.num_classes} classes, "
                        f"the model {net.spec.num_classes}")
    if len(dataset) == 0:
        raise DataError(f"{data}: the '{split}' split is empty")
    return evenly_spaced(dataset, limit)


def training_frames_note(info: ModelInfo, request: "SearchRequest", dataset) -> str | None:
    """A note when the labelled calibration images are frames the model trained on (by its provenance): the
    search's predictions are then figures on training frames; else None."""
    from core.data.sequences import sequence_counts
    from core.models.summary import trains_on

    if request.unlabelled or not request.data or not isinstance(dataset, SegmentationDataset):
        return None
    if not trains_on(info.provenance or {}, request.split, sequence_counts(dataset.samples), data=str(request.data)):
        return None
    return (f"by its provenance, the model trained on split '{request.split}' of a dataset folder named "
            f"{Path(request.data).resolve().name}: the predicted mIoU and exit fractions are figures on frames it "
            "trained on and may not hold on other footage; calibrate on frames it did not train on, or with "
            "--unlabelled on footage like what it will run on")


def calibration_size(dataset: SegmentationDataset) -> tuple[int, int]:
    """(H, W) of the calibration images as the network sees them (after any resize)."""
    return tuple(int(v) for v in dataset[0]["image"].shape[-2:])


def check_latency_table(table: CostTable, net: MultiExitNet, size: tuple[int, int] | None = None,
                        source: str = "latency table") -> None:
    """Refuse a table measured on another model or, when ``size`` is given, at another input size."""
    table.check_matches(net, source)
    if size is not None and tuple(table.input_size) != tuple(size):
        (h, w), (ch, cw) = table.input_size, size
        raise ConfigError(f"{source}: measured at {w}x{h}, the calibration images are {cw}x{ch}; "
                          f"profile at --input {ch}x{cw}")


def _image_paths(dataset) -> list[str]:
    if isinstance(dataset, VideoFrames):
        return [f"{dataset.path}#{i}" for i in dataset.indices]
    return [str(s.image) for s in dataset.samples]


def calibration_cache(net: MultiExitNet, info: ModelInfo, dataset: SegmentationDataset, device: torch.device,
                      model_dir: str | Path, cancel: CancelToken | None = None,
                      warn: Callable[[str], None] | None = None, reference: str = LABELS,
                      pieces=None) -> Job[CalibrationCache]:
    """Job: the model folder's calibration slot for these images and this reference (labels, or the
    final exit for unlabelled footage) when it is valid for this model, else a fresh calibration,
    saved in that slot for next time (core.search.calibration_store: the few most recent sets are
    kept; a failed save is only a warning). ``pieces`` (a backend's, e.g. int8) run the network
    instead of torch's float forward; their precision has slots of its own."""
    warn = warn or (lambda message: None)
    store = CalibrationStore.of_model(model_dir)
    size = calibration_size(dataset)
    paths = _image_paths(dataset)
    precision = pieces.precision_id if pieces is not None else "fp32"
    cache = store.find(weights_sha256=info.weights_sha256, exit_ids=net.exit_ids(), input_size=size,
                       image_paths=paths, reference=reference, precision=precision, warn=warn)
    if cache is not None:
        return cache
    cache = yield from calibrate(net, dataset, device, weights_sha256=info.weights_sha256, cancel=cancel,
                                 reference=reference, pieces=pieces)
    try:
        store.store(cache)
    except MessError as exc:  # core.fileio.WriteError: a read-only model folder, a full disk
        warn(f"{exc}: the calibration cache will be rebuilt next time")
    return cache


def config_document(result: SearchResult, index: int, table: CostTable, images: int,
                    reference: str = LABELS, held_out=None, origin: ConfigOrigin | None = None) -> dict:
    """What `mess search --out` writes: the ExitConfig, the model it was searched for (``origin``: its
    folder and weights' SHA-256, checked when the file is loaded), its predicted mIoU and cost, the full
    network's for comparison, the latency table's device, the number of calibration images and
    what the mIoU is measured against ("labels", or "final exit" for a label-free calibration)."""
    document = {**result.config(index).to_json(), **(origin.to_json() if origin is not None else {}),
                "predicted": result.summary(index),
                "full_network": result.summary(result.full_index), "latency_table": table.device_description,
                "images": images, "calibration_reference": reference}
    if held_out is not None:               # core.search.holdout.HeldOutReport
        document["held_out"] = held_out.to_json()
    return document


def save_config(path: str | Path, result: SearchResult, index: int, table: CostTable, images: int,
                reference: str = LABELS, held_out=None, origin: ConfigOrigin | None = None) -> None:
    """Write ``config_document`` atomically (ConfigFile.load reads it back)."""
    from core.jsonio import write_json_atomic

    write_json_atomic(Path(path), config_document(result, index, table, images=images, reference=reference,
                                                  held_out=held_out, origin=origin))


def pareto_document(result: SearchResult, cost: str, images: int, reference: str = LABELS) -> dict:
    """What `mess search --pareto` writes: search statistics and the front (cheapest first)."""
    front = [{**result.summary(int(i)), "config": result.config(int(i)).to_json()} for i in result.pareto_front(cost)]
    return {"configs_evaluated": result.count, "search_seconds": result.seconds,
            "configs_per_second": result.count / max(result.seconds, 1e-9), "calibration_images": images,
            "calibration_reference": reference,
            "full_network": result.summary(result.full_index), "front": front}


@dataclass
class SearchRequest:
    """Everything one search needs besides the model: the calibration split and the device's costs.

    With a latency ``table`` the images are resized to the size it was measured at; without one,
    costs are measured on this machine at the images' own size (``input_size`` overrides both)."""

    data: str | Path | None
    split: str = "val"
    limit: int | None = None
    table: CostTable | None = None
    table_source: str = "latency table"
    layout: str | None = None
    input_size: tuple[int, int] | None = None
    max_early: int = 3
    unlabelled: str | Path | None = None   # footage for a label-free calibration, instead of ``data``
    backend: str = "torch"                 # execution backend whose latency is measured (no table given)
    precision: str = "fp32"

    @property
    def reference(self) -> str:
        return FINAL_EXIT_REFERENCE if self.unlabelled else LABELS

    def wanted_size(self) -> tuple[int, int] | None:
        """The size the images are resized to: ``input_size``, else the table's; None: their own size."""
        return self.input_size or (tuple(self.table.input_size) if self.table is not None else None)

    def open(self, net: MultiExitNet, size: tuple[int, int] | None):
        """The calibration images: the labelled split, or the unlabelled footage."""
        if self.unlabelled:
            return open_unlabelled_calibration_set(self.unlabelled, net, size, limit=self.limit)
        if not self.data:
            raise ConfigError("give a labelled dataset (--data) or unlabelled footage (--unlabelled)")
        return open_calibration_set(self.data, self.split, net, layout=self.layout, input_size=size, limit=self.limit)


@dataclass
class SearchOutcome:
    result: SearchResult
    table: CostTable
    images: int
    input_size: tuple[int, int]
    warnings: list[str]
    reference: str = LABELS
    folds: object | None = None          # core.search.holdout.FoldResults: the held-out check's searches
    request: SearchRequest | None = None  # what was searched: core.search.measure reopens its images
    image_paths: tuple[str, ...] = ()     # the calibration images (a video's as "VIDEO#frame")


def search_job(net: MultiExitNet, info: ModelInfo, model_dir: str | Path, request: SearchRequest,
               cancel: CancelToken | None = None) -> Job[SearchOutcome]:
    """Job: calibrate (or reuse the cache), get the costs (the request's table, else measured here,
    once per process), then search every configuration. Runs the network on its own device."""
    from core.profile.cache import COST_CACHE
    from core.search.search import SearchSpace, search

    cancel = cancel or CancelToken()
    device = next(net.parameters()).device
    table = request.table
    if table is not None:
        check_latency_table(table, net, source=request.table_source)
    dataset = request.open(net, request.wanted_size())
    size = calibration_size(dataset)
    if table is not None:
        check_latency_table(table, net, size, source=request.table_source)
    warnings: list[str] = [note for note in [training_frames_note(info, request, dataset)] if note]
    if table is not None:          # an imported table: why its latencies may not be this machine's
        reasons = [*table.warnings(), table.version_note()]
        warnings += [f"{Path(request.table_source).name}: {reason}" for reason in reasons if reason]
    cache = yield from calibration_cache(net, info, dataset, device=device, model_dir=model_dir, cancel=cancel,
                                         warn=warnings.append, reference=request.reference)
    if table is None:
        yield Progress("latency", 0, 0, message="measuring latency on this machine")

        def check(done: int, total: int) -> None:
            cancel.check()

        table = COST_CACHE.measure(net, info.weights_sha256, cache.input_size, device, progress=check,
                                   backend=request.backend, precision=request.precision)
    cancel.check()
    yield Progress("search", 0, 0, message="searching every configuration")
    space = SearchSpace(max_early=request.max_early)
    result = search(net, cache, table, space=space)
    cancel.check()
    yield Progress("search", 0, 0, message="searching each calibration fold (the held-out check)")
    folds, note = folds_for(net, cache, table, space=space)
    if note:
        warnings.append(note)
    return SearchOutcome(result, table, cache.images, input_size=tuple(cache.input_size), warnings=warnings,
                         reference=cache.reference, folds=folds, request=request,
                         image_paths=tuple(cache.image_paths))

"""The chosen configuration's speed-up, measured: it and the full network run interleaved on images the search
did not calibrate on, as `mess eval --config` runs them (core.evaluation.evaluate_config, the same loop).

The images are the searched split's (or footage's) images outside the calibration set: the ones a quick
calibration (an image limit) left out, or a video's other frames, at most MAX_IMAGES, evenly spaced. When the
search calibrated on all of them there are none: the calibration images are measured instead, and
``MeasuredSpeedup.held_out`` says so. The Search page's "Measure speed-up" runs ``measure_chosen``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from core.data.video_frames import VideoFrames, evenly_spaced_indices, frame_count, is_video_file
from core.data import eval_transform
from core.errors import ConfigError
from core.evaluation import evaluate_config
from core.jobs import CancelToken, Job, Progress
from core.models.network import MultiExitNet
from core.profile.costs import CostTable
from core.runtime.config import ExitConfig
from core.search.session import SearchOutcome, SearchRequest, calibration_size, evenly_spaced

MAX_IMAGES = 100      # held-out images measured at most (evenly spaced): a long video has thousands


@dataclass(frozen=True)
class MeasuredSpeedup:
    """One measurement of configuration ``index`` of a search: both networks in one interleaved loop."""

    index: int                  # the configuration's index in the search result
    images: int
    held_out: bool              # the images were not calibrated on (False: the calibration images)
    reference: str              # "labels", or "final exit": miou is agreement with the full network
    mean_latency_ms: float
    full_mean_latency_ms: float
    speedup: float              # full / configuration, both mean latencies of the same loop
    miou: float
    full_miou: float
    exit_fractions: dict[str, float]
    backend: str
    precision: str


def _video_frames_left(path: str, calibration_paths: tuple[str, ...], net: MultiExitNet,
                       size: tuple[int, int], max_images: int) -> VideoFrames | None:
    """The video's frames that are not calibration frames (at most ``max_images``, evenly spaced); None: none."""
    used = {int(p.rsplit("#", 1)[1]) for p in calibration_paths if "#" in p}
    rest = [i for i in range(frame_count(path)) if i not in used]
    if not rest:
        return None
    picks = [rest[j] for j in evenly_spaced_indices(len(rest), max_images)]
    return VideoFrames(path, eval_transform(net.spec.mean, net.spec.std, None), size, picks=picks)


def measurement_set(net: MultiExitNet, request: SearchRequest, calibration_paths: tuple[str, ...], *,
                    size: tuple[int, int], max_images: int = MAX_IMAGES):
    """(the images to measure on, whether they are held out): the request's images the calibration did not
    use, else the calibration images themselves. ``size``: the calibration images' (H, W)."""
    if max_images < 1:
        raise ConfigError(f"image limit must be at least 1, got {max_images}")
    if request.unlabelled and is_video_file(request.unlabelled):
        frames = _video_frames_left(str(request.unlabelled), calibration_paths, net, size=size, max_images=max_images)
        if frames is not None:
            return frames, True
    else:
        everything = replace(request, limit=None).open(net, request.wanted_size())
        used = set(calibration_paths)
        everything.samples = [s for s in everything.samples if str(s.image) not in used]
        if everything.samples:
            return evenly_spaced(everything, max_images), True
    return request.open(net, request.wanted_size()), False


def measure_speedup(net: MultiExitNet, config: ExitConfig, index: int, *, dataset, held_out: bool,
                    costs: CostTable, backend: str, precision: str, reference: str,
                    cancel: CancelToken | None = None) -> Job[MeasuredSpeedup]:
    """Job: ``config`` and the full network interleaved on ``dataset`` through ``backend``'s pieces
    (core.evaluation.evaluate_config); ``costs`` give the GFLOPs (and a deadline configuration's decisions)."""
    from core.runtime.backends import make_pieces

    device = next(net.parameters()).device
    yield Progress("measure", 0, len(dataset), message=f"preparing the {backend} backend")
    pieces = make_pieces(net, calibration_size(dataset), backend, precision=precision)
    was_training = net.training
    net.eval()
    try:
        record = yield from evaluate_config(net, dataset, device, config=config, costs=costs, cancel=cancel,
                                            pieces=pieces, reference=reference)
    finally:
        net.train(was_training)
    return MeasuredSpeedup(index, record["images"], held_out=held_out, reference=reference,
                           mean_latency_ms=record["mean_latency_ms"],
                           full_mean_latency_ms=record["full_mean_latency_ms"], speedup=record["speedup"],
                           miou=record["miou"], full_miou=record["full_miou"],
                           exit_fractions=dict(record["exit_fractions"]), backend=pieces.backend,
                           precision=pieces.precision)


def measure_chosen(net: MultiExitNet, outcome: SearchOutcome, index: int, *, cancel: CancelToken | None = None,
                   max_images: int = MAX_IMAGES) -> Job[MeasuredSpeedup]:
    """Job: configuration ``index`` of ``outcome``'s search, measured against the full network on the search's
    held-out images (``measurement_set``), on the backend and precision the search was asked for."""
    request = outcome.request
    if request is None:
        raise ConfigError("this search does not say which images it calibrated on: search again")
    yield Progress("measure", 0, 0, message="opening the images the search did not calibrate on")
    dataset, held_out = measurement_set(net, request, outcome.image_paths, size=outcome.input_size,
                                        max_images=max_images)
    return (yield from measure_speedup(net, outcome.result.config(index), index, dataset=dataset, held_out=held_out,
                                       costs=outcome.table, backend=request.backend, precision=request.precision,
                                       reference=outcome.reference, cancel=cancel))

"""Executing an ExitConfig with real early exit, on any execution backend.

The backbone runs segment by segment. At each kept exit its head runs on the
images still active, the policy decides per image, and the images that leave
are dropped from the batch: the segments after an image's exit never run for
it, and when every image has left, the rest of the network does not run at
all. The last kept exit always answers. The routing and the policy are
``core.runtime.host``'s, the same for every backend; the backend (torch by
default, or ONNX Runtime / OpenVINO pieces) only runs segments, heads and labels.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch

from core.errors import ConfigError
from core.models.network import MultiExitNet
from core.runtime.backends.base import RunnablePieces
from core.runtime.backends.torch_backend import TorchPieces
from core.models.spec import FINAL_EXIT
from core.runtime.config import ExitConfig
from core.runtime.deadline_scale import DeadlineScale
from core.runtime.host import Step, run_anytime, run_cascade, run_deadline


def _as_tensor(part) -> torch.Tensor:
    return part if isinstance(part, torch.Tensor) else torch.from_numpy(np.asarray(part))


@dataclass
class ExitResult:
    """Per image: the exit it left at, its image confidence there, and its output."""

    exit_index: list[int]
    exit_ids: list[str]
    confidence: list[float]
    labels: torch.Tensor
    logits: torch.Tensor | None = None
    confident: list[bool] | None = None     # anytime mode: whether the thresholds would let it leave here


def config_steps(net: MultiExitNet, config: ExitConfig) -> list[Step]:
    """The host cascade's steps for ``config``, checked against the network."""
    steps = []
    known = set(net.exit_ids())
    for exit_id, th_pix, th_img in zip(config.exits, config.th_pix, config.th_img):
        if exit_id not in known:
            raise ConfigError(f"the configuration keeps exit '{exit_id}', which the model does not have "
                              f"(exits: {', '.join(net.exit_ids())})")
        steps.append(Step(exit_id, net.exit_segment(exit_id), net.exit_stride(exit_id), th_pix=float(th_pix),
                          th_img=float(th_img)))
    for previous, step in zip(steps, steps[1:]):
        if step.segment < previous.segment:
            raise ConfigError(f"exits must be listed shallow to deep: '{step.exit_id}' comes before "
                              f"'{previous.exit_id}' in the network")
    return steps


def deadline_step_costs(net: MultiExitNet, steps: list[Step], costs) -> list[float]:
    """Predicted ms from each kept exit to the next (segments between them and the next head), from a
    latency table of the pieces that run; a ConfigError without one."""
    if costs is None:
        raise ConfigError("a deadline configuration needs a latency table of the backend it runs on "
                          "(mess profile, or measured at start)")
    missing = [s.exit_id for s in steps if s.exit_id not in costs.heads]
    if missing:
        raise ConfigError(f"the latency table has no entry for exit '{missing[0]}': it was measured on another model")
    out, done = [], -1
    for step in steps:
        segments = sum(costs.segments[i].latency_ms or 0.0 for i in range(done + 1, step.segment + 1))
        head = costs.heads[step.exit_id]          # a deadline runs no exit policy: the head alone
        out.append(segments + max(0.0, (head.latency_ms or 0.0) - (getattr(head, "policy_ms", None) or 0.0)))
        done = step.segment
    return out


def default_deadline_exits(net: MultiExitNet) -> list[str]:
    """The rungs of a deadline configuration given none: the first head at each exit point, then final."""
    seen, rungs = set(), []
    for exit_id in sorted(net.exit_ids(), key=lambda e: (e == FINAL_EXIT, net.exit_segment(e))):
        point = exit_id.split(":", 1)[0]
        if point not in seen:
            seen.add(point)
            rungs.append(exit_id)
    return rungs


class EarlyExitRunner:
    """Runs one configuration of a MultiExitNet with real early exit (``pieces``: a backend's; default torch)."""

    def __init__(self, net: MultiExitNet, config: ExitConfig, pieces: RunnablePieces | None = None,
                 prepare: bool = True, costs=None) -> None:
        """``costs``: a latency table (core.profile.costs.CostTable) for these pieces; a deadline
        configuration decides from it."""
        self.net = net
        self.pieces = pieces if pieces is not None else TorchPieces(net)
        self.costs = costs
        self.set_config(config, prepare)

    def set_config(self, config: ExitConfig, prepare: bool = True) -> None:
        """Switch configuration (e.g. thresholds changed while a video runs). ``prepare`` builds the
        graphs it needs now; without it they are built on the first ``run`` (on the caller's thread
        then: a UI thread only checks the configuration and leaves the slow part to the worker)."""
        steps = config_steps(self.net, config)
        step_ms = deadline_step_costs(self.net, steps, self.costs) if config.mode == "deadline" else None
        if prepare:
            self.pieces.prepare([s.exit_id for s in steps])
        self.config = config
        self.steps = steps
        self._step_ms = step_ms
        self._policy = config.policy.host_kwargs()
        self.deadline_scale = DeadlineScale()

    def _run_deadline(self, images, *, batch: int, spent_ms: float):
        """One deadline batch, the table's costs scaled by how much slower recent frames ran than it said."""
        output_ms = self.costs.output_ms or 0.0
        factor = self.deadline_scale.factor()
        started = time.perf_counter()
        out = run_deadline(self.pieces, self.steps, images, batch=batch, step_ms=[ms * factor for ms in self._step_ms],
                           output_ms=output_ms * factor, deadline_ms=self.config.deadline_ms - spent_ms)
        predicted = sum(self._step_ms[:out.exit_index[0] + 1]) + output_ms
        self.deadline_scale.record(predicted_ms=predicted, measured_ms=(time.perf_counter() - started) * 1000.0)
        return out

    @torch.no_grad()
    def run(self, images: torch.Tensor, keep_logits: bool = False, spent_ms: float = 0.0,
            labels_dtype: torch.dtype = torch.int64) -> ExitResult:
        """Run a batch (B, 3, H, W); each image leaves on its own. ``keep_logits``: torch backend only.
        ``spent_ms``: time the frame has already taken (reading, resizing): a deadline counts it.
        ``labels_dtype``: of the labels returned (the live pipeline takes uint8: no int64 copy and back)."""
        batch = int(images.shape[0])
        size = (int(images.shape[-2]), int(images.shape[-1]))
        torch_pieces = isinstance(self.pieces, TorchPieces)
        if keep_logits and not torch_pieces:
            raise ConfigError("keep_logits needs the torch backend")
        if torch_pieces:
            self.pieces.kept_logits = [] if keep_logits else None
        if self.config.mode == "deadline":
            out = self._run_deadline(images, batch=batch, spent_ms=spent_ms)
        else:
            out = run_cascade(self.pieces, self.steps, images, batch=batch, input_hw=size, policy=self._policy)
        device = images.device if isinstance(images, torch.Tensor) else torch.device("cpu")
        parts = out.parts
        if not keep_logits and len(parts) == 1 and len(parts[0][0]) == batch:
            # Every image left at one exit (always so for one image): its labels as they come, no copy.
            labels, parts = _as_tensor(parts[0][1]).to(device=device, dtype=labels_dtype), []
        else:
            labels = torch.empty((batch, *size), dtype=labels_dtype, device=device)
        logits = None
        for n, (rows, part) in enumerate(parts):
            index = torch.from_numpy(rows).to(device)
            part = _as_tensor(part)
            labels[index] = part.to(device=device, dtype=labels_dtype)
            if keep_logits:
                up = self.pieces.kept_logits[n]
                if logits is None:
                    logits = torch.empty((batch, up.shape[1], *size), dtype=up.dtype, device=device)
                logits[index] = up
        if torch_pieces:
            self.pieces.kept_logits = None
        return ExitResult(
            exit_index=out.exit_index,
            exit_ids=[self.steps[i].exit_id for i in out.exit_index],
            confidence=out.confidence,
            labels=labels,
            logits=logits,
        )

    def refinements(self, images: torch.Tensor) -> Iterator[ExitResult]:
        """Anytime mode: every kept exit's result in depth order, each as soon as it is ready (a generator;
        close it to stop early). Each result's ``exit_index`` is the exit it comes from for every image, and
        ``confident`` says whether the thresholds would have let the image leave there."""
        batch = int(images.shape[0])
        device = images.device if isinstance(images, torch.Tensor) else torch.device("cpu")
        size = (int(images.shape[-2]), int(images.shape[-1]))
        with torch.no_grad():
            for refinement in run_anytime(self.pieces, self.steps, images, input_hw=size, policy=self._policy):
                part = refinement.labels
                part = part if isinstance(part, torch.Tensor) else torch.from_numpy(np.asarray(part))
                step = self.steps[refinement.step]
                yield ExitResult(exit_index=[refinement.step] * batch, exit_ids=[step.exit_id] * batch,
                                 confidence=refinement.confidence.tolist(),
                                 labels=part.to(device=device, dtype=torch.int64),
                                 confident=refinement.confident.tolist())


@torch.no_grad()
def all_exit_labels(net: MultiExitNet, pieces: RunnablePieces, images: torch.Tensor) -> dict[str, torch.Tensor]:
    """Labels (B, H, W) of every exit of ``net`` from one pass of ``pieces`` over ``images``."""
    out: dict[str, torch.Tensor] = {}
    state = pieces.start(images)
    for exit_id in sorted(net.exit_ids(), key=net.exit_segment):
        state = pieces.advance(state, net.exit_segment(exit_id))
        handle, _ = pieces.head(state, exit_id)
        part = pieces.labels(handle, exit_id, None)
        out[exit_id] = part if isinstance(part, torch.Tensor) else torch.from_numpy(np.asarray(part))
    return {exit_id: out[exit_id] for exit_id in net.exit_ids()}

"""Executing an ExitConfig with real early exit.

The backbone runs segment by segment. At each kept exit its head runs on the
images still active, the policy decides per image, and the images that leave
are dropped from the batch: the segments after an image's exit never run for
it, and when every image has left, the rest of the network does not run at
all. The last kept exit always answers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from core.errors import ConfigError
from core.models.heads import class_labels, upsample_logits
from core.models.network import MultiExitNet
from core.runtime.config import ExitConfig
from core.runtime.policy import confidence_histograms, image_confidence


@dataclass
class ExitResult:
    """Per image: the exit it left at, its image confidence there, and its output."""

    exit_index: list[int]
    exit_ids: list[str]
    confidence: list[float]
    labels: torch.Tensor
    logits: torch.Tensor | None = None


@dataclass(frozen=True)
class _Step:
    exit_id: str
    segment: int
    stride: int
    th_pix: float
    th_img: float


class EarlyExitRunner:
    """Runs one configuration of a MultiExitNet with real early exit."""

    def __init__(self, net: MultiExitNet, config: ExitConfig) -> None:
        self.net = net
        self.set_config(config)

    def set_config(self, config: ExitConfig) -> None:
        """Switch configuration (e.g. thresholds changed while a video runs)."""
        steps = []
        known = set(self.net.exit_ids())
        for exit_id, th_pix, th_img in zip(config.exits, config.th_pix, config.th_img):
            if exit_id not in known:
                raise ConfigError(f"the configuration keeps exit '{exit_id}', which the model does not have "
                                  f"(exits: {', '.join(self.net.exit_ids())})")
            steps.append(_Step(exit_id, self.net.exit_segment(exit_id), self.net.exit_stride(exit_id), th_pix, th_img))
        for previous, step in zip(steps, steps[1:]):
            if step.segment < previous.segment:
                raise ConfigError(f"exits must be listed shallow to deep: '{step.exit_id}' comes before '{previous.exit_id}' in the network")
        self.config = config
        self.steps = steps

    @torch.no_grad()
    def run(self, images: torch.Tensor, keep_logits: bool = False) -> ExitResult:
        """Run a batch (B, 3, H, W); each image leaves on its own."""
        batch = images.shape[0]
        size = (images.shape[-2], images.shape[-1])
        labels = torch.empty((batch, *size), dtype=torch.int64, device=images.device)
        logits_out = None
        exit_index = [-1] * batch
        confidence = [0.0] * batch
        active = torch.arange(batch, device=images.device)
        x, taps, done = images, {}, -1
        for k, step in enumerate(self.steps):
            x = self.net.run_segments(x, done + 1, step.segment, taps)
            done = step.segment
            low = self.net.exit_logits(step.exit_id, x, taps)
            histograms = confidence_histograms(low, size, step.stride, self.config.policy)
            frac = image_confidence(histograms, step.th_pix)
            last = k == len(self.steps) - 1
            leave_np = np.ones(len(frac), dtype=bool) if last else frac >= step.th_img
            if not leave_np.any():
                continue
            leave = torch.from_numpy(leave_np).to(images.device)
            everyone = bool(leave_np.all())  # no gather: it would copy the logits out of channels-last
            up = upsample_logits(low if everyone else low[leave], size)
            rows = active if everyone else active[leave]
            labels[rows] = class_labels(up)
            if keep_logits:
                if logits_out is None:
                    logits_out = torch.empty((batch, up.shape[1], *size), dtype=up.dtype, device=images.device)
                logits_out[rows] = up
            for row, value in zip(rows.tolist(), frac[leave_np].tolist()):
                exit_index[row] = k
                confidence[row] = float(value)
            stay = ~leave
            if not stay.any():
                break
            active, x = active[stay], x[stay]
            taps = {name: t[stay] for name, t in taps.items()}
        return ExitResult(
            exit_index=exit_index,
            exit_ids=[self.steps[i].exit_id for i in exit_index],
            confidence=confidence,
            labels=labels,
            logits=logits_out,
        )

"""Stochastic weight averaging (SWA) of a network's state at epoch ends.

The running mean covers every floating-point entry of the state dict, the
BatchNorm running statistics included (averaging them worked better on
CamVid than recomputing them over the training set); integer entries such as
``num_batches_tracked`` keep their latest value. The average travels in the
training checkpoint, so a resumed run averages exactly what an uninterrupted
one does.
"""

from __future__ import annotations

import torch

PREFIX = "average/"
COUNT_KEY = "average_count"


class WeightAverage:
    """The running mean of state dicts; ``count`` snapshots so far."""

    def __init__(self) -> None:
        self.state: dict[str, torch.Tensor] = {}
        self.count = 0

    def update(self, state: dict[str, torch.Tensor]) -> None:
        """Add one snapshot (copied to the CPU)."""
        self.count += 1
        for key, value in state.items():
            value = value.detach().cpu()
            if key not in self.state or not value.is_floating_point():
                self.state[key] = value.clone()
            else:
                self.state[key] += (value - self.state[key]) / self.count

    def tensors(self) -> dict[str, torch.Tensor]:
        """The average as named tensors for a checkpoint (empty before the first snapshot)."""
        if not self.count:
            return {}
        return {PREFIX + key: value for key, value in self.state.items()} | {COUNT_KEY: torch.tensor(self.count)}

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor]) -> "WeightAverage":
        average = cls()
        if COUNT_KEY in tensors:
            average.count = int(tensors[COUNT_KEY])
            average.state = {key[len(PREFIX):]: value.clone() for key, value in tensors.items()
                             if key.startswith(PREFIX)}
        return average

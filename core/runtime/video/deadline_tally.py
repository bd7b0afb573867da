"""A deadline's running count on the Live page: the frames it answered, how many overran it, and their mean
exit depth. One tally per deadline configuration (its deadline and exits); a new one starts when either
changes, or when the counts are reset."""

from __future__ import annotations

from dataclasses import dataclass, replace

from core.runtime.config import ExitConfig


@dataclass(frozen=True)
class DeadlineTally:
    """Counts since the deadline configuration started (frozen: each frame hands over its own copy)."""

    deadline_ms: float
    exits: tuple[str, ...]
    frames: int = 0
    overruns: int = 0          # frames whose latency was past the deadline
    depth_sum: float = 0.0     # of the exits taken (final = 1.0)

    @classmethod
    def of(cls, config: ExitConfig) -> "DeadlineTally":
        """An empty tally for a deadline configuration (ValueError for another mode)."""
        if config.mode != "deadline":
            raise ValueError(f"a deadline tally is for a deadline configuration, not mode '{config.mode}'")
        return cls(float(config.deadline_ms), tuple(config.exits))

    def counts(self, config: ExitConfig) -> bool:
        """Whether this tally is the one of ``config`` (same deadline, same exits)."""
        return config.mode == "deadline" and float(config.deadline_ms) == self.deadline_ms \
            and tuple(config.exits) == self.exits

    def add(self, latency_ms: float, depth: float) -> "DeadlineTally":
        """The tally with one more frame."""
        return replace(self, frames=self.frames + 1, overruns=self.overruns + int(latency_ms > self.deadline_ms),
                       depth_sum=self.depth_sum + float(depth))

    @property
    def mean_depth(self) -> float | None:
        """The mean exit depth of the frames so far (None before the first)."""
        return self.depth_sum / self.frames if self.frames else None


__all__ = ["DeadlineTally"]

"""ExitConfig: the deployable choice of exits, heads and thresholds, as versioned JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import ConfigError
from core.runtime.policy import PolicySettings

CONFIG_FORMAT_VERSION = 2          # 2: a configuration file may record its model and weights' SHA-256
READABLE_VERSIONS = (1, 2)         # 1: files written before that (loaded, the weights check skipped)
MODES = ("dynamic", "static", "deadline")


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass
class ExitConfig:
    """Kept exits, shallow to deep (the last always answers), with a threshold pair each."""

    exits: list[str]
    th_pix: list[float] = field(default_factory=list)
    th_img: list[float] = field(default_factory=list)
    mode: str = "dynamic"
    policy: PolicySettings = field(default_factory=PolicySettings)
    deadline_ms: float | None = None    # mode "deadline": the deepest kept exit that fits answers

    def __post_init__(self) -> None:
        if not self.exits:
            raise ConfigError("an exit configuration needs at least one exit")
        if len(set(self.exits)) != len(self.exits):
            raise ConfigError(f"an exit is kept twice in {self.exits}")
        n = len(self.exits)
        if not self.th_pix:
            self.th_pix = [0.9] * n
        if not self.th_img:
            self.th_img = [0.9] * n
        if len(self.th_pix) != n or len(self.th_img) != n:
            raise ConfigError(f"{n} exits need {n} th_pix and {n} th_img values, "
                              f"got {len(self.th_pix)} and {len(self.th_img)}")
        for name, values in (("th_pix", self.th_pix), ("th_img", self.th_img)):
            for v in values:
                if not 0.0 <= float(v) <= 1.0:  # NaN fails this too
                    raise ConfigError(f"{name} value {v} is outside 0..1")
        if self.mode not in MODES:
            raise ConfigError(f"unknown mode '{self.mode}' (this version runs: {', '.join(MODES)})")
        if self.mode == "static" and n != 1:
            raise ConfigError(f"a static configuration keeps exactly one exit, got {n}")
        if self.mode == "deadline":
            if not _is_number(self.deadline_ms) or not 0 < float(self.deadline_ms) < 1e6:
                raise ConfigError(f"a deadline configuration needs deadline_ms, a positive number of milliseconds, "
                                  f"got {self.deadline_ms!r}")
            self.deadline_ms = float(self.deadline_ms)
        elif self.deadline_ms is not None:
            raise ConfigError(f"deadline_ms is for mode 'deadline', not '{self.mode}'")

    @classmethod
    def static(cls, exit_id: str) -> "ExitConfig":
        return cls([exit_id], mode="static")

    @classmethod
    def deadline(cls, exits: list[str], deadline_ms: float, policy: PolicySettings | None = None) -> "ExitConfig":
        """Each frame answers with the deepest of ``exits`` that can finish within ``deadline_ms``."""
        return cls(list(exits), mode="deadline", deadline_ms=deadline_ms, policy=policy or PolicySettings())

    def to_json(self) -> dict:
        return {
            "format_version": CONFIG_FORMAT_VERSION,
            "mode": self.mode,
            "exits": list(self.exits),
            "th_pix": [float(v) for v in self.th_pix],
            "th_img": [float(v) for v in self.th_img],
            "policy": self.policy.to_json(),
            **({"deadline_ms": self.deadline_ms} if self.mode == "deadline" else {}),
        }

    @classmethod
    def from_json(cls, data: dict, source: str = "config") -> "ExitConfig":
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: not an exit configuration (expected a JSON object)")
        version = data.get("format_version")
        if type(version) is not int or version not in READABLE_VERSIONS:
            raise ConfigError(f"{source}: unknown exit-config format version {version!r} "
                              f"(expected {' or '.join(map(str, READABLE_VERSIONS))})")
        if "exits" not in data:
            raise ConfigError(f"{source}: the exit configuration has no 'exits'")
        exits = data["exits"]
        if not isinstance(exits, list) or not all(isinstance(e, str) for e in exits):
            raise ConfigError(f"{source}: 'exits' must be a list of exit names, got {json.dumps(exits)[:60]}")
        thresholds = {}
        for key in ("th_pix", "th_img"):
            values = data.get(key, [])
            if not isinstance(values, list) or not all(_is_number(v) for v in values):
                raise ConfigError(f"{source}: '{key}' must be a list of numbers in 0..1, got {json.dumps(values)[:60]}")
            thresholds[key] = [float(v) for v in values]
        policy = data.get("policy", {})
        if not isinstance(policy, dict):
            raise ConfigError(f"{source}: 'policy' must be an object, got {json.dumps(policy)[:60]}")
        try:
            return cls(exits=list(exits), mode=str(data.get("mode", "dynamic")),
                       policy=PolicySettings.from_json(policy), deadline_ms=data.get("deadline_ms"), **thresholds)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{source}: malformed exit configuration ({exc})") from None

    @classmethod
    def load(cls, path: str | Path) -> "ExitConfig":
        from core.jsonio import read_json

        data = read_json(path, "exit configuration file", max_bytes=1 << 20)
        return cls.from_json(data, source=str(path))

    def save(self, path: str | Path, extra: dict | None = None) -> None:
        from core.jsonio import write_json_atomic

        write_json_atomic(Path(path), {**self.to_json(), **(extra or {})})

"""A configuration file: an ExitConfig plus the model it was searched for, checked before it runs.

`mess search --out` and the Search page record the model (its folder) and the SHA-256 of its
weights beside the ExitConfig (format version 2). `mess run`, `mess eval`, `mess export`,
`mess inspect` and the app's File > Load configuration refuse a file made for other weights in
one line naming the file and both SHA-256 prefixes. A file from before (version 1, or one written
by hand) records no weights: it loads, with a one-line note that the check was skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from core.errors import ConfigError
from core.runtime.config import ExitConfig

SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")
PREFIX = 12          # SHA-256 characters a message shows


@dataclass(frozen=True)
class ConfigOrigin:
    """The model a configuration was made for: its name or folder, and its weights' SHA-256."""

    model: str
    weights_sha256: str

    def __post_init__(self) -> None:
        if not SHA256_PATTERN.fullmatch(self.weights_sha256):
            raise ConfigError(f"weights_sha256 must be 64 lower-case hex digits, got {self.weights_sha256[:70]!r}")

    def to_json(self) -> dict:
        return {"model": self.model, "weights_sha256": self.weights_sha256}

    @classmethod
    def from_json(cls, data: dict, source: str) -> "ConfigOrigin | None":
        """The origin a configuration document records; None when it records none (an older file)."""
        if "weights_sha256" not in data and "model" not in data:
            return None
        model, digest = data.get("model"), data.get("weights_sha256")
        if not isinstance(model, str) or not isinstance(digest, str):
            raise ConfigError(f"{source}: 'model' and 'weights_sha256' come together, both strings "
                              f"(got {type(model).__name__} and {type(digest).__name__})")
        try:
            return cls(model, digest)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None


def _precision(data: dict, source: str, key: str = "precision") -> str | None:
    from core.runtime.backends.base import PRECISIONS

    precision = data.get(key)
    if precision is not None and precision not in PRECISIONS:
        raise ConfigError(f"{source}: unknown {key.replace('_', ' ')} {precision!r} (known: {', '.join(PRECISIONS)})")
    return precision


@dataclass(frozen=True)
class ConfigFile:
    """A loaded configuration file: where it came from, the configuration, and the model it names."""

    path: str
    config: ExitConfig
    origin: ConfigOrigin | None = None
    precision: str | None = None     # the precision it was searched at (`mess search --precisions`), if recorded
    # The precision of the full network the search measured its drop and speed-up against (fp32 when
    # `--precisions` searched fp32, else the searched precision itself), if recorded.
    reference_precision: str | None = None

    @classmethod
    def load(cls, path: str | Path) -> "ConfigFile":
        """Read and validate ``path`` (core.jsonio limits; one-line ConfigError naming the file)."""
        from core.jsonio import read_json

        return cls.from_json(read_json(path, "exit configuration file", max_bytes=1 << 20), str(path))

    @classmethod
    def from_json(cls, data: dict, source: str) -> "ConfigFile":
        """A configuration document (``source`` names it in errors)."""
        return cls(source, ExitConfig.from_json(data, source=source), ConfigOrigin.from_json(data, source),
                   precision=_precision(data, source),
                   reference_precision=_precision(data, source, key="reference_precision"))

    def to_json(self) -> dict:
        return {**self.config.to_json(), **(self.origin.to_json() if self.origin is not None else {}),
                **({"precision": self.precision} if self.precision is not None else {}),
                **({"reference_precision": self.reference_precision}
                   if self.reference_precision is not None else {})}

    def check(self, weights_sha256: str, exit_ids: list[str] | None = None) -> str | None:
        """Refuse (ConfigError, one line) a file made for other weights or, given ``exit_ids``, one that
        keeps an exit the model does not have; a one-line note when the file records no weights."""
        if exit_ids is not None:
            missing = [e for e in self.config.exits if e not in exit_ids]
            if missing:
                raise ConfigError(f"{self.path}: keeps exit(s) {', '.join(missing)}, which the open model does not "
                                  f"have ({len(exit_ids)} exits: {', '.join(exit_ids[:4])}"
                                  f"{', ...' if len(exit_ids) > 4 else ''})")
        if self.origin is None:
            return f"{self.path} records no model weights (an older configuration file): not checked against the model"
        if self.origin.weights_sha256 != weights_sha256:
            raise ConfigError(f"{self.path}: made for other weights (SHA-256 {self.origin.weights_sha256[:PREFIX]}, "
                              f"{self.origin.model}); the model's are {weights_sha256[:PREFIX]}: search again for "
                              f"this model")
        return None

    def checked(self, weights_sha256: str, exit_ids: list[str] | None = None,
                note: Callable[[str], None] | None = None) -> ExitConfig:
        """The configuration, once ``check`` passes (its note, if any, given to ``note``)."""
        message = self.check(weights_sha256, exit_ids)
        if message and note is not None:
            note(message)
        return self.config


def remembered_config(text: str, source: str, weights_sha256: str, exit_ids: list[str]) -> ExitConfig | None:
    """A configuration remembered as ConfigFile.to_json text (the app's settings): the configuration when
    it was made for these weights and fits these exits, else None; ConfigError (one line) when ``text``
    is not a configuration document."""
    from core.jsonio import parse_json

    remembered = ConfigFile.from_json(parse_json(text, source, "exit configuration"), source)
    if remembered.origin is None or remembered.origin.weights_sha256 != weights_sha256:
        return None
    if any(e not in exit_ids for e in remembered.config.exits):
        return None
    return remembered.config

"""The Live page's state and its rules, without Qt: what configuration runs, with which thresholds, and how.

``LiveControls`` holds what a viewer sets while a source plays: the configuration applied from the
Search page (the base), the thresholds set over it, the full-network toggle, side by side, anytime,
the deadline, the overlay opacity and style, presentation mode, paused and recording. ``run_config``
is what the player should run (None: the full network). With the deadline on it is a deadline
configuration (core.runtime.config.ExitConfig.deadline) over the base's kept exits, or over the
model's default rungs (core.runtime.early_exit.default_deadline_exits, given by the page) when the
base is the full network or keeps one exit; turning it off runs the base again. Anytime and the
deadline exclude each other: turning one on turns the other off. The page (app/pages/live_page.py) shows this object and
changes it through its methods; the player (core.runtime.video.player.LivePlayer) plays. Each change
method returns whether something changed, so a view knows when to pass it on.

``NoEarlyExitWatch`` notices a configuration that never fires: ``NO_EXIT_FRAMES`` frames in a row
at the final exit of a configuration with earlier exits, and says what to do.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.models.spec import FINAL_EXIT
from core.runtime.config import ExitConfig
from core.runtime.video.live_view import describe_exits, uniform_thresholds, with_thresholds
from core.runtime.video.overlay import OVERLAY_STYLES, check_style, short_exit_name

TH_STEP = 0.05                   # what a threshold key moves
NO_EXIT_FRAMES = 30              # frames in a row at the final exit before the hint
DEFAULT_OVERLAY = "outline"
DEADLINE_MS = 20.0               # the deadline's default
DEADLINE_RANGE_MS = (1.0, 1000.0)
ANYTIME_OFF = "Deadline on: Anytime is off (a deadline answers each frame once, at the deepest exit that fits)"
DEADLINE_OFF = "Anytime on: the deadline is off (anytime runs every kept exit in turn, whatever the time)"


def _clamp01(value: float) -> float:
    return round(min(1.0, max(0.0, float(value))), 2)


def clamp_deadline(ms: float) -> float:
    """A deadline in DEADLINE_RANGE_MS, to 0.1 ms."""
    low, high = DEADLINE_RANGE_MS
    return round(min(high, max(low, float(ms))), 1)


@dataclass(frozen=True)
class ConfigView:
    """What the configuration box shows."""

    exits: tuple[tuple[str, float], ...]     # (short exit name, depth 0..1) shallow to deep
    caption: str                            # "(dynamic)" or why the full network runs
    tooltip: str
    thresholds_enabled: bool
    note: str


class NoEarlyExitWatch:
    """Counts frames in a row at the final exit of a configuration that has earlier exits."""

    def __init__(self, frames: int = NO_EXIT_FRAMES) -> None:
        self.frames = frames
        self.in_a_row = 0
        self._exits: tuple[str, ...] = ()

    def reset(self) -> None:
        self.in_a_row = 0

    def frame(self, exits: tuple[str, ...], exit_id: str, refreshed: bool = False) -> None:
        """One frame shown (a paused frame drawn again counts for nothing)."""
        if tuple(exits) != self._exits:
            self._exits, self.in_a_row = tuple(exits), 0
        if refreshed:
            return
        early = len(exits) > 1 and exit_id != exits[-1]
        self.in_a_row = 0 if early or len(exits) < 2 else self.in_a_row + 1

    @property
    def firing(self) -> bool:
        """False once ``frames`` frames in a row went to the final exit."""
        return self.in_a_row < self.frames

    def hint(self, th_img: float | None) -> str:
        """What happened and what to do; '' while exits fire (or not enough frames yet)."""
        if self.firing:
            return ""
        lower = f"lower th_img (now {th_img:.2f}; Down in presentation mode)" if th_img is not None else "lower th_img"
        return (f"No frame left early in the last {self.in_a_row} frames: every one ran the whole network. "
                f"This configuration is too strict for this footage: {lower}, or calibrate on this footage "
                "(Search page, Your footage, Video...) and apply the configuration found.")


class LiveControls:
    """The Live page's settings and toggles; ``run_config`` is what plays."""

    def __init__(self, config: ExitConfig | None = None, *, opacity: int = 50, overlay: str = DEFAULT_OVERLAY,
                 loop: bool = True, realtime: bool = True) -> None:
        self.base_config: ExitConfig | None = None
        self.thresholds: tuple[float, float] | None = None    # (th_pix, th_img) over the base, or None
        self.full_network = False
        self.side_by_side = False
        self.anytime = False           # each frame's kept exits shown in turn as they are ready
        self.deadline = False          # each frame answers at the deepest kept exit that fits in deadline_ms
        self.deadline_ms = DEADLINE_MS
        self.default_rungs: tuple[str, ...] = ()   # the model's deadline rungs, for a base of one exit (or none)
        self.opacity = 50
        self.overlay = check_style(overlay)
        self.loop = bool(loop)
        self.realtime = bool(realtime)
        self.presenting = False
        self.paused = False
        self.recording = False
        self.watch = NoEarlyExitWatch()
        self.set_opacity(opacity)
        self.apply_config(config)

    # --- the configuration ------------------------------------------------------------------------
    @property
    def config(self) -> ExitConfig | None:
        """The base configuration with the thresholds set over it (None: none applied)."""
        if self.base_config is None or self.thresholds is None:
            return self.base_config
        return with_thresholds(self.base_config, *self.thresholds)

    @property
    def run_config(self) -> ExitConfig | None:
        """What the loop runs: None for the full network (toggled on, or no configuration and no deadline)."""
        if self.full_network:
            return None
        return self.deadline_config() if self.deadline else self.config

    def deadline_exits(self) -> tuple[str, ...]:
        """The exits a deadline chooses among: the base's kept exits, or the model's rungs when it keeps one."""
        base = self.base_config
        return tuple(base.exits) if base is not None and len(base.exits) > 1 else self.default_rungs

    def deadline_config(self) -> ExitConfig | None:
        """The deadline configuration over ``deadline_exits`` (None without exits: no model yet)."""
        exits = self.deadline_exits()
        if not exits:
            return self.config
        policy = self.base_config.policy if self.base_config is not None else None
        return ExitConfig.deadline(list(exits), self.deadline_ms, policy)

    def apply_config(self, config: ExitConfig | None, *, restored: bool = False) -> None:
        """A configuration from the Search page or a file: its own thresholds; the full-network toggle goes
        off. One of mode "deadline" turns the deadline on at its deadline_ms (its exits become the base,
        early exit by its thresholds, for when the deadline is turned off); another leaves the deadline as
        it is (on: over the new configuration's exits). ``restored``: the configuration remembered from last
        time, whose deadline gives way to the deadline setting saved since (on or off, its milliseconds)."""
        if config is not None and config.mode == "deadline":
            if not restored:
                self.deadline, self.anytime = True, False
                self.deadline_ms = clamp_deadline(config.deadline_ms)
            config = ExitConfig(list(config.exits), th_pix=list(config.th_pix), th_img=list(config.th_img),
                                policy=config.policy)
        self.base_config = config
        self.thresholds = uniform_thresholds(config)
        if config is not None:
            self.full_network = False
        self.watch.reset()

    def set_default_rungs(self, exits: list[str] | tuple[str, ...]) -> None:
        """The open model's deadline rungs (core.runtime.early_exit.default_deadline_exits)."""
        self.default_rungs = tuple(exits)

    @property
    def has_thresholds(self) -> bool:
        return self.thresholds is not None and not self.full_network and not self.deadline

    def set_thresholds(self, th_pix: float, th_img: float) -> bool:
        """Both thresholds over every kept exit; False when the configuration has none (or nothing changed)."""
        if self.thresholds is None:
            return False
        new = (_clamp01(th_pix), _clamp01(th_img))
        if new == self.thresholds:
            return False
        self.thresholds = new
        self.watch.reset()
        return True

    def nudge(self, which: str, steps: int) -> bool:
        """Move th_img or th_pix by ``steps`` x TH_STEP (a key in presentation mode)."""
        if not self.has_thresholds or which not in ("th_pix", "th_img"):
            return False
        th_pix, th_img = self.thresholds
        if which == "th_img":
            return self.set_thresholds(th_pix, th_img + steps * TH_STEP)
        return self.set_thresholds(th_pix + steps * TH_STEP, th_img)

    def thresholds_text(self) -> str:
        """'th_img 0.85 · th_pix 0.90' (what a threshold key shows), or why there is none."""
        if self.full_network:
            return "Full network: no thresholds (F returns to the configuration)"
        if self.deadline:
            return f"Deadline {self.deadline_ms:g} ms: the time decides, not the thresholds (D turns it off)"
        if self.thresholds is None:
            return "This configuration has no thresholds"
        th_pix, th_img = self.thresholds
        return f"th_img {th_img:.2f} · th_pix {th_pix:.2f}"

    def set_full_network(self, on: bool) -> bool:
        if bool(on) == self.full_network:
            return False
        self.full_network = bool(on)
        self.watch.reset()
        return True

    def toggle_full_network(self) -> bool:
        return self.set_full_network(not self.full_network)

    def set_side_by_side(self, on: bool) -> bool:
        changed, self.side_by_side = bool(on) != self.side_by_side, bool(on)
        return changed

    def toggle_side_by_side(self) -> bool:
        return self.set_side_by_side(not self.side_by_side)

    def set_anytime(self, on: bool) -> bool:
        """Anytime on or off; on turns the deadline off (``run_config`` changes then: see ``deadline``)."""
        changed, self.anytime = bool(on) != self.anytime, bool(on)
        if self.anytime and self.deadline:
            self.deadline = False
            self.watch.reset()
        return changed

    def set_deadline(self, on: bool) -> bool:
        """Deadline mode on or off (``run_config`` changes); on turns Anytime off."""
        if bool(on) == self.deadline:
            return False
        self.deadline = bool(on)
        if self.deadline:
            self.anytime = False
        self.watch.reset()
        return True

    def toggle_deadline(self) -> bool:
        return self.set_deadline(not self.deadline)

    def set_deadline_ms(self, ms: float) -> bool:
        """The deadline in milliseconds (clamped to DEADLINE_RANGE_MS); False when it did not change."""
        value = clamp_deadline(ms)
        changed, self.deadline_ms = value != self.deadline_ms, value
        return changed

    def toggle_anytime(self) -> bool:
        return self.set_anytime(not self.anytime)

    def set_opacity(self, percent: int) -> bool:
        value = int(min(100, max(0, round(percent))))
        changed, self.opacity = value != self.opacity, value
        return changed

    def set_overlay(self, style: str) -> bool:
        changed, self.overlay = check_style(style) != self.overlay, style
        return changed

    def set_presenting(self, on: bool) -> bool:
        changed, self.presenting = bool(on) != self.presenting, bool(on)
        return changed

    # --- what the view shows ---------------------------------------------------------------------
    def config_view(self, depths: dict[str, float]) -> ConfigView:
        config = self.run_config
        if config is None:
            why = "Full network toggle" if self.full_network and self.base_config is not None else \
                "no configuration applied"
            return ConfigView(((short_exit_name(FINAL_EXIT), 1.0),), f"(full network: {why})",
                              describe_exits(None), thresholds_enabled=False,
                              note="The full network has no thresholds: apply a configuration from the Search page "
                                   "to exit early.")
        exits = tuple((short_exit_name(e), depths.get(e, 1.0)) for e in config.exits)
        if config.mode == "deadline":
            own = self.base_config is not None and len(self.base_config.exits) > 1
            rungs = "" if own else " The configuration keeps one exit (or none): the rungs are the first head " \
                                   "at each exit point of the model, then the final exit."
            return ConfigView(exits, f"(deadline {config.deadline_ms:g} ms)", "\n".join(config.exits),
                              thresholds_enabled=False,
                              note=f"Each frame answers at the deepest kept exit that can finish within "
                                   f"{config.deadline_ms:g} ms, by the latency table of this backend; the "
                                   f"thresholds do not apply.{rungs}")
        if self.thresholds is not None:
            note = "The thresholds apply to every kept exit; the last one answers the rest."
        else:
            note = "One exit answers every frame: there is no threshold to set."
        return ConfigView(exits, f"({config.mode})", "\n".join(config.exits),
                          thresholds_enabled=self.thresholds is not None, note=note)

    def no_exit_hint(self) -> str:
        """The hint for a configuration that never fires ('' while it does, or for the full network)."""
        if self.run_config is None or self.run_config.mode == "deadline":
            return ""          # a deadline that lets every frame reach the final exit is doing its job
        return self.watch.hint(self.thresholds[1] if self.thresholds is not None else None)

    def settings(self) -> dict:
        """What persists between runs."""
        return {"opacity": self.opacity, "overlay": self.overlay, "loop": self.loop, "realtime": self.realtime,
                "anytime": self.anytime, "deadline": self.deadline, "deadline_ms": self.deadline_ms}


__all__ = ["ANYTIME_OFF", "ConfigView", "DEADLINE_MS", "DEADLINE_OFF", "DEADLINE_RANGE_MS", "LiveControls",
           "NoEarlyExitWatch", "NO_EXIT_FRAMES", "OVERLAY_STYLES", "TH_STEP", "clamp_deadline"]

"""play() on a thread with its events in a queue, as the Live page's worker runs it (the player's tests)."""

from __future__ import annotations

import queue
import threading

from core.runtime.video.player import LivePlayer

WAIT_S = 60


class Played:
    """play() on a thread, its events in a queue (as the Live page's worker runs it)."""

    def __init__(self, player: LivePlayer) -> None:
        self.player = player
        self.events: queue.Queue = queue.Queue()
        self.seen: list = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for event in self.player.play():
            self.events.put(event)
        self.events.put(None)

    def next(self, kind, timeout: float = WAIT_S):
        """The next event of ``kind`` (the others are kept in ``seen``)."""
        while True:
            event = self.events.get(timeout=timeout)
            assert event is not None, f"play() ended before a {kind.__name__}: {self.seen}"
            self.seen.append(event)
            if isinstance(event, kind):
                return event

    def quiet_for(self, seconds: float) -> list:
        """What came within ``seconds`` (nothing, while paused)."""
        got = []
        try:
            while True:
                got.append(self.events.get(timeout=seconds))
        except queue.Empty:
            return got

    def finish(self) -> list:
        self.player.stop()
        self.thread.join(WAIT_S)
        rest = []
        while not self.events.empty():
            rest.append(self.events.get())
        self.seen += [e for e in rest if e is not None]
        return self.seen

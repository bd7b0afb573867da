"""The Runtime menu's Threads entries: how many cores the app's work may use (persisted).

The split between jobs running at once (a training job beside the live view) is core.threads'
CoreShare; this module only shows the user's limit and writes it to the settings.
`mess gui --threads N` is the same setting from the command line.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu, QWidget

from core.threads import CORES, CoreShare, available_cores

SETTING = "runtime/threads"      # 0: every core


def remembered_threads(settings) -> int:
    """The stored limit (0: every core), checked against the cores here."""
    return settings.get(SETTING, 0, minimum=0, maximum=max(available_cores(), 1) * 4)


def apply_threads(settings, threads: int | None, share: CoreShare = CORES) -> None:
    """Use ``threads`` in all (None or 0: every core) and remember it."""
    share.set_limit(threads or None)
    settings.set(SETTING, int(threads or 0))


class ThreadsMenu(QMenu):
    """"Threads": every core, or 1..N; a check mark on the one in use."""

    def __init__(self, settings, parent: QWidget | None = None, share: CoreShare = CORES) -> None:
        super().__init__("&Threads", parent)
        self.settings, self.share = settings, share
        self.setToolTipsVisible(True)
        self.setObjectName("threads-menu")
        group = QActionGroup(self)
        self.actions_by_count: dict[int, QAction] = {}
        cores, limit = available_cores(), share.limit or 0
        for count in range(0, max(cores, limit) + 1):      # (a --threads above the cores gets its entry)
            text = f"Every core ({cores})" if count == 0 else f"{count} thread{'s' * (count != 1)}"
            action = QAction(text, self, checkable=True)
            action.setObjectName(f"threads-{count}")
            action.setToolTip("How many threads the network's work uses in all. A training job and the "
                              "live view running together split them (the live view keeps the larger half).")
            action.triggered.connect(lambda _=False, n=count: self.choose(n))
            group.addAction(action)
            self.addAction(action)
            self.actions_by_count[count] = action
        self.actions_by_count[limit].setChecked(True)

    def choose(self, count: int) -> None:
        apply_threads(self.settings, count, self.share)
        self.actions_by_count[count].setChecked(True)

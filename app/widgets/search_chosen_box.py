"""The Search page's chosen configuration: its exits, thresholds, predicted mIoU and costs, its held-out check,
why it was chosen, its measured speed-up, where the images leave, and the buttons that measure, apply, save or load
a configuration."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.widgets.exit_bars import ExitBars
from core.search.page_text import CHOSEN_FIELDS, EMPTY


class ChosenConfigBox(QGroupBox):
    """``show_config`` displays the texts of core.search.page_model.SearchPageModel.texts; only widgets otherwise
    (the page enables ``measure_button``: it also depends on whether a job runs)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Chosen configuration", parent)
        layout = QHBoxLayout(self)
        left = QVBoxLayout()
        form = QFormLayout()
        self.labels: dict[str, QLabel] = {}
        for key, title in CHOSEN_FIELDS.items():
            label = QLabel(EMPTY, self)
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.labels[key] = label
            form.addRow(f"{title}:", label)
        left.addLayout(form)
        buttons = QHBoxLayout()
        self.apply_button = QPushButton("Apply to Live", self)
        self.apply_button.setToolTip("Run this configuration on the Live page — Ctrl+Shift+A")
        self.apply_button.setShortcut(QKeySequence("Ctrl+Shift+A"))
        self.save_button = QPushButton("Save configuration...", self)
        self.save_button.setToolTip("Write the exit configuration JSON (with its predicted mIoU and cost), as "
                                    "'mess search --out' does — Ctrl+S")
        self.save_button.setShortcut(QKeySequence("Ctrl+S"))
        self.load_button = QPushButton("Load configuration...", self)
        self.load_button.setToolTip("Read an exit configuration JSON ('mess search --out', or saved here), check it "
                                    "against the open model and run it on the Live page (File menu: Ctrl+Shift+L)")
        self.measure_button = QPushButton("Measure speed-up", self)
        self.measure_button.setToolTip(
            "Run this configuration and the full network interleaved, through the same runner and backend, on the "
            "images the search did not calibrate on (the calibration images when there are none), and show both mean "
            "latencies and the measured speed-up — Ctrl+Shift+M. On the command line: 'mess eval --model DIR "
            "--data DIR --split SPLIT --config CONFIG.json' measures the saved configuration the same way on a split")
        self.measure_button.setShortcut(QKeySequence("Ctrl+Shift+M"))
        self.measure_button.setEnabled(False)
        self.save_front_button = QPushButton("Save front...", self)
        self.save_front_button.setToolTip("Write the Pareto front and search statistics, "
                                          "as 'mess search --pareto' does")
        for button in (self.apply_button, self.save_button, self.save_front_button):
            button.setEnabled(False)
            buttons.addWidget(button)
        buttons.addWidget(self.load_button)
        left.addLayout(buttons)
        left.addWidget(self.measure_button, 0, Qt.AlignmentFlag.AlignLeft)
        left.addStretch(1)
        layout.addLayout(left, 3)
        self.bars = ExitBars(self)
        self.bars.setMinimumHeight(120)
        self.bars.setToolTip("Share of the calibration images that leave at each kept exit")
        layout.addWidget(self.bars, 2)

    def show_config(self, texts: dict[str, str] | None, fractions: dict[str, float] | None = None,
                    why: str = "") -> None:
        """One configuration's texts and exit shares; None: nothing chosen (``why`` may say why)."""
        for button in (self.apply_button, self.save_button):
            button.setEnabled(texts is not None)
        for key, label in self.labels.items():
            label.setText(texts[key] if texts is not None else EMPTY)
        if texts is None and why:
            self.labels["why"].setText(why)
        self.bars.set_fractions(fractions if texts is not None else None)

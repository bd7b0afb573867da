"""The Train page's left column: the settings form (scrolling), the run buttons, and the two notes under them
(where the form differs from the run shown, and the page's message)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from app.widgets.train_form import TrainForm

BUTTONS = (
    ("start_button", "Start", "Start a new run in the run folder (Ctrl+Return)"),
    ("cancel_button", "Cancel", "Stop the run after the current step; it keeps its last checkpoint, Resume "
                                "continues it (Esc)"),
    ("resume_button", "Resume", "Continue the run in the run folder from its last checkpoint, with the settings "
                                "in its run.json (Ctrl+Shift+Return)"),
    ("open_button", "Open trained model", "Open the run's trained model in the app (Model, Search and Live pages)"),
)


class TrainControls(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumWidth(340)
        self.setMaximumWidth(520)
        self.form = TrainForm(self)
        buttons = QGridLayout()
        for i, (name, text, tip) in enumerate(BUTTONS):
            button = QPushButton(text, self)
            button.setToolTip(tip)
            setattr(self, name, button)
            buttons.addWidget(button, i // 2, i % 2)
        self.form_note = QLabel("", self)
        self.form_note.setObjectName("train-form-note")
        self.form_note.setWordWrap(True)
        self.form_note.setStyleSheet("color: #8a4b00; background: #fff4e0; padding: 3px;")
        self.form_note.setVisible(False)
        self.message = QLabel("", self)
        self.message.setObjectName("train-message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        inner = QWidget(self)
        fields = QVBoxLayout(inner)
        fields.addWidget(self.form)
        fields.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setWidget(inner)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(scroll, 1)
        column.addLayout(buttons)
        column.addWidget(self.form_note)
        column.addWidget(self.message)
        # wide enough for the widest row of the form beside the vertical scroll bar (the horizontal one is
        # off: narrower, the Advanced rows' fields were cut off at the right edge)
        needed = inner.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width() + 2
        self.setMinimumWidth(min(max(340, needed), 520))

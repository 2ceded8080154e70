"""A checkpoint answered in place: choices as radio buttons, or a typed answer, with feedback.

The feedback sits below the options and Check, so when it appears (or grows) nothing the
learner might click next moves: the box flows top-down inside the lesson's scroll area.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QButtonGroup, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QRadioButton, QSizePolicy, QVBoxLayout, QWidget)

from ..lessons import Checkpoint
from . import colors


def no_images(markdown: str) -> str:
    """Markdown with its images turned into plain link text.

    A QLabel's document loads `![x](/any/path)` and `<img src=...>` from disk synchronously on
    the GUI thread (`/dev/zero` never ends); a label cannot filter that like the narration
    browser does, so checkpoint text shows no images at all.
    """
    return re.sub(r"<(img)", r"&lt;\1", markdown.replace("![", "["), flags=re.IGNORECASE)


def plain(markdown: str) -> str:
    """Return Markdown as a screen reader should say it (no backticks or emphasis marks)."""
    return " ".join(markdown.replace("`", "").replace("**", "").split())


class CheckpointBox(QGroupBox):
    """Shows one Checkpoint; emits ``submitted`` with a 1-based choice or the typed text."""

    submitted = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Checkpoint", parent)
        self.setToolTip("Answer to check your understanding; your answers are remembered")
        self.setAccessibleName("Checkpoint")
        self.question = QLabel(wordWrap=True)
        self.question.setTextFormat(Qt.TextFormat.MarkdownText)
        self.choices_box = QWidget()
        self.choices_layout = QVBoxLayout(self.choices_box)
        self.choices_layout.setContentsMargins(0, 0, 0, 0)
        self.group = QButtonGroup(self)
        self.typed = QLineEdit(placeholderText="Type your answer, then press Enter")
        self.typed.setAccessibleName("Your answer")
        self.typed.setToolTip("Type your answer to the checkpoint, then press Enter")
        self.typed.returnPressed.connect(self._submit)
        self.check_button = QPushButton("Check")
        self.check_button.setAccessibleName("Check answer")
        self.check_button.setToolTip("Check your answer (Enter)")
        self.check_button.clicked.connect(self._submit)
        self.feedback = QLabel(wordWrap=True)
        self.feedback.setTextFormat(Qt.TextFormat.MarkdownText)
        self.feedback.setAccessibleName("Checkpoint feedback")
        self.feedback.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Feedback may be several lines: it grows downwards, under everything clickable.
        self.feedback.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        row = QHBoxLayout()
        row.addWidget(self.typed, 1)
        row.addStretch(0)
        row.addWidget(self.check_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.question)
        layout.addWidget(self.choices_box)
        layout.addLayout(row)
        layout.addWidget(self.feedback)
        self.checkpoint: Checkpoint | None = None
        #: The focusable widget the choices follow when tabbing (the panel sets it).
        self.tab_after: QWidget | None = None
        self._rows: list[QWidget] = []

    def show_checkpoint(self, checkpoint: Checkpoint | None, answered_right: bool) -> None:
        """Show ``checkpoint`` (hide the box for None); say so if it was already answered."""
        self.checkpoint = checkpoint
        self.setVisible(checkpoint is not None)
        for button in self.group.buttons():
            self.group.removeButton(button)
        for row in self._rows:
            row.deleteLater()
        self._rows = []
        self.typed.clear()
        self.feedback.clear()
        self.feedback.hide()
        if checkpoint is None:
            return
        self.question.setText(no_images(checkpoint.question))
        self.question.setAccessibleName("Question: " + plain(checkpoint.question))
        for number, text in enumerate(checkpoint.choices, start=1):
            # A radio button cannot wrap or show Markdown (`code`), so the text is a label
            # beside it; clicking the label picks the choice, as with a plain radio button.
            button = QRadioButton()
            button.setAccessibleName(f"Choice {number}: {plain(text)}")
            button.setToolTip(f"Choice {number}: pick it, then press Check")
            label = _ChoiceLabel(text, button)
            label.setAccessibleName(f"Choice {number}")
            label.setToolTip(f"Choice {number}: click to pick it")
            row = QWidget()
            row_layout = QHBoxLayout(row)
            row_layout.setContentsMargins(0, 0, 0, 0)
            row_layout.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
            row_layout.addWidget(label, 1)
            self.group.addButton(button, number)
            self.choices_layout.addWidget(row)
            self._rows.append(row)
        # New rows join the window's focus chain at its end: put them back where they show,
        # so Tab goes narration -> choices -> Check -> Back/Next.
        if self.tab_after is not None:
            chain = [self.tab_after, *self.group.buttons(), self.typed, self.check_button]
            for first, second in zip(chain, chain[1:]):
                QWidget.setTabOrder(first, second)
        self.choices_box.setVisible(not checkpoint.typed)
        self.typed.setVisible(checkpoint.typed)
        if answered_right:
            self._say("You answered this one correctly before.", True)

    def choose(self, number: int) -> None:
        """Select choice ``number`` (1-based) and check it, as a click and Check would."""
        button = self.group.button(number)
        if button is not None:
            button.setChecked(True)
        self._submit()

    def type_answer(self, text: str) -> None:
        self.typed.setText(text)
        self._submit()

    def show_result(self, right: bool) -> None:
        c = self.checkpoint
        if c is None:
            return
        default = "Right." if right else "Not quite: look at the diagram and try again."
        self._say((c.right if right else c.wrong) or default, right)

    def _submit(self) -> None:
        c = self.checkpoint
        if c is None:
            return
        if c.typed:
            if not self.typed.text().strip():
                self._say("Type an answer first.", None)
                return
            self.submitted.emit(self.typed.text())
        elif self.group.checkedId() < 1:
            self._say("Pick one of the choices first.", None)
        else:
            self.submitted.emit(self.group.checkedId())

    def _say(self, text: str, right: bool | None) -> None:
        color = {True: colors.CALL.name(), False: colors.TRAP.name()}.get(right)  # type: ignore[arg-type]
        self.feedback.setStyleSheet(f"color: {color}; font-weight: 600;" if color else "")
        mark = {True: "✔ ", False: "✘ "}.get(right, "")  # type: ignore[arg-type]
        self.feedback.setText(mark + no_images(text))
        self.feedback.setAccessibleDescription(mark + plain(text))
        self.feedback.show()


class _ChoiceLabel(QLabel):
    """A choice's text (Markdown, wrapped); a click on it checks its radio button."""

    def __init__(self, text: str, button: QRadioButton) -> None:
        super().__init__()
        self.button = button
        self.setTextFormat(Qt.TextFormat.MarkdownText)
        self.setText(no_images(text))
        self.setWordWrap(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def mousePressEvent(self, event: object) -> None:  # noqa: N802 - Qt override
        self.button.setChecked(True)

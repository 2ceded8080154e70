"""The Lesson dock: a browser of the shipped lessons, and the player of the open one.

Narration is Qt's own Markdown (QTextBrowser.setMarkdown). Next/Back move the shared Player,
so the diagram and every dock follow the lesson exactly as they follow the transport.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QProgressBar,
                               QPushButton, QStackedWidget, QTextBrowser, QVBoxLayout, QWidget)

from ..lessons import LessonError, load, shipped
from .lesson_checkpoint import CheckpointBox
from .lesson_session import LessonSession, saved_progress

PATH_ROLE = Qt.ItemDataRole.UserRole + 1


class LessonBrowser(QWidget):
    """The list of shipped lessons with their summary and the learner's progress."""

    open_requested = Signal(object)  # Path

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        heading = QLabel("<b>Lessons</b> — from first contact to expert. Double-click to start.")
        heading.setWordWrap(True)
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setToolTip("Each lesson runs a real scenario in wasmtime and guides you "
                             "through it step by step")
        self.list.itemActivated.connect(self._on_activated)
        self.open_button = QPushButton("Start lesson")
        self.open_button.setToolTip("Open the selected lesson (Enter)")
        self.open_button.clicked.connect(lambda: self._on_activated(self.list.currentItem()))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(heading)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.open_button)
        self.refresh()

    def refresh(self) -> None:
        """Re-list the lessons with the progress remembered for each."""
        current = self.list.currentRow()
        self.list.clear()
        for path in shipped():
            try:
                lesson = load(path)
            except LessonError as exc:
                item = QListWidgetItem(f"⚠ {path.stem}: broken lesson")
                item.setToolTip(str(exc))
            else:
                position, answers = saved_progress(self.settings, path)
                total = len(lesson.steps)
                done = f"{min(position + 1, total)}/{total}" if position or answers else "new"
                right = sum(answers.values())
                checks = sum(1 for s in lesson.steps if s.checkpoint)
                item = QListWidgetItem(f"{lesson.title}\n   {lesson.level or 'lesson'} · "
                                       f"{done} · checkpoints {right}/{checks}")
                item.setToolTip(f"{lesson.summary}\n\n{path.name}")
            item.setData(PATH_ROLE, str(path))
            self.list.addItem(item)
        self.list.setCurrentRow(max(current, 0))

    def _on_activated(self, item: QListWidgetItem | None) -> None:
        if item is not None:
            self.open_requested.emit(Path(item.data(PATH_ROLE)))


class LessonPanel(QWidget):
    """Browser page and player page in one dock."""

    def __init__(self, session: LessonSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.browser = LessonBrowser(session.settings)
        self.browser.open_requested.connect(self.open)

        self.title = QLabel(wordWrap=True)
        self.title.setStyleSheet("font-size: 13pt; font-weight: 700;")
        self.position = QLabel(wordWrap=True)
        self.progress = QProgressBar(textVisible=False, maximumHeight=6)
        self.progress.setToolTip("How far through the lesson you are")
        self.error = QLabel(wordWrap=True, visible=False)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.setStyleSheet("color: #E03131;")
        self.narration = QTextBrowser(openExternalLinks=True)
        self.narration.setToolTip("The lesson's narration for this step")
        self.checkpoint = CheckpointBox()
        self.checkpoint.submitted.connect(self._on_submitted)
        self.back_button = QPushButton("◀ Back")
        self.back_button.setToolTip("Previous lesson step (Ctrl+Left)")
        self.next_button = QPushButton("Next ▶")
        self.next_button.setToolTip("Next lesson step (Ctrl+Right)")
        self.all_button = QPushButton("All lessons")
        self.all_button.setToolTip("Back to the list of lessons; your place is remembered")
        self.back_button.clicked.connect(session.back)
        self.next_button.clicked.connect(session.next)
        self.all_button.clicked.connect(self.show_browser)
        for key, slot in (("Ctrl+Right", session.next), ("Ctrl+Left", session.back)):
            QShortcut(QKeySequence(key), self, slot,
                      context=Qt.ShortcutContext.WindowShortcut)
        buttons = QHBoxLayout()
        buttons.addWidget(self.all_button)
        buttons.addStretch(1)
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.next_button)
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.setContentsMargins(4, 4, 4, 4)
        for w in (self.title, self.position, self.progress, self.error):
            lay.addWidget(w)
        lay.addWidget(self.narration, 1)
        lay.addWidget(self.checkpoint)
        lay.addLayout(buttons)
        self.player_page = page

        self.stack = QStackedWidget()
        self.stack.addWidget(self.browser)
        self.stack.addWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

        session.loaded.connect(self._on_loaded)
        session.position_changed.connect(self._on_position)
        session.failed.connect(self._on_failed)
        session.answered.connect(lambda _n, right: self.checkpoint.show_result(right))
        session.busy_changed.connect(self._on_busy)

    def open(self, path: Path) -> None:
        self.error.hide()
        self.stack.setCurrentWidget(self.player_page)
        self.title.setText(path.stem)
        self.position.setText("Running the lesson's scenario in wasmtime…")
        self.narration.clear()
        self.checkpoint.hide()
        self.session.open(path)

    def show_browser(self) -> None:
        self.browser.refresh()
        self.stack.setCurrentWidget(self.browser)

    def _on_loaded(self) -> None:
        lesson = self.session.lesson
        if lesson is None:
            return
        self.title.setText(lesson.title)
        self.title.setToolTip(lesson.summary)
        self.progress.setRange(0, max(self.session.count - 1, 1))

    def _on_position(self, position: int) -> None:
        step = self.session.step
        if step is None:
            return
        n = self.session.count
        index = self.session.player.index
        self.position.setText(f"Step {position + 1} of {n}" + (f" — {step.title}" if step.title
                                                              else "")
                              + f"   (trace step {index})")
        self.progress.setValue(position)
        self.narration.setMarkdown(step.narration)
        self.checkpoint.show_checkpoint(step.checkpoint,
                                        self.session.answers.get(step.number, False))
        self.back_button.setEnabled(position > 0)
        self.next_button.setEnabled(position < n - 1)

    def _on_failed(self, message: str) -> None:
        self.error.setText("⚠ " + message)
        self.error.setToolTip(message)
        self.error.show()
        if self.session.lesson is None:
            self.position.setText("This lesson cannot be played; fix the file and it reloads "
                                  "when saved.")

    def _on_busy(self, busy: bool) -> None:
        self.next_button.setEnabled(not busy and self.session.position < self.session.count - 1)

    def _on_submitted(self, reply: object) -> None:
        self.session.answer(reply)  # type: ignore[arg-type]

"""The lesson browser: the list of shipped lessons, numbered, with the learner's progress.

It is the first page of the Lesson dock (lesson_panel.py stacks it with the open lesson's player
page). It lives apart because it needs no running session: it only reads the lesson files and
the progress saved in QSettings, and the dock drives it through ``refresh``, ``select`` and
its ``open_requested`` signal.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout,
                               QWidget)

from ..lessons import Lesson, LessonError, load, shipped
from .lesson_session import is_done, lesson_label, saved_finished, saved_progress

#: Item data role holding the lesson file's path (a str) of each list item.
PATH_ROLE = Qt.ItemDataRole.UserRole + 1


class LessonBrowser(QWidget):
    """The list of shipped lessons, numbered, with the learner's progress and a tick when done."""

    open_requested = Signal(object)  # Path

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        heading = QLabel("<b>Lessons</b> — from first contact to expert. "
                         "Double-click or press Enter to start.")
        heading.setWordWrap(True)
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setSpacing(2)
        self.list.setAccessibleName("Lessons")
        self.list.setToolTip("Each lesson runs a real scenario in wasmtime and guides you "
                             "through it step by step (Enter opens the selected one)")
        self.list.itemActivated.connect(self._on_activated)
        self.open_button = QPushButton("Start lesson")
        self.open_button.setAccessibleName("Start lesson")
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
                item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{path.stem}, broken lesson")
            else:
                item = self._item(path, lesson)
            item.setData(PATH_ROLE, str(path))
            self.list.addItem(item)
        self.list.setCurrentRow(max(current, 0))

    def _item(self, path: Path, lesson: Lesson) -> QListWidgetItem:
        position, answers = saved_progress(self.settings, path)
        finished = saved_finished(self.settings, path)
        total = len(lesson.steps)
        checks = sum(1 for s in lesson.steps if s.checkpoint)
        right = sum(1 for s in lesson.steps if s.checkpoint and answers.get(s.number, False))
        done = is_done(lesson, finished, answers)
        if done:
            state = "done"
        elif finished:
            state = "reached the end"
        elif position or answers:
            state = f"at step {min(position + 1, total)} of {total}"
        else:
            state = "new"
        name = lesson_label(path, lesson.title)
        level = lesson.level or "lesson"
        item = QListWidgetItem(f"{name}{'  ✓' if done else ''}\n   {level} · {state} · "
                               f"checkpoints {right}/{checks}")
        item.setToolTip(f"{lesson.summary}\n\n{path.name}")
        item.setData(Qt.ItemDataRole.AccessibleTextRole,
                     f"{name}, {state}, {level}, {total} steps, "
                     f"checkpoints answered {right} of {checks}")
        return item

    def select(self, path: Path | None) -> None:
        """Make the lesson at ``path`` the current item (if listed)."""
        for row in range(self.list.count()):
            if path is not None and Path(self.list.item(row).data(PATH_ROLE)) == Path(path):
                self.list.setCurrentRow(row)
                return

    def _on_activated(self, item: QListWidgetItem | None) -> None:
        if item is not None:
            self.open_requested.emit(Path(item.data(PATH_ROLE)))


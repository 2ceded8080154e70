"""The lesson browser: the list of shipped lessons, numbered, with the learner's progress.

It is the first page of the Lesson dock (lesson_panel.py stacks it with the open lesson's player
page). It lives apart because it needs no running session: it only reads the lesson files and
the progress saved in QSettings, and the dock drives it through ``refresh``, ``select`` and
its ``open_requested`` signal.

Reading and checking every lesson file takes 60-90 ms: it is done once, in a worker
(runner.TaskRunner, as every file the app reads), when the page is first shown or asked for,
never at start-up and never on the GUI thread; the list says it is reading meanwhile. Progress
(QSettings) changes as the learner goes; the parsed lessons do not, so a refresh re-reads only
the progress.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout,
                               QWidget)

from ..lessons import Lesson, LessonError, Where, load, shipped
from .lesson_session import is_done, lesson_label, saved_finished, saved_progress
from .lazy import enclosing_dock, unseen
from .runner import TaskRunner

#: Item data role holding the lesson file's path (a str) of each list item.
PATH_ROLE = Qt.ItemDataRole.UserRole + 1

Parsed = list[tuple[Path, "Lesson | LessonError"]]


def read_shipped() -> Parsed:
    """Every shipped lesson, parsed (or why it could not be): the worker's job."""
    out: Parsed = []
    for path in shipped():
        try:
            out.append((path, load(path)))
        except LessonError as exc:
            out.append((path, exc))
    return out


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
        #: Whether the list has been filled once (it is filled when first needed).
        self.filled = False
        self._watching = False
        self._parsed: Parsed | None = None   # the shipped lessons, once the worker read them
        self._pending: Path | None = None    # a lesson to select once they are there
        self._reader: TaskRunner | None = None

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if not self.filled:
            # Once laid out: only then does the visible region tell a page behind a tab.
            QTimer.singleShot(0, self._fill_if_seen)

    def _fill_if_seen(self) -> None:
        """Fill the list if any of it can be seen; else when its dock comes to the front."""
        if self.filled or not self.isVisible():
            return
        if not unseen(self):
            self.refresh()
            return
        # Behind another tab: wait for it to come to the front.
        dock = enclosing_dock(self)
        if dock is not None and not self._watching:
            self._watching = True
            dock.visibilityChanged.connect(self._on_dock_visibility)

    def _on_dock_visibility(self, visible: bool) -> None:
        if visible and not self.filled:
            QTimer.singleShot(0, self._fill_if_seen)

    def refresh(self) -> None:
        """Re-list the lessons with the progress remembered for each (reading them first, in
        the worker, the first time)."""
        self.filled = True
        if self._parsed is None:
            self._read()
            return
        current = self.list.currentRow()
        self.list.clear()
        for path, lesson in self._parsed:
            if isinstance(lesson, LessonError):
                item = QListWidgetItem(f"⚠ {path.stem}: broken lesson")
                item.setToolTip(str(lesson))
                item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{path.stem}, broken lesson")
            else:
                item = self._item(path, lesson)
            item.setData(PATH_ROLE, str(path))
            self.list.addItem(item)
        self.list.setCurrentRow(max(current, 0))

    @property
    def reading(self) -> bool:
        """Whether the worker is still reading the lessons (the list shows it)."""
        return self._parsed is None and self._reader is not None

    def _read(self) -> None:
        if self._reader is None:
            self._reader = TaskRunner(self)
            self._reader.done.connect(self._on_read)
            self._reader.start(read_shipped)
        self.list.clear()
        waiting = QListWidgetItem("Reading the lessons…")
        waiting.setFlags(Qt.ItemFlag.NoItemFlags)
        self.list.addItem(waiting)

    def _on_read(self, outcome: object, _request: object) -> None:
        if isinstance(outcome, BaseException):   # the worker's read failed as a whole
            outcome = [(path, LessonError(Where(str(path)), f"cannot read it: {outcome}"))
                       for path in shipped()]
        self._parsed = outcome  # type: ignore[assignment]
        self.refresh()
        if self._pending is not None:
            self.select(self._pending)
        elif self.list.count():
            self.list.setCurrentRow(0)

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
        """Make the lesson at ``path`` the current item (if listed; once the lessons are read,
        if the worker is still reading them)."""
        if not self.filled:
            self.refresh()
        if self._parsed is None:
            self._pending = path
            return
        self._pending = None
        for row in range(self.list.count()):
            if path is not None and Path(self.list.item(row).data(PATH_ROLE)) == Path(path):
                self.list.setCurrentRow(row)
                return

    def _on_activated(self, item: QListWidgetItem | None) -> None:
        if item is not None:
            self.open_requested.emit(Path(item.data(PATH_ROLE)))


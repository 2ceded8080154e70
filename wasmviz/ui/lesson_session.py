"""A lesson being played: the file, its real run, the learner's position and answers.

The session owns no widgets. It loads the file (a broken one is reported, never raised), runs the
lesson's scenario off the GUI thread, binds it to the trace (``lessons.resolve``) and moves the
shared Player to each lesson step's trace step, so the lesson drives the same transport the
sandbox uses. Position and answers are kept in QSettings; a watched file reloads when saved.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, QSettings, QTimer, Signal

from ..lessons import LESSONS_DIR, Lesson, LessonError, LessonStep, Resolved, load
from .player import Player
from .runner import LessonRunner


def settings_key(path: Path) -> str:
    """Return the QSettings group for a lesson: its name if shipped, else a hash of its path."""
    path = path.resolve()
    if path.parent == LESSONS_DIR.resolve():
        return f"lessons/{path.stem}"
    return "lessons/file-" + hashlib.sha1(str(path).encode()).hexdigest()[:12]


def saved_progress(settings: QSettings, path: Path) -> tuple[int, dict[int, bool]]:
    """Return (position, {step number: answered right}) remembered for the lesson at ``path``."""
    key = settings_key(path)
    try:
        position = int(settings.value(f"{key}/position", 0))
        raw = json.loads(str(settings.value(f"{key}/answers", "{}")))
        answers = {int(k): bool(v) for k, v in raw.items()}
    except (TypeError, ValueError):
        return 0, {}
    return max(position, 0), answers


class LessonSession(QObject):
    """Plays one lesson at a time on ``player``."""

    #: The lesson is ready (first load or reload): its steps and the resolved run.
    loaded = Signal()
    #: The lesson could not be opened or bound to its run: a message saying where and what.
    failed = Signal(str)
    #: The lesson step on screen changed (0-based position).
    position_changed = Signal(int)
    #: A checkpoint was answered: (step number, right?).
    answered = Signal(int, bool)
    busy_changed = Signal(bool)

    def __init__(self, player: Player, settings: QSettings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.player = player
        self.settings = settings
        self.path: Path | None = None
        self.lesson: Lesson | None = None
        self.resolved: Resolved | None = None
        self.position = 0
        self.answers: dict[int, bool] = {}
        self.runner = LessonRunner(self)
        self.runner.finished.connect(self._on_checked)
        self.runner.busy_changed.connect(self.busy_changed)
        self.watcher = QFileSystemWatcher(self)
        self.watcher.fileChanged.connect(self._on_file_changed)
        # Editors save in bursts (truncate, write, rename): reload once things settle.
        self._reload_timer = QTimer(self, singleShot=True, interval=250)
        self._reload_timer.timeout.connect(self.reload)

    # ---------------------------------------------------------------- opening
    @property
    def active(self) -> bool:
        return self.resolved is not None

    def open(self, path: Path) -> bool:
        """Load the lesson at ``path`` and start its run; False (and ``failed``) if broken."""
        path = Path(path)
        if self.path is not None and self.path != path:
            self.watcher.removePaths(self.watcher.files())
        self.path = path
        if str(path) not in self.watcher.files() and path.exists():
            self.watcher.addPath(str(path))
        try:
            lesson = load(path)
        except LessonError as exc:
            self.failed.emit(str(exc))
            return False
        self.lesson = lesson
        self.position, self.answers = saved_progress(self.settings, path)
        self.settings.setValue("lessons/last", str(path))
        self.runner.start(lesson)
        return True

    def reload(self) -> None:
        """Read the file again (after an author saved it), keeping the learner's place."""
        if self.path is not None:
            self.open(self.path)

    def close(self) -> None:
        if self.watcher.files():
            self.watcher.removePaths(self.watcher.files())
        self.path = self.lesson = self.resolved = None

    def _on_file_changed(self, path: str) -> None:
        # Some editors replace the file, which drops it from the watch list: watch it again.
        if path not in self.watcher.files() and Path(path).exists():
            self.watcher.addPath(path)
        self._reload_timer.start()

    def _on_checked(self, resolved: Resolved | None, errors: list[LessonError]) -> None:
        if errors:
            # Play what can be played, but say precisely what is wrong, as the checker does.
            self.failed.emit("\n".join(str(e) for e in errors))
        if resolved is None or self.lesson is None or resolved.lesson is not self.lesson:
            return
        self.resolved = resolved
        self.player.set_trace(resolved.trace)
        self.position = min(self.position, len(self.lesson.steps) - 1)
        self.loaded.emit()
        self.go(self.position)

    # ---------------------------------------------------------------- moving
    @property
    def step(self) -> LessonStep | None:
        if self.lesson is None or not 0 <= self.position < len(self.lesson.steps):
            return None
        return self.lesson.steps[self.position]

    @property
    def count(self) -> int:
        return len(self.lesson.steps) if self.lesson else 0

    def go(self, position: int) -> None:
        """Show lesson step ``position`` (clamped): narration, its trace step, highlights."""
        if self.resolved is None or not self.count:
            return
        self.position = max(0, min(position, self.count - 1))
        self.player.pause()
        if self.player.trace is not self.resolved.trace:
            # The sandbox ran something else meanwhile: the lesson brings its own run back.
            self.player.set_trace(self.resolved.trace)
        self.player.go(self.resolved.indices[self.position])
        self._save()
        self.position_changed.emit(self.position)

    def next(self) -> None:
        self.go(self.position + 1)

    def back(self) -> None:
        self.go(self.position - 1)

    @property
    def highlights(self) -> tuple:
        if self.resolved is None:
            return ()
        return self.resolved.highlights[self.position]

    # ---------------------------------------------------------------- checkpoints
    def answer(self, reply: int | str) -> bool:
        """Check ``reply`` to the current step's checkpoint; remember and return whether right."""
        step = self.step
        if step is None or step.checkpoint is None:
            return False
        right = step.checkpoint.is_right(reply)
        # A right answer stays right: trying a wrong one afterwards does not lose progress.
        self.answers[step.number] = self.answers.get(step.number, False) or right
        self._save()
        self.answered.emit(step.number, right)
        return right

    def _save(self) -> None:
        if self.path is None:
            return
        key = settings_key(self.path)
        self.settings.setValue(f"{key}/position", self.position)
        self.settings.setValue(f"{key}/answers", json.dumps(self.answers))

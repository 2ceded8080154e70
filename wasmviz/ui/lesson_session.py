"""A lesson being played: the file, its real run, the learner's position and answers.

The session owns no widgets. It reads the file (a broken one is reported, never raised) and runs
the lesson's scenario off the GUI thread, binds it to the trace (``lessons.resolve``) and moves the
shared Player to each lesson step's trace step, so the lesson drives the same transport the
sandbox uses. Position, answers and "reached the end" are kept in QSettings; a watched file
reloads when saved.

The player is shared: when something else puts its own trace on it (a sandbox run, an opened
trace file), the lesson is *detached*. It then never touches the player until ``reattach()``
brings its run back, so Next/Back can never replace the learner's own run behind their back.
"""

from __future__ import annotations

import re
from pathlib import Path

from typing import TYPE_CHECKING

from PySide6.QtCore import QFileSystemWatcher, QObject, QSettings, QTimer, Signal

from .player import Player

if TYPE_CHECKING:  # the lessons package is imported when a lesson is first opened (issue 11)
    from ..lessons import Lesson, LessonError, LessonStep, Resolved
    from .lesson_runner import LessonRunner, OpenedLesson

#: "1. table.grow" -> "table.grow": an author's own numbering would clash with "Step 2 of 7".
_ENUMERATION = re.compile(r"^\s*\d+\s*[.)]\s+")


def settings_key(path: Path) -> str:
    """Return the QSettings group for a lesson: its name if shipped, else a hash of its path."""
    import hashlib  # noqa: PLC0415 - these two, when a lesson is first opened (issue 11)

    from ..data import LESSONS_DIR  # noqa: PLC0415
    path = path.resolve()
    if path.parent == LESSONS_DIR.resolve():
        return f"lessons/{path.stem}"
    return "lessons/file-" + hashlib.sha1(str(path).encode()).hexdigest()[:12]


def saved_progress(settings: QSettings, path: Path) -> tuple[int, dict[int, bool]]:
    """Return (position, {step number: answered right}) remembered for the lesson at ``path``."""
    import json  # noqa: PLC0415 - when a lesson is first opened (issue 11)
    key = settings_key(path)
    try:
        position = int(settings.value(f"{key}/position", 0))
        raw = json.loads(str(settings.value(f"{key}/answers", "{}")))
        answers = {int(k): bool(v) for k, v in raw.items()}
    except (TypeError, ValueError):
        return 0, {}
    return max(position, 0), answers


def saved_finished(settings: QSettings, path: Path) -> bool:
    """Return whether the learner has reached the last step of the lesson at ``path``."""
    return str(settings.value(f"{settings_key(path)}/finished", "false")).lower() == "true"


def is_done(lesson: Lesson, finished: bool, answers: dict[int, bool]) -> bool:
    """A lesson is done once its last step was reached and every checkpoint answered right."""
    return finished and all(answers.get(s.number, False) for s in lesson.steps if s.checkpoint)


def lesson_number(path: Path) -> str:
    """Return the course number of a lesson file ("06" for 06-patch.toml), or ""."""
    match = re.match(r"\d+", path.stem)
    return match.group(0) if match else ""


def lesson_label(path: Path, title: str) -> str:
    """Return a lesson's name as the README and `wasmviz lessons list` number it: "06 · title"."""
    number = lesson_number(path)
    return f"{number} · {title}" if number else title


def step_title(step: LessonStep) -> str:
    """Return a step's title without the author's own "1." numbering."""
    return _ENUMERATION.sub("", step.title).strip()


def next_lesson(path: Path | None) -> Path | None:
    """Return the shipped lesson after ``path`` in the course, or None (last, or not shipped)."""
    if path is None:
        return None
    from ..lessons import shipped  # noqa: PLC0415 - see the imports
    course = [p.resolve() for p in shipped()]
    here = Path(path).resolve()
    if here not in course or course.index(here) + 1 >= len(course):
        return None
    return shipped()[course.index(here) + 1]


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
    #: True when another trace was put on the player (the lesson's run is not on screen),
    #: False when the lesson's run is back (or there is no lesson to be detached from).
    detached_changed = Signal(bool)

    def __init__(self, player: Player, settings: QSettings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.player = player
        self.settings = settings
        self.path: Path | None = None
        self.lesson: Lesson | None = None
        self.resolved: Resolved | None = None
        self.position = 0
        self.answers: dict[int, bool] = {}
        self.finished = False
        self._detached = False
        #: What the worker read with the lesson: narration images, the next lesson's title.
        self.opened: OpenedLesson | None = None
        self._runner: LessonRunner | None = None
        self.watcher = QFileSystemWatcher(self)
        self.watcher.fileChanged.connect(self._on_file_changed)
        # Editors save in bursts (truncate, write, rename): reload once things settle.
        self._reload_timer = QTimer(self, singleShot=True, interval=250)
        self._reload_timer.timeout.connect(self.reload)
        player.trace_changed.connect(self._update_detached)

    # ---------------------------------------------------------------- opening
    @property
    def runner(self) -> LessonRunner:
        """The worker that opens lessons, made for the first one: it imports the lessons'
        loader and checker, which the window's first trace does not need (issue 11)."""
        if self._runner is None:
            from .lesson_runner import LessonRunner  # noqa: PLC0415
            self._runner = LessonRunner(self)
            self._runner.opened.connect(self._on_opened)
            self._runner.busy_changed.connect(self.busy_changed)
        return self._runner

    @property
    def active(self) -> bool:
        return self.resolved is not None

    @property
    def detached(self) -> bool:
        """Whether the lesson has a run but the player shows another trace."""
        return self._detached

    def open(self, path: Path) -> None:
        """Start opening the lesson at ``path``: a worker reads, runs and checks it; then
        ``loaded`` (or ``failed``, saying where and what) is emitted."""
        path = Path(path)
        if self.path is not None and self.path != path:
            self.watcher.removePaths(self.watcher.files())
            # Another lesson: nothing of the previous one may be played meanwhile.
            self._forget()
        self.path = path
        if str(path) not in self.watcher.files() and path.exists():
            self.watcher.addPath(str(path))
        # Read in the worker too, with its source_file and images: a FIFO there once froze
        # the window for good (review D2), and a slow disk must not freeze it either.
        self.runner.start(path)

    def reload(self) -> None:
        """Read the file again (after an author saved it), keeping the learner's place."""
        if self.path is not None:
            self.open(self.path)

    def close(self) -> None:
        if self.watcher.files():
            self.watcher.removePaths(self.watcher.files())
        self.path = None
        self._forget()

    def _forget(self) -> None:
        self.lesson = self.resolved = self.opened = None
        self._update_detached()

    def _on_file_changed(self, path: str) -> None:
        # Some editors replace the file, which drops it from the watch list: watch it again.
        if path not in self.watcher.files() and Path(path).exists():
            self.watcher.addPath(path)
        self._reload_timer.start()

    def _on_opened(self, outcome: OpenedLesson | LessonError, path: Path) -> None:
        if path != self.path:
            return   # closed, or another lesson opened, while this one was read
        from ..lessons import LessonError  # noqa: PLC0415 - imported by the worker already
        if isinstance(outcome, LessonError):
            # A broken file on reload leaves what was playing as it was.
            self.failed.emit(str(outcome))
            return
        self.lesson, self.opened = outcome.lesson, outcome
        # The old binding belongs to the old text: until the new run is bound, there is none.
        self.resolved = None
        self._update_detached()
        self.position, self.answers = saved_progress(self.settings, path)
        self.finished = saved_finished(self.settings, path)
        self.settings.setValue("lessons/last", str(path))
        if outcome.errors:
            # Play what can be played, but say precisely what is wrong, as the checker does.
            self.failed.emit("\n".join(str(e) for e in outcome.errors))
        resolved = outcome.resolved
        if resolved is None:
            return
        self.resolved = resolved
        self.position = min(self.position, len(self.lesson.steps) - 1)
        # Opening a lesson is asking to see it: its run goes on the player (which attaches it).
        self.player.set_trace(resolved.trace)
        self.loaded.emit()
        self.go(self.position)

    def _update_detached(self) -> None:
        detached = self.resolved is not None and self.player.trace is not self.resolved.trace
        if detached != self._detached:
            self._detached = detached
            self.detached_changed.emit(detached)

    # ---------------------------------------------------------------- moving
    @property
    def step(self) -> LessonStep | None:
        if self.lesson is None or not 0 <= self.position < len(self.lesson.steps):
            return None
        return self.lesson.steps[self.position]

    @property
    def count(self) -> int:
        return len(self.lesson.steps) if self.lesson else 0

    @property
    def trace_index(self) -> int:
        """The trace step (0-based) the current lesson step shows, or -1."""
        if self.resolved is None or not 0 <= self.position < len(self.resolved.indices):
            return -1
        return self.resolved.indices[self.position]

    def go(self, position: int) -> None:
        """Show lesson step ``position`` (clamped): narration, its trace step, highlights.

        Does nothing while detached: the learner's own run stays on the player.
        """
        if self.resolved is None or not self.count or self._detached:
            return
        self.position = max(0, min(position, self.count - 1))
        self.player.pause()
        self.player.go(self.resolved.indices[self.position])
        if self.position == self.count - 1:
            self.finished = True
        self._save()
        self.position_changed.emit(self.position)

    def next(self) -> None:
        self.go(self.position + 1)

    def back(self) -> None:
        self.go(self.position - 1)

    def reattach(self) -> None:
        """Put the lesson's run back on the player, at the lesson's current step."""
        if self.resolved is None:
            return
        self.player.pause()
        if self.player.trace is not self.resolved.trace:
            self.player.set_trace(self.resolved.trace)  # emits trace_changed: attached again
        self.go(self.position)

    @property
    def highlights(self) -> tuple:
        if self.resolved is None or self._detached:
            return ()
        return self.resolved.highlights[self.position]

    # ---------------------------------------------------------------- progress
    @property
    def complete(self) -> bool:
        """Whether the last step was reached and every checkpoint answered right."""
        return self.lesson is not None and is_done(self.lesson, self.finished, self.answers)

    @property
    def unanswered(self) -> list[int]:
        """The (1-based) numbers of the steps whose checkpoint is not answered right yet."""
        if self.lesson is None:
            return []
        return [s.number for s in self.lesson.steps
                if s.checkpoint and not self.answers.get(s.number, False)]

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
        import json  # noqa: PLC0415 - see saved_progress
        self.settings.setValue(f"{key}/answers", json.dumps(self.answers))
        if self.finished:
            self.settings.setValue(f"{key}/finished", "true")

"""Opening a lesson off the GUI thread: read, run and checked with the checker's own code.

Apart from runner.py because the lessons' checker and loader are needed only once a lesson is
opened, not to show the window's first trace (issue 11: start-up).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QImage

from ..lessons import Lesson, LessonError, Resolved, Where, load, run_lesson, shipped, verify
from ..lessons.loader import image_file, narration_images
from ..safe_files import MAX_IMAGE_BYTES, read_small_bytes
from .runner import BackgroundRunner


@dataclass(frozen=True)
class OpenedLesson:
    """What opening a lesson needs of the disk, read in the worker: the lesson (its
    source_file read in), its narration images decoded, its run checked, and the title of the
    next lesson of the course (for the "Next lesson" button)."""

    lesson: Lesson
    #: The resolved run, or None when the scenario could not run.
    resolved: Resolved | None
    errors: tuple[LessonError, ...]
    #: Each narration image, keyed as the document asks for it (QUrl(target).toString()).
    images: Mapping[str, QImage] = field(default_factory=dict)
    next_path: Path | None = None
    next_label: str = ""
    #: Whether the lesson is one of the shipped course (with no next one: the last).
    in_course: bool = False


def open_lesson(path: Path) -> OpenedLesson:
    """Load, run and check the lesson at ``path`` (in a worker); LessonError if unreadable."""
    from .lesson_session import lesson_label, next_lesson  # noqa: PLC0415 - no import cycle
    lesson = load(path)
    images = load_narration_images(lesson)
    try:
        resolved, errors = verify(lesson, run_lesson(lesson))
    except LessonError as exc:
        resolved, errors = None, [exc]
    except Exception as exc:  # noqa: BLE001 - a bug in wasmviz: said, and the text still shown
        resolved, errors = None, [LessonError(lesson.where(), f"unexpected error: {exc!r}")]
    nxt, label = next_lesson(path), ""
    if nxt is not None:
        try:
            label = lesson_label(nxt, load(nxt).title)
        except LessonError:
            label = nxt.stem
    in_course = Path(path).resolve() in [p.resolve() for p in shipped()]
    return OpenedLesson(lesson, resolved, tuple(errors), images, nxt, label, in_course)


def load_narration_images(lesson: Lesson) -> dict[str, QImage]:
    """Decode every image the lesson's narration shows, each only if it is a regular file
    of at most MAX_IMAGE_BYTES inside the lesson's folder (as the loader checked): the
    narration then never reads the disk on the GUI thread (review D1)."""
    images: dict[str, QImage] = {}
    for step in lesson.steps:
        for target in narration_images(step.narration):
            key = QUrl(target).toString()
            path = image_file(lesson.path.resolve().parent, target)
            if key in images or path is None:
                continue
            try:
                image = QImage.fromData(read_small_bytes(path, MAX_IMAGE_BYTES,
                                                         "narration image"))
            except (OSError, ValueError):
                continue   # changed since it was checked: it shows as a blank
            if not image.isNull():
                images[key] = image
    return images


class LessonRunner(BackgroundRunner):
    """Opens lessons: reads, runs and checks them with the checker's own code (so the app
    shows exactly the messages `wasmviz lessons check` prints), all off the GUI thread."""

    #: (OpenedLesson, or the LessonError saying why the file cannot be read; path)
    opened = Signal(object, object)

    def start(self, path: Path) -> None:
        self._start(lambda: open_lesson(path), path)

    def _deliver(self, outcome: Any, request: Any) -> None:
        if not isinstance(outcome, (OpenedLesson, LessonError)):
            outcome = LessonError(Where(str(request)), f"unexpected error: {outcome!r}")
        self.opened.emit(outcome, request)

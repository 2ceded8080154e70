"""Guided lessons: the file format, loading, and checking a lesson against the real run.

No Qt here: the command line (`wasmviz lessons check`) and the app share this package. Each
name below is imported when first asked for (PEP 562): the app's window needs a lesson's model
at start-up, not the checker, which runs lessons in the engine (issue 11).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy_names import lazy_exports

if TYPE_CHECKING:  # what a type checker and an editor see: the names, where they live
    from .checker import Resolved, check, check_file, resolve, run_lesson, verify
    from .loader import LESSONS_DIR, MAX_BYTES, find, load, loads, shipped
    from .model import (Checkpoint, Expectation, Highlight, Lesson, LessonError, LessonStep,
                        Where)

#: Where each public name lives.
_HOMES = {
    **dict.fromkeys(("Resolved", "check", "check_file", "resolve", "run_lesson", "verify"),
                    "checker"),
    **dict.fromkeys(("LESSONS_DIR", "MAX_BYTES", "find", "load", "loads", "shipped"), "loader"),
    **dict.fromkeys(("Checkpoint", "Expectation", "Highlight", "Lesson", "LessonError",
                     "LessonStep", "Where"), "model"),
}

__getattr__ = lazy_exports(__name__, _HOMES, globals())

__all__ = sorted(_HOMES)

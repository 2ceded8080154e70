"""Guided lessons: the file format, loading, and checking a lesson against the real run.

No Qt here: the command line (`wasmviz lessons check`) and the app share this package.
"""

from .checker import Resolved, check, check_file, resolve, run_lesson, verify
from .loader import LESSONS_DIR, MAX_BYTES, find, load, loads, shipped
from .model import Checkpoint, Expectation, Highlight, Lesson, LessonError, LessonStep, Where

__all__ = ["LESSONS_DIR", "MAX_BYTES", "Checkpoint", "Expectation", "Highlight", "Lesson",
           "LessonError", "LessonStep", "Resolved", "Where", "check", "check_file", "find",
           "load", "loads", "resolve", "run_lesson", "shipped", "verify"]

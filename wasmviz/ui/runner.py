"""Running engine work off the GUI thread, so the window never freezes.

The engine is Qt-free and each run uses a fresh wasmtime Store inside the worker; only the
finished, immutable result crosses back to the GUI thread (through a queued signal). A newer
request supersedes an older one: only the latest is reported.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from ..engine import EngineError, Scenario, SourceError, Trace, run
from ..lessons import Lesson, LessonError, run_lesson, verify


class _Job(QRunnable):
    def __init__(self, runner: BackgroundRunner, work: Callable[[], Any], serial: int) -> None:
        super().__init__()
        self.runner, self.work, self.serial = runner, work, serial

    def run(self) -> None:
        try:
            outcome = self.work()
        except Exception as exc:  # noqa: BLE001 - the app must stay up whatever happens
            outcome = exc
        self.runner._done.emit(self.serial, outcome)


class BackgroundRunner(QObject):
    """One worker thread; subclasses say what to run and how to report its outcome."""

    busy_changed = Signal(bool)
    _done = Signal(int, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._serial = 0
        self._pending: dict[int, Any] = {}
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._done.connect(self._on_done)

    def _start(self, work: Callable[[], Any], request: Any) -> None:
        self._serial += 1
        self._pending[self._serial] = request
        self.busy_changed.emit(True)
        self._pool.start(_Job(self, work, self._serial))

    def wait(self, ms: int = 30000) -> bool:
        """Block until queued runs are done (for scripts and tests)."""
        return self._pool.waitForDone(ms)

    def _on_done(self, serial: int, outcome: Any) -> None:
        request = self._pending.pop(serial, None)
        if not self._pending:
            self.busy_changed.emit(False)
        if serial == self._serial:
            self._deliver(outcome, request)

    def _deliver(self, outcome: Any, request: Any) -> None:
        raise NotImplementedError


class ScenarioRunner(BackgroundRunner):
    """Runs sandbox scenarios; reports each finished trace or error."""

    finished = Signal(object, object)  # (Trace, Scenario)
    #: (message, (line, column, message) for bad source, else None)
    failed = Signal(str, object)

    def start(self, scenario: Scenario) -> None:
        """Run ``scenario`` in the background; a newer start supersedes an older one."""
        self._start(lambda: run(scenario), scenario)

    def _deliver(self, outcome: Any, request: Any) -> None:
        if isinstance(outcome, Trace):
            self.finished.emit(outcome, request)
        elif isinstance(outcome, SourceError):
            self.failed.emit(str(outcome), (outcome.line, outcome.column, outcome.message))
        elif isinstance(outcome, EngineError):
            self.failed.emit(str(outcome), None)
        else:
            self.failed.emit(f"unexpected error: {outcome!r}", None)


class ParseRunner(BackgroundRunner):
    """Parses a long sandbox source off the GUI thread (review D6: a 1 MB source froze the
    window 16 s, on every start). Reports (program or SourceError, request)."""

    parsed = Signal(object, object)

    def start(self, source: str, request: Any) -> None:
        from ..engine import compile_program  # noqa: PLC0415 - the engine is imported already
        self._start(lambda: compile_program(source), request)

    def _deliver(self, outcome: Any, request: Any) -> None:
        self.parsed.emit(outcome, request)


class TraceFileRunner(BackgroundRunner):
    """Reads, checks and decodes a trace file off the GUI thread (engine.trace_limits).

    Reports (Trace, path) or (message, path)."""

    loaded = Signal(object, object)

    def start(self, path: str) -> None:
        self._start(lambda: read_trace_file(path), path)

    def _deliver(self, outcome: Any, request: Any) -> None:
        self.loaded.emit(outcome, request)


def read_trace_file(path: str) -> Trace | str:
    """The checked trace at ``path``, or a message saying why it cannot be shown."""
    from ..engine.trace_limits import load_trace_file  # noqa: PLC0415 - only when opened
    try:
        return load_trace_file(path)
    except OSError as exc:
        return f"cannot read it ({exc.strerror or exc})"
    except ValueError as exc:
        return f"not a wasmviz trace ({exc})"
    except Exception as exc:  # noqa: BLE001 - a bad file must never take the app down
        return f"not a wasmviz trace ({exc!r})"


class LessonRunner(BackgroundRunner):
    """Runs and checks lessons with the checker's own code, so the app shows exactly the
    messages `wasmviz lessons check` prints."""

    #: (Resolved, or None when the run failed; [LessonError, ...])
    finished = Signal(object, object)

    def start(self, lesson: Lesson) -> None:
        self._start(lambda: verify(lesson, run_lesson(lesson)), lesson)

    def _deliver(self, outcome: Any, request: Any) -> None:
        if isinstance(outcome, tuple):
            self.finished.emit(*outcome)
        elif isinstance(outcome, LessonError):
            self.finished.emit(None, [outcome])
        else:
            self.finished.emit(None, [LessonError(request.where(),
                                                  f"unexpected error: {outcome!r}")])


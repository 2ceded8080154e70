"""Running engine work off the GUI thread, so the window never freezes.

The engine is Qt-free and each run uses a fresh wasmtime Store inside the worker; only the
finished, immutable result crosses back to the GUI thread (through a queued signal). A newer
request supersedes an older one: only the latest is reported. Files are read the same way
(FileRunner; lessons: lesson_runner.LessonRunner): nothing the app opens is read on the GUI thread.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from ..engine import EngineError, Scenario, Trace, run
from ..safe_files import UnsafeFile

if TYPE_CHECKING:
    from ..engine.child_run import FirstRun


class _Job(QRunnable):
    def __init__(self, runner: BackgroundRunner, work: Callable[[], Any], serial: int) -> None:
        super().__init__()
        self.runner, self.work, self.serial = runner, work, serial

    def run(self) -> None:
        try:
            outcome = self.work()
        except Exception as exc:  # noqa: BLE001 - the app must stay up whatever happens
            outcome = exc
        try:
            self.runner._done.emit(self.serial, outcome)
        except RuntimeError:
            pass   # the window that asked was closed meanwhile: nobody is waiting


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

    def start(self, scenario: Scenario, child: FirstRun | None = None) -> None:
        """Run ``scenario`` in the background; a newer start supersedes an older one. With
        ``child``, the app's first run: recorded in that process if it can, else here."""
        self._start(lambda: run(scenario) if child is None else _run_in(child, scenario),
                    scenario)

    def _deliver(self, outcome: Any, request: Any) -> None:
        from ..engine import SourceError  # noqa: PLC0415 - the compiler's, after a run
        if isinstance(outcome, Trace):
            self.finished.emit(outcome, request)
        elif isinstance(outcome, SourceError):
            self.failed.emit(str(outcome), (outcome.line, outcome.column, outcome.message))
        elif isinstance(outcome, EngineError):
            self.failed.emit(str(outcome), None)
        else:
            self.failed.emit(f"unexpected error: {outcome!r}", None)


def _run_in(child: FirstRun, scenario: Scenario) -> Trace:
    from ..engine.child_run import ChildFailed  # noqa: PLC0415 - imported with FirstRun
    try:
        return child.run(scenario)
    except ChildFailed as exc:
        # Nothing the learner needs to act on (the run is the same), but a developer should
        # see it: start-up is slower this way (.ci/run fails on it for the installed wheel).
        print(f"wasmviz: the first run's child process failed ({exc}); recording it here",
              file=sys.stderr)
        return run(scenario)


class TaskRunner(BackgroundRunner):
    """Runs any ``work`` in the worker; ``done`` reports (what it returned, or the exception
    it raised; ``request``). For work that needs no reporting of its own kind."""

    done = Signal(object, object)

    def start(self, work: Callable[[], Any], request: Any = None) -> None:
        self._start(work, request)

    def _deliver(self, outcome: Any, request: Any) -> None:
        self.done.emit(outcome, request)


class ParseRunner(BackgroundRunner):
    """Parses a long sandbox source off the GUI thread (review D6: a 1 MB source froze the
    window 16 s, on every start). Reports (program or SourceError, request)."""

    parsed = Signal(object, object)

    def start(self, source: str, request: Any) -> None:
        from ..engine import compile_program  # noqa: PLC0415 - the engine is imported already
        self._start(lambda: compile_program(source), request)

    def _deliver(self, outcome: Any, request: Any) -> None:
        self.parsed.emit(outcome, request)


class FileRunner(BackgroundRunner):
    """Reads and parses a file off the GUI thread: every file the app opens comes this way
    (a program, a trace, a lesson with its source_file and narration images), so a FIFO, a
    slow disk or a big file never blocks the window. The read itself is safe_files' (a
    regular file under its cap, checked on the open descriptor).

    ``start(path, read)`` runs ``read(path)`` in the worker; ``loaded`` reports
    (what it returned, or the exception it raised; path)."""

    loaded = Signal(object, object)

    def start(self, path: str, read: Callable[[str], Any]) -> None:
        self._start(lambda: read(path), path)

    def _deliver(self, outcome: Any, request: Any) -> None:
        self.loaded.emit(outcome, request)


class TraceFileRunner(FileRunner):
    """Reads, checks and decodes a trace file (engine.trace_limits).

    Reports (Trace, path) or (message, path)."""

    def start(self, path: str, read: Callable[[str], Any] | None = None) -> None:
        super().start(path, read or read_trace_file)


def read_trace_file(path: str) -> Trace | str:
    """The checked trace at ``path``, or a message saying why it cannot be shown."""
    from ..engine.trace_limits import load_trace_file  # noqa: PLC0415 - only when opened
    try:
        return load_trace_file(path)
    except OSError as exc:
        return f"cannot read it ({exc.strerror or exc})"
    except UnsafeFile as exc:   # a FIFO, a device, a folder, too big: refused unread
        return f"cannot read it ({exc})"
    except ValueError as exc:
        return f"not a wasmviz trace ({exc})"
    except Exception as exc:  # noqa: BLE001 - a bad file must never take the app down
        return f"not a wasmviz trace ({exc!r})"

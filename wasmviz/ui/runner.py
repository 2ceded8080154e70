"""Runs scenarios on the engine off the GUI thread, so the window never freezes.

The engine is Qt-free and each run uses a fresh wasmtime Store inside the worker; only the
finished, immutable Trace crosses back to the GUI thread (through a queued signal).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from ..engine import EngineError, Scenario, SourceError, Trace, run


class _Job(QRunnable):
    def __init__(self, runner: ScenarioRunner, scenario: Scenario, serial: int) -> None:
        super().__init__()
        self.runner, self.scenario, self.serial = runner, scenario, serial

    def run(self) -> None:
        try:
            trace = run(self.scenario)
        except SourceError as exc:
            self.runner._failed.emit(self.serial, str(exc), (exc.line, exc.column, exc.message))
        except EngineError as exc:
            self.runner._failed.emit(self.serial, str(exc), None)
        except Exception as exc:  # noqa: BLE001 - the app must stay up whatever happens
            self.runner._failed.emit(self.serial, f"unexpected error: {exc!r}", None)
        else:
            self.runner._done.emit(self.serial, trace)


class ScenarioRunner(QObject):
    """Starts runs; reports each finished trace or error. Only the latest run is reported."""

    finished = Signal(object, object)  # (Trace, Scenario)
    #: (message, (line, column, message) for bad source, else None)
    failed = Signal(str, object)
    busy_changed = Signal(bool)

    _done = Signal(int, object)
    _failed = Signal(int, str, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._serial = 0
        self._scenarios: dict[int, Scenario] = {}
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._done.connect(self._on_done)
        self._failed.connect(self._on_failed)

    @property
    def busy(self) -> bool:
        return bool(self._scenarios)

    def start(self, scenario: Scenario) -> None:
        """Run ``scenario`` in the background; a newer start supersedes an older one."""
        self._serial += 1
        self._scenarios[self._serial] = scenario
        self.busy_changed.emit(True)
        self._pool.start(_Job(self, scenario, self._serial))

    def wait(self, ms: int = 30000) -> bool:
        """Block until queued runs are done (for scripts and tests)."""
        return self._pool.waitForDone(ms)

    def _finish(self, serial: int) -> Scenario | None:
        scenario = self._scenarios.pop(serial, None)
        if not self._scenarios:
            self.busy_changed.emit(False)
        return scenario if serial == self._serial else None

    def _on_done(self, serial: int, trace: Trace) -> None:
        scenario = self._finish(serial)
        if scenario is not None:
            self.finished.emit(trace, scenario)

    def _on_failed(self, serial: int, message: str, where: object) -> None:
        if self._finish(serial) is not None:
            self.failed.emit(message, where)

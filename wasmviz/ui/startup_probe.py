"""`wasmviz --startup-probe`: how long the real app takes to show its first trace.

The bench (bench/bench_ui.py, part 1) starts the app exactly as a user does, with this hidden
option, and compares it with an empty PySide6 window started the same way (issue 11). The
probe prints ``first-trace T`` once the diagram has painted a step of the first recorded trace,
T a wall-clock time (time.time(), comparable with the launching process's), and quits.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication

from .main_window import MainWindow


class StartupProbe(QObject):
    """Watches the diagram's viewport for its first paint with a trace on the player."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        window.central.viewport().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Paint and len(self.window.player.trace) > 0:
            watched.removeEventFilter(self)
            # Runs once this paint (and the flush to the window that follows it) is over.
            QTimer.singleShot(0, self._painted)
        return False

    def _painted(self) -> None:
        print(f"first-trace {time.time():.6f}", flush=True)
        self.window.close()
        QApplication.instance().quit()  # type: ignore[union-attr]


def install(window: MainWindow) -> StartupProbe:
    """Make ``window`` report when its first trace is on screen, then quit."""
    return StartupProbe(window)

"""WASMVIZ_STARTUP_PROBE=1 wasmviz: how long the real app takes to show its first trace.

The bench (bench/bench_ui.py, part 1) starts the app exactly as a user does (`wasmviz`, no
arguments), with this variable set, and compares it with an empty PySide6 window started the
same way (issue 11). The
probe prints ``first-trace T`` once the diagram has painted a step of the first recorded trace,
T a wall-clock time (time.time(), comparable with the launching process's), and quits.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication

from .main_window import MainWindow


class StartupProbe(QObject):
    """Watches the window for its first repaint with a trace on the player.

    Qt paints a window's widgets, the diagram among them, when the window handles an
    UpdateRequest; the probe watches for that on the window itself, not on the diagram's
    viewport, as taking hold of the viewport from Python would cost start-up time of its own.
    """

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.UpdateRequest and len(self.window.player.trace) > 0:
            watched.removeEventFilter(self)
            # Runs once this repaint (the diagram's, with the trace) and its flush are over.
            QTimer.singleShot(0, self._painted)
        return False

    def _painted(self) -> None:
        print(f"first-trace {time.time():.6f}", flush=True)
        self.window.close()
        QApplication.instance().quit()  # type: ignore[union-attr]


def install(window: MainWindow) -> StartupProbe:
    """Make ``window`` report when its first trace is on screen, then quit."""
    return StartupProbe(window)

"""Starting the desktop app."""

from __future__ import annotations

import sys


def run_app(argv: list[str] | None = None, lesson: str | None = None,
            probe: bool = False) -> int:
    """Open the main window with a sandbox scenario (or ``lesson``) ready; return the status.
    With ``probe``, print when the first trace is on screen and quit (startup_probe.py)."""
    first_run = None
    if lesson is None:
        # Started first, so that it imports wasmtime and loads main while this process
        # imports Qt and builds the window (engine/child_run.py, issue 11).
        from ..engine.child_run import FirstRun  # noqa: PLC0415
        first_run = FirstRun()
    from PySide6.QtWidgets import QApplication  # noqa: PLC0415

    from .main_window import MainWindow  # noqa: PLC0415
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("wasmviz")
    app.setOrganizationName("wasmviz")
    window = MainWindow(lesson=lesson, first_run=first_run)
    if probe:
        from .startup_probe import install  # noqa: PLC0415
        install(window)
    window.show()
    return int(app.exec())

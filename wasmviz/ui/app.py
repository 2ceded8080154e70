"""Starting the desktop app."""

from __future__ import annotations

import gc
import os
import sys


def run_app(argv: list[str] | None = None, lesson: str | None = None) -> int:
    """Open the main window with a sandbox scenario (or ``lesson``) ready; return the status.
    With WASMVIZ_STARTUP_PROBE=1 in the environment, print when the first trace is on screen
    and quit (startup_probe.py: how bench/bench_ui.py times a start)."""
    # No garbage collection while the window is made: start-up allocates ~100,000 objects
    # (modules, classes, widgets' wrappers), nearly all kept for the life of the app, and
    # collecting them over and over cost ~10 ms of it (issue 11). Once the window is up, they
    # are moved out of the collector's way (gc.freeze) and collection resumes.
    gc.disable()
    first_run = None
    if lesson is None:
        # Started first, so that it imports wasmtime and loads main while this process
        # imports Qt and builds the window (engine/child_run.py, issue 11).
        from ..engine.child_run import FirstRun  # noqa: PLC0415
        first_run = FirstRun()
    from PySide6.QtCore import QSettings, QTimer  # noqa: PLC0415
    from PySide6.QtWidgets import QApplication  # noqa: PLC0415

    from .window_settings import first_scenario  # noqa: PLC0415
    settings = QSettings("wasmviz", "wasmviz")
    if first_run is not None:
        # The window asks for the same run from the same settings: the child records it
        # meanwhile. Should the window ask for another, it is recorded here instead.
        scenario = first_scenario(settings)
        if scenario is not None:
            first_run.start(scenario)
    from .main_window import MainWindow  # noqa: PLC0415
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("wasmviz")
    app.setOrganizationName("wasmviz")
    window = MainWindow(settings=settings, lesson=lesson, first_run=first_run)
    if os.environ.get("WASMVIZ_STARTUP_PROBE") == "1":
        from .startup_probe import install  # noqa: PLC0415
        install(window)
    window.show()
    QTimer.singleShot(0, _collect_again)
    return int(app.exec())


def _collect_again() -> None:
    gc.freeze()
    gc.enable()

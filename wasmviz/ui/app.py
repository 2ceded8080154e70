"""Starting the desktop app."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

from .main_window import MainWindow


def run_app(argv: list[str] | None = None, lesson: str | None = None) -> int:
    """Open the main window with a sandbox scenario (or ``lesson``) ready; return the status."""
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("wasmviz")
    app.setOrganizationName("wasmviz")
    window = MainWindow(lesson=lesson)
    window.show()
    return int(app.exec())

"""Starting the desktop app."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

from .main_window import MainWindow


def run_app(argv: list[str] | None = None) -> int:
    """Open the main window with a sandbox scenario ready; return the exit status."""
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("wasmviz")
    app.setOrganizationName("wasmviz")
    window = MainWindow()
    window.show()
    return int(app.exec())

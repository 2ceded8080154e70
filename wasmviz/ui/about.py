"""Help dialogs: About (version, licence, links) and the keyboard reference.

The keyboard reference is read from the window's own actions, so it can never list a shortcut
that does not exist or miss one that does.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QMainWindow, QMessageBox, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from .. import __version__

ARTICLE = "https://wingolog.org/archives/2022/08/18/just-in-time-code-generation-within-webassembly"
REFERENCE = "https://github.com/wingo/wasm-jit"


def about_text() -> str:
    return (f"<h3>wasmviz {__version__}</h3>"
            "<p>wasmviz runs a real main module in wasmtime and records how its JIT generates a "
            "module in linear memory, how the host links it by importing the main module's "
            "table and memory, how the new module patches the table and relocates memory, and "
            "how main calls the new code with <code>call_indirect</code>: late linking.</p>"
            "<p>Licence: MIT (see the LICENSE file shipped with wasmviz).</p>"
            f"<p>The idea: Andy Wingo, <a href='{ARTICLE}'>Just-in-time code generation within "
            f"WebAssembly</a> (2022); its reference code: <a href='{REFERENCE}'>{REFERENCE}</a>."
            "</p><p>Keyboard: Help → Keyboard shortcuts (Ctrl+/).</p>")


def show_about(parent: QWidget) -> None:
    QMessageBox.about(parent, "About wasmviz", about_text())


def show_about_qt(parent: QWidget) -> None:
    QMessageBox.aboutQt(parent, "About Qt")


def shortcut_rows(window: QMainWindow) -> list[tuple[str, str, str]]:
    """(menu, command, keys) for every menu action that has a shortcut, in menu order."""
    rows: list[tuple[str, str, str]] = []

    def walk(menu_title: str, actions: list[QAction]) -> None:
        for action in actions:
            if action.menu() is not None:
                walk(menu_title, action.menu().actions())
                continue
            keys = [k.toString(QKeySequence.SequenceFormat.NativeText)
                    for k in action.shortcuts() if not k.isEmpty()]
            if keys:
                text = action.text().replace("&", "").split("\t")[0]
                rows.append((menu_title, text, ", ".join(keys)))

    for top in window.menuBar().actions():
        if top.menu() is not None:
            walk(top.text().replace("&", ""), top.menu().actions())
    return rows


class ShortcutsDialog(QDialog):
    """A table of every shortcut, non-modal, so it can stay open while stepping."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.setWindowTitle("Keyboard shortcuts")
        rows = shortcut_rows(window)
        table = QTableWidget(len(rows), 3, self)
        table.setAccessibleName("Keyboard shortcuts")
        table.setHorizontalHeaderLabels(["Menu", "Command", "Keys"])
        table.verticalHeader().hide()
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.setTabKeyNavigation(False)
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                table.setItem(r, c, QTableWidgetItem(text))
        table.resizeColumnsToContents()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        layout.addWidget(buttons)
        self.table = table
        self.resize(min(720, table.horizontalHeader().length() + 60), 520)


def show_shortcuts(window: QMainWindow) -> ShortcutsDialog:
    dialog = ShortcutsDialog(window)
    dialog.show()
    return dialog

"""The window's File commands: open/save a program, open/export a trace, export the diagram.

They live apart from main_window.py because they are one concern (moving text and traces
between the app and the disk, with a dialog when no path is given, and every failure reported
in Messages instead of raised) and the window file was past the size guideline. Every file is
read by a worker (runner.FileRunner), never on the GUI thread. MainWindow
inherits FileCommands, so ``window.open_program(...)`` and the rest keep their names.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ..engine import Trace
from ..safe_files import read_small_text
from .runner import FileRunner, TraceFileRunner

if TYPE_CHECKING:
    from PySide6.QtWidgets import QDockWidget

    from .diagram.view import DiagramView
    from .player import Player
    from .sandbox import SandboxPanel

#: Program files are a few lines; a larger one is a mistake (or /dev/zero).
MAX_PROGRAM_BYTES = 256 * 1024


def read_program(path: str) -> str:
    """The text of the program file at ``path`` (run by a worker: never on the GUI thread).

    Raises UnsafeFile (a FIFO, a device, a folder, too big, not UTF-8) or OSError."""
    return read_small_text(Path(path), MAX_PROGRAM_BYTES)


class FileCommands:
    """File-menu commands mixed into MainWindow.

    The window provides the attributes annotated below, ``notify`` and QMainWindow's own
    methods; a failure is reported with ``notify``, never raised into Qt.
    """

    if TYPE_CHECKING:
        sandbox: SandboxPanel
        player: Player
        central: DiagramView
        docks: dict[str, QDockWidget]
        _trace_files: TraceFileRunner | None
        _program_files: FileRunner | None
        _shown_what: str

    # ---------------------------------------------------------------- programs
    @staticmethod
    def example_programs() -> list[Path]:
        """The example programs shipped with wasmviz (wasmviz/data/programs/*.wv)."""
        from ..data import PROGRAMS_DIR  # noqa: PLC0415 - see data/__init__.py
        folder = PROGRAMS_DIR
        return sorted(folder.glob("*.wv")) if folder.is_dir() else []

    def open_program(self, path: str | None) -> bool:
        """Start loading a program file into the sandbox editor (nothing runs until Run).

        A worker reads it; the editor changes when it is read, or Messages says why not (the
        editor keeps what it had). False only if no file was chosen.
        """
        if path is None:
            folder = self.example_programs()[0].parent if self.example_programs() else Path()
            from PySide6.QtWidgets import QFileDialog  # noqa: PLC0415 - on use (issue 11)
            path, _ = QFileDialog.getOpenFileName(self, "Open program", str(folder),
                                                  "Programs (*.wv);;All files (*)")
            if not path:
                return False
        # Made on first use (as _trace_files), so MainWindow needs to know nothing of it.
        runner = getattr(self, "_program_files", None)
        if runner is None:
            runner = self._program_files = FileRunner(self)
            runner.loaded.connect(self._on_program_file)
        self.statusBar().showMessage(f"Opening {path}…", 5000)
        # read_program is looked up now, so a test can watch which thread reads.
        runner.start(str(path), read_program)
        return True

    def _on_program_file(self, text: object, path: str) -> None:
        """The worker's outcome: the program's text, or the exception saying why not."""
        if not isinstance(text, str):
            self.notify(f"Could not open {path}: {text}", error=True)
            return
        self.sandbox.editor.setPlainText(text)
        self.sandbox.call_edit.clear()
        self.docks["Sandbox"].show()
        self.docks["Sandbox"].raise_()
        self.statusBar().showMessage(f"Loaded {Path(path).name}: press Run (Ctrl+Enter) or "
                                     f"JIT now (Ctrl+J)", 8000)
        return True

    def save_program(self, path: str | None) -> str | None:
        return self._save_text(path, ("Save program", "program.wv", "Programs (*.wv)"),
                               self.sandbox.editor.toPlainText)

    def _save_text(self, path: str | None, dialog: tuple[str, str, str],
                   text: Callable[[], str]) -> str | None:
        """Write ``text()`` to ``path`` (asked with ``dialog``: title, name, filter if None)."""
        if path is None:
            from PySide6.QtWidgets import QFileDialog  # noqa: PLC0415 - on use (issue 11)
            path, _ = QFileDialog.getSaveFileName(self, *dialog)
        if not path:
            return None
        try:
            Path(path).write_text(text(), encoding="utf-8")
        except OSError as exc:
            self.notify(f"Could not save {path}: {exc}", error=True)
            return None
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return path

    # ---------------------------------------------------------------- diagram and traces
    def export_diagram(self, kind: str, path: str | None = None) -> str | None:
        if path is None:
            from PySide6.QtWidgets import QFileDialog  # noqa: PLC0415 - on use (issue 11)
            path, _ = QFileDialog.getSaveFileName(self, f"Export diagram as {kind.upper()}",
                                                  f"wasmviz.{kind}", f"{kind.upper()} (*.{kind})")
        if not path:
            return None
        try:
            render = getattr(self.central, f"render_{kind}")
            render(path)
        except Exception as exc:  # noqa: BLE001 - report, never crash
            self.notify(f"Could not export {path}: {exc}", error=True)
            return None
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return path

    def export_trace(self, path: str | None = None) -> str | None:
        return self._save_text(path, ("Export trace", "trace.json", "JSON (*.json)"),
                               lambda: self.player.trace.dumps(indent=1))

    def open_trace(self, path: str | None = None) -> None:
        """Start opening a trace file: a worker reads, checks and decodes it, then the player
        shows it (or Messages says why not)."""
        if path is None:
            from PySide6.QtWidgets import QFileDialog  # noqa: PLC0415 - on use (issue 11)
            path, _ = QFileDialog.getOpenFileName(self, "Open trace", "", "JSON (*.json)")
        if not path:
            return
        # Read, checked against limits and decoded by a worker (engine.trace_limits): a file
        # claiming 10^9 pages once took the app past 6 GB, and a bad one raised in views.
        # Every file, however small: a FIFO or a slow disk must not freeze the window.
        if self._trace_files is None:
            self._trace_files = TraceFileRunner(self)
            self._trace_files.loaded.connect(self._on_trace_file)
        self.statusBar().showMessage(f"Opening {path}…", 5000)
        self._trace_files.start(str(path))

    def _on_trace_file(self, outcome: object, path: str) -> None:
        if not isinstance(outcome, Trace):
            self.notify(f"Could not open {path}: {outcome}", error=True)
            return
        self._shown_what = f"trace {Path(path).name}"
        self.player.set_trace(outcome)

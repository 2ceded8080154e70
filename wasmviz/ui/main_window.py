"""The main window: diagram in the centre, docked views, sandbox, transport, menus."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QLabel, QListWidget, QListWidgetItem,
                               QMainWindow, QMessageBox, QWidget)

from ..engine import FAULTS, Scenario, Trace
from ..lessons import LESSONS_DIR, LessonError
from ..lessons import find as find_lesson
from .lesson_panel import LessonPanel
from .lesson_session import LessonSession
from .player import Player
from .runner import ScenarioRunner
from .sandbox import SandboxPanel
from .theme import apply_theme
from .transport import TransportBar
from .views import make_central, make_docks

DEFAULT_SOURCE = "x * x + 3"


class MainWindow(QMainWindow):
    """wasmviz's window. Everything it shows comes from the player's recorded trace."""

    def __init__(self, settings: QSettings | None = None, autorun: bool = True,
                 lesson: str | None = None) -> None:
        super().__init__()
        self.setWindowTitle("wasmviz — watch a JIT link new code into WebAssembly")
        self.setObjectName("wasmviz-main")
        self.settings = settings or QSettings("wasmviz", "wasmviz")
        self.player = Player(self)
        self.runner = ScenarioRunner(self)
        self.scenario: Scenario | None = None
        self._first_layout = False
        self._counted_table: object = None
        self._used_slots = 0

        self.central = make_central(self.player)
        self.setCentralWidget(self.central)
        self.transport = TransportBar(self.player, self)
        self.addToolBar(self.transport)

        self.sandbox = SandboxPanel()
        self.docks: dict[str, QDockWidget] = {}
        self._dock("Sandbox", self.sandbox, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.session = LessonSession(self.player, self.settings, self)
        self.lesson_panel = LessonPanel(self.session)
        self._dock("Lesson", self.lesson_panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        for title, widget, area in make_docks(self.player):
            self._dock(title, widget, area)
        self.messages = QListWidget()
        self.messages.setToolTip("Errors and notices; the app keeps running whatever happens")
        self._dock("Messages", self.messages, Qt.DockWidgetArea.BottomDockWidgetArea)
        self._tabify()

        self.status_phase = QLabel()
        self.status_slots = QLabel()
        self.status_pages = QLabel()
        self.status_fuel = QLabel()
        for label, tip in ((self.status_phase, "Phase of the current step"),
                           (self.status_slots, "Table slots holding a function / table size"),
                           (self.status_pages, "Linear memory size in 64 KiB pages"),
                           (self.status_fuel, "wasmtime fuel consumed so far")):
            label.setToolTip(tip)
            self.statusBar().addPermanentWidget(label)

        self._menus()
        self.sandbox.scenario_requested.connect(self.run_scenario)
        self.sandbox.input_error.connect(lambda msg, _where: self.notify(msg, error=True))
        self.runner.finished.connect(self._on_trace_ready)
        self.runner.failed.connect(self._on_run_failed)
        self.runner.busy_changed.connect(self._on_busy)
        self.player.step_changed.connect(self._on_step_changed)
        self.session.failed.connect(lambda msg: self.notify(msg, error=True))
        self.session.position_changed.connect(self._on_lesson_position)
        self._restore()
        if lesson is not None:
            self.open_lesson(lesson)
        elif autorun:
            self.sandbox.request(jit_now=True)

    # ---------------------------------------------------------------- building
    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{title.lower().replace(' ', '-')}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.docks[title] = dock
        return dock

    def _tabify(self) -> None:
        self.tabifyDockWidget(self.docks["Sandbox"], self.docks["Lesson"])
        self.docks["Sandbox"].raise_()
        right = [d for d in self.docks.values()
                 if self.dockWidgetArea(d) == Qt.DockWidgetArea.RightDockWidgetArea]
        for a, b in zip(right, right[1:]):
            self.tabifyDockWidget(a, b)
        if right:
            right[0].raise_()
        # Side by side at the bottom: the log and the messages are both worth seeing at once.
        bottom = [d for d in self.docks.values()
                  if self.dockWidgetArea(d) == Qt.DockWidgetArea.BottomDockWidgetArea]
        for a, b in zip(bottom, bottom[1:]):
            self.splitDockWidget(a, b, Qt.Orientation.Horizontal)
        if len(bottom) > 1:
            self.resizeDocks(bottom, [3, 1], Qt.Orientation.Horizontal)

    def _add(self, menu: object, text: str, slot: object, key: str | None = None,
             tip: str = "") -> QAction:
        action = QAction(text, self)
        if key:
            action.setShortcut(QKeySequence(key))
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        menu.addAction(action)  # type: ignore[attr-defined]
        return action

    def _menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        self._add(file, "Export diagram as &PNG…", lambda: self.export_diagram("png"), "Ctrl+E")
        self._add(file, "Export diagram as &SVG…", lambda: self.export_diagram("svg"),
                  "Ctrl+Shift+E")
        self._add(file, "Export &trace as JSON…", self.export_trace, "Ctrl+S")
        self._add(file, "&Open trace JSON…", self.open_trace, "Ctrl+O")
        file.addSeparator()
        self._add(file, "&Lessons…", self.show_lessons, "F1",
                  "The guided lessons, from first contact to expert")
        self._add(file, "Open &lesson file…", lambda: self.open_lesson(None), "Ctrl+L",
                  "Open a lesson file from disk; it reloads when you save it")
        file.addSeparator()
        self._add(file, "&Quit", self.close, "Ctrl+Q")
        run = bar.addMenu("&Run")
        self._add(run, "&Run (interpret, tier up)", lambda: self.sandbox.request(False),
                  "Ctrl+Return", "Run the sandbox input in the interpreter; hot code tiers up")
        self._add(run, "&JIT now", lambda: self.sandbox.request(True), "Ctrl+J",
                  "Compile the sandbox input at once and call it through the table")
        faults = run.addMenu("&Faults")
        for name in FAULTS:
            self._add(faults, name, lambda _=False, n=name: self.run_fault(n),
                      tip=f"Run a scenario that ends in the {name} fault")
        view = bar.addMenu("&View")
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        self.dark_action = self._add(view, "&Dark palette", self._on_dark_toggled, "Ctrl+D")
        self.dark_action.setCheckable(True)
        help_menu = bar.addMenu("&Help")
        self._add(help_menu, "&About wasmviz", self._about)

    # ---------------------------------------------------------------- running
    def run_scenario(self, scenario: Scenario) -> None:
        """Run ``scenario`` in the background; the current trace stays until it is done."""
        self.scenario = scenario
        self.statusBar().showMessage("Running in wasmtime…")
        self.runner.start(scenario)

    def run_fault(self, fault: str) -> None:
        source = self.sandbox.editor.toPlainText().strip()
        expr = source if source and "def" not in source else "x * x + 3"
        self.run_scenario(Scenario.for_fault(fault, expr=expr))

    def _on_trace_ready(self, trace: Trace, scenario: Scenario) -> None:
        self.player.set_trace(trace)
        outcome = (f"result {trace.result}" if trace.trap is None
                   else f"trap {trace.trap.code}")
        self.statusBar().showMessage(f"Recorded {len(trace)} steps; {outcome}", 5000)
        self._save_inputs()

    def _on_run_failed(self, message: str, where: object) -> None:
        self.sandbox.show_error(message, where)
        self.notify(message, error=True)

    def _on_busy(self, busy: bool) -> None:
        self.sandbox.run_button.setEnabled(not busy)
        self.sandbox.jit_button.setEnabled(not busy)

    def notify(self, message: str, error: bool = False) -> None:
        """Add ``message`` to the non-modal Messages panel and show it."""
        item = QListWidgetItem(("⚠ " if error else "") + message)
        item.setToolTip(message)
        self.messages.addItem(item)
        self.messages.scrollToBottom()
        self.docks["Messages"].show()
        self.docks["Messages"].raise_()

    # ---------------------------------------------------------------- lessons
    def open_lesson(self, name_or_path: str | None) -> bool:
        """Open a lesson by shipped name/number or path (None: ask with a file dialog)."""
        if name_or_path is None:
            name_or_path, _ = QFileDialog.getOpenFileName(self, "Open lesson", str(LESSONS_DIR),
                                                          "Lessons (*.toml)")
            if not name_or_path:
                return False
        try:
            path = find_lesson(name_or_path)
        except LessonError as exc:
            self.notify(str(exc), error=True)
            return False
        self._show_lesson_dock()
        self.lesson_panel.open(path)
        return True

    def show_lessons(self) -> None:
        self._show_lesson_dock()
        self.lesson_panel.show_browser()

    def _show_lesson_dock(self) -> None:
        dock = self.docks["Lesson"]
        dock.show()
        dock.raise_()
        # Narration needs room to read; the sandbox's width is too narrow for it.
        if dock.width() < 360:
            self.resizeDocks([dock], [380], Qt.Orientation.Horizontal)

    def _on_lesson_position(self, _position: int) -> None:
        """Point the diagram and the docks at what this lesson step highlights."""
        highlights = self.session.highlights
        self.central.set_highlights(highlights)
        for h in highlights:
            if h.kind == "memory":
                self.docks["Memory"].widget().go_to(h.target)  # type: ignore[attr-defined]
            elif h.kind == "slot":
                self.docks["Table"].widget().select_slot(h.target)  # type: ignore[attr-defined]
            elif h.kind == "section":
                self.docks["Module"].widget().select_section(h.target)  # type: ignore[attr-defined]

    # ---------------------------------------------------------------- status
    def _on_step_changed(self, index: int, _previous: int) -> None:
        step = self.player.current
        if step is None:
            return
        if step.table is not self._counted_table:
            # Unchanged tables are shared between steps: count a 10,000-slot table only once.
            self._counted_table = step.table
            self._used_slots = sum(1 for s in step.table if s.kind != "null")
        used = self._used_slots
        self.status_phase.setText(f" phase: {step.phase} / {step.kind} ")
        self.status_slots.setText(f" slots: {used}/{len(step.table)} ")
        self.status_pages.setText(f" memory: {step.memory_pages} pages ")
        self.status_fuel.setText(f" fuel: {step.fuel_used:,} ")

    # ---------------------------------------------------------------- files
    def export_diagram(self, kind: str, path: str | None = None) -> str | None:
        if path is None:
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
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export trace", "trace.json",
                                                  "JSON (*.json)")
        if not path:
            return None
        try:
            Path(path).write_text(self.player.trace.dumps(indent=1), encoding="utf-8")
        except OSError as exc:
            self.notify(f"Could not save {path}: {exc}", error=True)
            return None
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return path

    def open_trace(self, path: str | None = None) -> None:
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Open trace", "", "JSON (*.json)")
        if not path:
            return
        try:
            trace = Trace.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.notify(f"Could not open {path}: not a wasmviz trace ({exc})", error=True)
            return
        self.player.set_trace(trace)

    # ---------------------------------------------------------------- settings
    def _restore(self) -> None:
        s = self.settings
        geometry = s.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 860)
        state = s.value("window/state")
        if state is not None:
            self.restoreState(state)
        else:
            self._first_layout = True
        self.sandbox.editor.setPlainText(str(s.value("sandbox/source", DEFAULT_SOURCE)))
        self.sandbox.args_edit.setText(str(s.value("sandbox/args", "7")))
        self.transport.set_speed(float(s.value("player/speed", 2.0)))
        dark = str(s.value("view/dark", "false")).lower() == "true"
        self.dark_action.setChecked(dark)
        apply_theme(dark)

    def _save_inputs(self) -> None:
        self.settings.setValue("sandbox/source", self.sandbox.editor.toPlainText())
        self.settings.setValue("sandbox/args", self.sandbox.args_edit.text())

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self._first_layout:
            # First start: give the diagram most of the room (docks only size once shown).
            self._first_layout = False
            left = 380 if self.session.path is not None else 250  # narration needs room
            self.resizeDocks([self.docks["Sandbox"], self.docks["Memory"]], [left, 430],
                             Qt.Orientation.Horizontal)
            self.resizeDocks([self.docks["Event log"]], [190], Qt.Orientation.Vertical)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.player.pause()
        self.runner.wait(5000)
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("player/speed", self.player.speed)
        s.setValue("view/dark", self.dark_action.isChecked())
        self._save_inputs()
        s.sync()
        super().closeEvent(event)

    def _on_dark_toggled(self) -> None:
        apply_theme(self.dark_action.isChecked())

    def _about(self) -> None:
        QMessageBox.about(self, "About wasmviz",
                          "wasmviz runs a real main module in wasmtime and records how its JIT "
                          "generates a module, links it by importing the table and memory, "
                          "patches the table and relocates memory, and calls the new code with "
                          "call_indirect (Andy Wingo's late linking).")

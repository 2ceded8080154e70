"""The main window: diagram in the centre, docked views, sandbox, transport, menus."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QRect, QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QShowEvent
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QLabel, QListWidget, QListWidgetItem,
                               QMainWindow, QTabBar, QWidget)

from ..data import PROGRAMS_DIR
from ..engine import Scenario, Trace
from ..safe_files import is_small_regular_file, read_small_text
from ..lessons import LESSONS_DIR, LessonError
from ..lessons import find as find_lesson
from .lesson_panel import LessonPanel
from .menus import build_menus
from .lesson_session import LessonSession, lesson_label
from .player import Player
from .runner import ScenarioRunner, TraceFileRunner, read_trace_file
from .sandbox import SandboxPanel
from .theme import apply_theme
from .transport import TransportBar
from .views import make_central, make_docks
from .window_layout import (FocusMode, arrange_docks, clamp_geometry, configure_tabs,
                            initial_geometry)

DEFAULT_SOURCE = "x * x + 3"
#: Program files are a few lines; a larger one is a mistake (or /dev/zero).
MAX_PROGRAM_BYTES = 256 * 1024
#: A trace file up to this size is read on the GUI thread (tens of ms); a bigger one by a worker.
SYNC_TRACE_BYTES = 1024 * 1024
APP_TITLE = "wasmviz"


class MainWindow(QMainWindow):
    """wasmviz's window. Everything it shows comes from the player's recorded trace."""

    def __init__(self, settings: QSettings | None = None, autorun: bool = True,
                 lesson: str | None = None) -> None:
        super().__init__()
        self.setObjectName("wasmviz-main")
        self._shown_what = "watch a JIT link new code into WebAssembly"
        self._update_title()
        self.settings = settings or QSettings("wasmviz", "wasmviz")
        self.player = Player(self)
        self.runner = ScenarioRunner(self)
        self._trace_files: TraceFileRunner | None = None  # made when a trace is first opened
        self.scenario: Scenario | None = None
        self._first_layout = False
        self._counted_table: object = None
        self._used_slots = 0

        self.central = make_central(self.player)
        self.setCentralWidget(self.central)
        self.transport = TransportBar(self.player, self)
        self.addToolBar(self.transport)
        configure_tabs(self)

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
        self.messages.setAccessibleName("Messages")
        self.messages.setWordWrap(True)
        self.messages.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.messages.setUniformItemSizes(False)
        self._dock("Messages", self.messages, Qt.DockWidgetArea.RightDockWidgetArea)
        self.focus_mode = FocusMode(self, self.docks)

        self.status_phase = QLabel()
        self.status_slots = QLabel()
        self.status_pages = QLabel()
        self.status_fuel = QLabel()
        for label, tip in ((self.status_phase, "Phase of the current step"),
                           (self.status_slots, "Table slots holding a function / table size"),
                           (self.status_pages, "Linear memory size in 64 KiB pages"),
                           (self.status_fuel, "wasmtime fuel consumed so far")):
            label.setToolTip(tip)
            label.setAccessibleName(tip)
            self.statusBar().addPermanentWidget(label)
        # Fixed sizes that hold the longest usual text: a label whose size can change makes
        # every step relayout the window (and repaint all of it).
        for label, longest in ((self.status_phase, " phase: generate / link-error "),
                               (self.status_slots, " slots: 9999/10000 "),
                               (self.status_pages, " memory: 1000 pages "),
                               (self.status_fuel, " fuel: 999,999,999 ")):
            label.setFixedSize(label.fontMetrics().horizontalAdvance(longest),
                               label.sizeHint().height())

        self.focus_action: QAction
        self.dark_action: QAction
        build_menus(self)
        self.sandbox.scenario_requested.connect(self.run_scenario)
        # The sandbox shows its own input errors in place: raising Messages over it (they share
        # a tab column on small screens) would hide the underline.
        self.sandbox.input_error.connect(lambda msg, _where: self.notify(msg, error=True,
                                                                         bring_forward=False))
        self.runner.finished.connect(self._on_trace_ready)
        self.player.trace_changed.connect(self._update_title)
        self.runner.failed.connect(self._on_run_failed)
        self.runner.busy_changed.connect(self._on_busy)
        self.player.step_changed.connect(self._on_step_changed)
        self.session.failed.connect(lambda msg: self.notify(msg, error=True))
        self.session.position_changed.connect(self._on_lesson_position)
        self.session.loaded.connect(self._on_lesson_loaded)
        # A lesson's rings belong to its own run: off the picture while another run is shown.
        self.session.detached_changed.connect(self._on_lesson_detached)
        self._restore()
        if lesson is not None:
            self.open_lesson(lesson)
        elif autorun:
            self.sandbox.request(jit_now=True)

    # ---------------------------------------------------------------- building
    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        # Re-docking by hand can create new tab bars: name them as they appear.
        dock.dockLocationChanged.connect(lambda _area: self.name_dock_tabs())
        dock.setObjectName(f"dock-{title.lower().replace(' ', '-')}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.docks[title] = dock
        return dock

    # ---------------------------------------------------------------- running
    def run_scenario(self, scenario: Scenario, what: str | None = None) -> None:
        """Run ``scenario`` in the background; the current trace stays until it is done."""
        self.scenario = scenario
        self._pending_what = what or self._describe(scenario)
        self.statusBar().showMessage("Running in wasmtime…")
        self.runner.start(scenario)

    def run_fault(self, fault: str) -> None:
        source = self.sandbox.editor.toPlainText().strip()
        expr = source if source and "def" not in source else "x * x + 3"
        self.run_scenario(Scenario.for_fault(fault, expr=expr), f"fault {fault}: {expr}")

    @staticmethod
    def _describe(scenario: Scenario) -> str:
        if scenario.exprs:
            return "sandbox: " + scenario.exprs[-1]
        if scenario.call:
            args = ", ".join(str(a) for a in scenario.args)
            return f"sandbox: {scenario.call}({args})"
        return "sandbox run"

    def _on_trace_ready(self, trace: Trace, scenario: Scenario) -> None:
        self._shown_what = getattr(self, "_pending_what", "sandbox run")
        self.player.set_trace(trace)
        # Stepping is what comes next: the keys must reach the diagram, not the form.
        self.central.setFocus(Qt.FocusReason.OtherFocusReason)
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

    def notify(self, message: str, error: bool = False, bring_forward: bool = True) -> None:
        """Add ``message`` to the non-modal Messages panel (and show it, unless told not to)."""
        item = QListWidgetItem(("⚠ " if error else "") + message)
        item.setToolTip(message)
        self.messages.addItem(item)
        self.messages.scrollToBottom()
        self.statusBar().showMessage(("⚠ " if error else "") + message, 8000)
        if not bring_forward:
            return
        if error and self.focus_mode.active:
            self.toggle_focus_mode(False)   # an error must be seen
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
        """Show the lesson browser and put keyboard focus in its list (F1)."""
        self._show_lesson_dock()
        self.lesson_panel.focus_browser()

    def _show_lesson_dock(self) -> None:
        dock = self.docks["Lesson"]
        dock.show()
        dock.raise_()

    def _on_lesson_loaded(self) -> None:
        lesson, path = self.session.lesson, self.session.path
        if lesson is not None and path is not None:
            self._shown_what = f"lesson {lesson_label(path, lesson.title)}"
            self._update_title()

    def _on_lesson_detached(self, detached: bool) -> None:
        if detached:
            self.central.set_highlights(())
        else:
            self._on_lesson_loaded()   # the lesson's run is back: so is its title

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

    # ---------------------------------------------------------------- programs
    @staticmethod
    def example_programs() -> list[Path]:
        """The example programs shipped with wasmviz (wasmviz/data/programs/*.wv)."""
        folder = PROGRAMS_DIR
        return sorted(folder.glob("*.wv")) if folder.is_dir() else []

    def open_program(self, path: str | None) -> bool:
        """Load a program file into the sandbox editor (nothing runs until Run)."""
        if path is None:
            folder = self.example_programs()[0].parent if self.example_programs() else Path()
            path, _ = QFileDialog.getOpenFileName(self, "Open program", str(folder),
                                                  "Programs (*.wv);;All files (*)")
            if not path:
                return False
        try:
            text = read_small_text(Path(path), MAX_PROGRAM_BYTES)
        except (OSError, ValueError) as exc:
            self.notify(f"Could not open {path}: {exc}", error=True)
            return False
        self.sandbox.editor.setPlainText(text)
        self.sandbox.call_edit.clear()
        self.docks["Sandbox"].show()
        self.docks["Sandbox"].raise_()
        self.statusBar().showMessage(f"Loaded {Path(path).name}: press Run (Ctrl+Enter) or "
                                     f"JIT now (Ctrl+J)", 8000)
        return True

    def save_program(self, path: str | None) -> str | None:
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Save program", "program.wv",
                                                  "Programs (*.wv)")
        if not path:
            return None
        try:
            Path(path).write_text(self.sandbox.editor.toPlainText(), encoding="utf-8")
        except OSError as exc:
            self.notify(f"Could not save {path}: {exc}", error=True)
            return None
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return path

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
        # Read, checked against limits and decoded by a worker (engine.trace_limits): a file
        # claiming 10^9 pages once took the app past 6 GB, and a bad one raised in views.
        # A small file (what a sandbox run saves) is read at once; a bigger one in the
        # background, so the window keeps responding.
        if is_small_regular_file(Path(path), SYNC_TRACE_BYTES):
            self._on_trace_file(read_trace_file(str(path)), str(path))
            return
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

    # ---------------------------------------------------------------- settings
    def _restore(self) -> None:
        #: Settings whose saved value was unusable and went back to the default (said once).
        self._reset_settings: list[str] = []
        geometry = self._blob("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self._note_reset("window/geometry", geometry)
            self.setGeometry(initial_geometry(self._available()))
        else:
            # The screen may be smaller now (another monitor, another scale factor).
            self.setGeometry(clamp_geometry(self.geometry(), self._available()))
        state = self._blob("window/state")
        restored = state is not None and self.restoreState(state)
        if not restored:
            self._note_reset("window/state", state)
        self.name_dock_tabs()
        if not restored:
            # Tab the docks now, so their stacked minimum heights never enlarge the window;
            # they are sized when first shown.
            arrange_docks(self, self.docks)
            self._first_layout = True
        self.sandbox.editor.setPlainText(self._text("sandbox/source", DEFAULT_SOURCE,
                                                    MAX_PROGRAM_BYTES))
        self.sandbox.args_edit.setText(self._text("sandbox/args", "7", 4096))
        self.transport.set_speed(self._number("player/speed", 2.0))
        self.central.set_zoom(self._number("view/zoom", 1.0))
        dark = self._text("view/dark", "false", 16).lower()
        if dark not in ("true", "false"):
            self._note_reset("view/dark", dark)
        self.dark_action.setChecked(dark == "true")
        apply_theme(dark == "true")
        if self._reset_settings:
            # A corrupt settings file once stopped the app on every start (review D3): now each
            # bad value is replaced by its default, and the learner is told which.
            self.notify("Some saved settings could not be read and were reset to their "
                        f"defaults: {', '.join(self._reset_settings)}", error=True,
                        bring_forward=False)

    def _note_reset(self, key: str, value: object) -> None:
        if value is not None and key not in self._reset_settings:
            self._reset_settings.append(key)

    def _blob(self, key: str) -> QByteArray | None:
        """A remembered window geometry/state blob; None if missing or of the wrong type."""
        value = self.settings.value(key)
        if value is None or isinstance(value, QByteArray):
            return value
        if isinstance(value, bytes):
            return QByteArray(value)
        self._note_reset(key, value)
        return None

    def _text(self, key: str, default: str, limit: int) -> str:
        """A remembered text of at most ``limit`` characters; else ``default``."""
        value = self.settings.value(key, default)
        if isinstance(value, str) and len(value) <= limit:
            return value
        self._note_reset(key, value)
        return default

    def _number(self, key: str, default: float) -> float:
        """A remembered number; a missing or corrupt value gives ``default`` (never a crash)."""
        raw = self.settings.value(key, default)
        try:
            value = float(raw)
        except (TypeError, ValueError, OverflowError):
            value = float("nan")
        if value == value and abs(value) < 1e6:   # not NaN or huge
            return value
        self._note_reset(key, raw)
        return default

    def _save_inputs(self) -> None:
        self.settings.setValue("sandbox/source", self.sandbox.editor.toPlainText())
        self.settings.setValue("sandbox/args", self.sandbox.args_edit.text())

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self._first_layout:
            # First start: the docks' places depend on the window's width (docks only size
            # once shown); the diagram keeps most of the window.
            self._first_layout = False
            self.reset_layout()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.player.pause()
        self.runner.wait(5000)
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("player/speed", self.player.speed)
        s.setValue("view/zoom", self.central.zoom)
        s.setValue("view/dark", self.dark_action.isChecked())
        self._save_inputs()
        s.sync()
        super().closeEvent(event)

    def on_dark_toggled(self) -> None:
        apply_theme(self.dark_action.isChecked())

    # ---------------------------------------------------------------- layout
    def _available(self) -> QRect:
        screen = self.screen() or QGuiApplication.primaryScreen()
        return screen.availableGeometry()

    def reset_layout(self) -> None:
        """Put every dock in its first-start place for this window's width."""
        if self.focus_mode.active:
            self.toggle_focus_mode(False)
        size = self.size()
        for dock in self.docks.values():
            dock.setFloating(False)
            dock.show()
        arrange_docks(self, self.docks)
        self.name_dock_tabs()
        # Re-docking stacks the docks for a moment, and their minimum heights can enlarge the
        # window: keep the size the window had.
        self.resize(size)
        (self.docks["Lesson"] if self.session.path is not None else self.docks["Sandbox"]).raise_()

    def focus_dock(self, title: str) -> None:
        """Show dock ``title``, bring it to the front of its tabs and focus its first field."""
        if self.focus_mode.active:
            self.toggle_focus_mode(False)
        dock = self.docks[title]
        dock.show()
        dock.raise_()
        widget = dock.widget()
        target = widget if widget.focusPolicy() != Qt.FocusPolicy.NoFocus else \
            widget.nextInFocusChain()
        target.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def name_dock_tabs(self) -> None:
        """Qt makes a tab bar for each group of tabbed docks; screen readers need its name."""
        for bar in self.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly):
            if not bar.accessibleName():
                bar.setAccessibleName("Dock tabs: choose the view to show")
                bar.setToolTip("Choose the view to show in this dock column")

    def toggle_focus_mode(self, on: bool | None = None) -> None:
        """Hide the docks (the lesson's narration stays) to give the diagram the window."""
        on = not self.focus_mode.active if on is None else bool(on)
        keep = ("Lesson",) if self.session.path is not None else ()
        self.focus_mode.set_active(on, keep)
        self.focus_action.setChecked(self.focus_mode.active)
        if on:
            self.central.setFocus(Qt.FocusReason.OtherFocusReason)

    def _update_title(self) -> None:
        """The title names what is shown: a sandbox run, a lesson, a fault or a trace file."""
        self.setWindowTitle(f"{self._shown_what} — {APP_TITLE}")

"""The main window: diagram in the centre, docked views, sandbox, transport, menus.

The File commands are in window_files.py and the remembered settings in window_settings.py;
MainWindow inherits both, so every command keeps its name on the window.

Start-up (issue 11): the docks that start behind another tab (the lesson and the views) are
made when first shown (lazy.LazyDock), and the first run is asked for before the window is
shown, so wasmtime records it while Qt lays out and paints the window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QShowEvent
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QTabBar, QTabWidget, QWidget

from ..engine import Scenario, Trace
from .lazy import LazyDock
from .menus import build_menus
from .lesson_session import LessonSession, lesson_label
from .player import Player
from .runner import ScenarioRunner, TraceFileRunner
from .sandbox import SandboxPanel
from .theme import apply_theme
from .transport import TransportBar
from .views import make_central, make_docks
from .window_files import FileCommands
from .window_layout import FocusMode, arrange_docks, configure_tabs
from .window_settings import WindowSettings

if TYPE_CHECKING:
    from PySide6.QtWidgets import QListWidget

    from ..engine.child_run import FirstRun
    from .lesson_panel import LessonPanel

APP_TITLE = "wasmviz"
#: The Sandbox dock's second page, before and after the WAT editor is made for it.
MODULE_TAB_TIP = ("A module of your own, in WAT, linked in place of the JIT's output "
                  "(docs/foreign-modules.md)")


class MainWindow(FileCommands, WindowSettings, QMainWindow):
    """wasmviz's window. Everything it shows comes from the player's recorded trace."""

    def __init__(self, settings: QSettings | None = None, autorun: bool = True,
                 lesson: str | None = None, first_run: FirstRun | None = None) -> None:
        """``first_run``: a child process started before the window (run_app) to record the
        first run in, on another core (engine/child_run.py); used once, if at all."""
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
        self._first_run = first_run   # used by the first run_scenario, else closed below

        self.sandbox = SandboxPanel()
        self.sandbox.scenario_requested.connect(self.run_scenario)
        self.sandbox.compare_trace.connect(self.show_compared)
        self.runner.finished.connect(self._on_trace_ready)
        self.runner.failed.connect(self._on_run_failed)
        self.runner.busy_changed.connect(self._on_busy)
        self.player.trace_changed.connect(self._update_title)
        self.player.step_changed.connect(self._on_step_changed)
        # The first run is asked for now, before the rest of the window is built: wasmtime
        # records it meanwhile (in the child process run_app started, else in the worker), so
        # that it is there for the window's first paint (issue 11). Input it cannot run is
        # reported below, once the window is whole.
        #: Settings whose saved value was unusable and went back to the default (said once,
        #: by _restore, window_settings.py). The sandbox's inputs are read once, here.
        self._reset_settings: list[str] = []
        self._read_inputs()
        early_errors: list[str] = []
        if lesson is None and autorun:
            early = self.sandbox.input_error.connect(lambda msg, _: early_errors.append(msg))
            self.sandbox.request(jit_now=True)
            self.sandbox.input_error.disconnect(early)
        if self._first_run is not None:   # not used: no run, or one parsed in a worker
            self._first_run.close()
            self._first_run = None

        self.central = make_central(self.player)
        self.setCentralWidget(self.central)
        self.transport = TransportBar(self.player, self)
        self.addToolBar(self.transport)
        configure_tabs(self)

        # The sandbox's two inputs: a program for main's JIT, or a module of your own
        # (WAT) linked in its place. Pages of one dock: a ninth dock tab would not fit the
        # column's labels at 1280x720. The WAT editor is made when its page is first shown.
        self.input_tabs = QTabWidget()
        self.input_tabs.setAccessibleName("Sandbox input")
        self.input_tabs.addTab(self.sandbox, "Program")
        self.input_tabs.addTab(QWidget(), "Your module (WAT)")
        self.input_tabs.setTabToolTip(0, "A program or an expression for main's JIT")
        self.input_tabs.setTabToolTip(1, MODULE_TAB_TIP)
        self.input_tabs.currentChanged.connect(self._on_input_tab)
        self.wat_editor: QWidget | None = None
        self.docks: dict[str, QDockWidget] = {}
        self._dock("Sandbox", self.input_tabs, Qt.DockWidgetArea.LeftDockWidgetArea)

        self.session = LessonSession(self.player, self.settings, self)
        self._dock("Lesson", self._make_lesson_panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        for title, factory, area in make_docks(self.player):
            self._dock(title, factory, area)
        self._dock("Messages", self._make_messages, Qt.DockWidgetArea.RightDockWidgetArea)
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
        # The sandbox shows its own input errors in place: raising Messages over it (they share
        # a tab column on small screens) would hide the underline.
        self.sandbox.input_error.connect(lambda msg, _where: self.notify(msg, error=True,
                                                                         bring_forward=False))
        self.session.failed.connect(lambda msg: self.notify(msg, error=True))
        self.session.position_changed.connect(self._on_lesson_position)
        self.session.loaded.connect(self._on_lesson_loaded)
        # A lesson's rings belong to its own run: off the picture while another run is shown.
        self.session.detached_changed.connect(self._on_lesson_detached)
        self._restore()
        if lesson is not None:
            self.open_lesson(lesson)
        for message in early_errors:
            # The sandbox underlined the input where it is wrong; now that the window is
            # whole, the problem goes to Messages too, as for any run.
            self.notify(message, error=True, bring_forward=False)

    # ---------------------------------------------------------------- building
    def _dock(self, title: str, widget: QWidget | Callable[[], QWidget],
              area: Qt.DockWidgetArea) -> QDockWidget:
        """Add a dock holding ``widget``, or the widget a factory makes when first needed."""
        dock = QDockWidget(title, self) if isinstance(widget, QWidget) else \
            LazyDock(title, self, widget)
        # Re-docking by hand can create new tab bars: name them as they appear.
        dock.dockLocationChanged.connect(lambda _area: self.name_dock_tabs())
        dock.setObjectName(f"dock-{title.lower().replace(' ', '-')}")
        if isinstance(widget, QWidget):
            dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.docks[title] = dock
        return dock

    @staticmethod
    def _make_messages() -> QListWidget:
        # Made when first shown or written to: an item view is ~9 ms of Qt classes that the
        # window's first trace does not need (issue 11).
        from PySide6.QtWidgets import QListWidget  # noqa: PLC0415
        messages = QListWidget()
        messages.setToolTip("Errors and notices; the app keeps running whatever happens")
        messages.setAccessibleName("Messages")
        messages.setWordWrap(True)
        messages.setTextElideMode(Qt.TextElideMode.ElideNone)
        messages.setUniformItemSizes(False)
        return messages

    @property
    def messages(self) -> QListWidget:
        """The Messages dock's list of errors and notices (made now if it was not yet)."""
        return self.docks["Messages"].widget()  # type: ignore[return-value]

    def _make_lesson_panel(self) -> QWidget:
        from .lesson_panel import LessonPanel  # noqa: PLC0415 - when the Lesson dock is shown
        return LessonPanel(self.session)

    def _on_input_tab(self, index: int) -> None:
        if index == 1:
            self.module_editor()

    def module_editor(self) -> QWidget:
        """The Your module (WAT) page of the Sandbox dock, made when first needed."""
        if self.wat_editor is None:
            from .wat_editor import WatEditor  # noqa: PLC0415 - when the page is first shown
            editor = WatEditor()
            editor.trace_ready.connect(self._on_module_trace)
            editor.message.connect(lambda text, error: self.notify(text, error=error))
            self.wat_editor = editor
            current = self.input_tabs.currentIndex()
            placeholder = self.input_tabs.widget(1)
            self.input_tabs.blockSignals(True)
            self.input_tabs.removeTab(1)
            self.input_tabs.insertTab(1, editor, "Your module (WAT)")
            self.input_tabs.setTabToolTip(1, MODULE_TAB_TIP)
            self.input_tabs.setCurrentIndex(current)
            self.input_tabs.blockSignals(False)
            placeholder.deleteLater()
        return self.wat_editor

    def _on_module_trace(self, trace: Trace, what: str) -> None:
        """A run with the learner's module (WatEditor.trace_ready): show it like a sandbox run."""
        self._shown_what = what
        self.player.set_trace(trace)
        self.central.setFocus(Qt.FocusReason.OtherFocusReason)

    def open_module(self, path: str | None = None) -> None:
        """File > Open module…: a .wat or .wasm file into the Your module panel (its worker
        reads it, off the GUI thread); Link and run links it (docs/foreign-modules.md)."""
        if path is None:
            from PySide6.QtWidgets import QFileDialog  # noqa: PLC0415 - on use (issue 11)
            path, _ = QFileDialog.getOpenFileName(self, "Open module", "",
                                                  "WebAssembly (*.wat *.wasm);;All files (*)")
        if not path:
            return
        editor = self.module_editor()
        self.focus_dock("Sandbox")
        self.input_tabs.setCurrentWidget(editor)
        editor.open_file(str(path))  # type: ignore[attr-defined]

    @property
    def lesson_panel(self) -> LessonPanel:
        """The Lesson dock's panel (made now if the dock was never shown)."""
        return self.docks["Lesson"].widget()  # type: ignore[return-value]

    # ---------------------------------------------------------------- running
    def run_scenario(self, scenario: Scenario, what: str | None = None) -> None:
        """Run ``scenario`` in the background; the current trace stays until it is done."""
        self.scenario = scenario
        self._pending_what = what or self._describe(scenario)
        self.statusBar().showMessage("Running in wasmtime…")
        child, self._first_run = self._first_run, None
        self.runner.start(scenario, child)

    def run_fault(self, fault: str) -> None:
        source = self.sandbox.editor.toPlainText().strip()
        expr = source if source and "def" not in source else "x * x + 3"
        link = self.sandbox.link_style()
        self.run_scenario(Scenario.for_fault(fault, expr=expr, link=link),
                          f"fault {fault}: {expr}" + (f" · link {link}" if link != "patch" else ""))

    def show_compared(self, trace: Trace, scenario: Scenario) -> None:
        """Show a run the link-style comparison made (its "Watch" buttons)."""
        self.scenario = scenario
        self._pending_what = f"{self._describe(scenario)} · link {scenario.link}"
        self._on_trace_ready(trace, scenario)

    @staticmethod
    def _describe(scenario: Scenario) -> str:
        link = f" · link {scenario.link}" if scenario.link != "patch" else ""
        if scenario.exprs:
            return "sandbox: " + scenario.exprs[-1] + link
        if scenario.call:
            args = ", ".join(str(a) for a in scenario.args)
            return f"sandbox: {scenario.call}({args}){link}"
        return "sandbox run" + link

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
        from PySide6.QtWidgets import QListWidgetItem  # noqa: PLC0415 - see _make_messages
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
            from PySide6.QtWidgets import QFileDialog  # noqa: PLC0415 - on use (issue 11)

            from ..data import LESSONS_DIR  # noqa: PLC0415 - see data/__init__.py
            name_or_path, _ = QFileDialog.getOpenFileName(self, "Open lesson", str(LESSONS_DIR),
                                                          "Lessons (*.toml)")
            if not name_or_path:
                return False
        from ..lessons import LessonError, find  # noqa: PLC0415 - not needed to start (issue 11)
        try:
            path = find(name_or_path)
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
    def _fuel_text(self, fuel_used: int) -> str:
        """The status bar's fuel, or that the engine that recorded the trace has none (V8)."""
        engine = self.player.trace.engine
        if "fuel" in engine and engine["fuel"] is None:
            return f" fuel: none ({engine.get('name', 'engine')}) "
        return f" fuel: {fuel_used:,} "

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
        self.status_fuel.setText(self._fuel_text(step.fuel_used))

    # ---------------------------------------------------------------- window events
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
        self._save_settings()
        super().closeEvent(event)

    def on_dark_toggled(self) -> None:
        apply_theme(self.dark_action.isChecked())

    # ---------------------------------------------------------------- layout
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

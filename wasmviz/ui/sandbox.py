"""The sandbox: type an expression or a small program, give arguments, Run or JIT.

An expression over `x` JIT-compiled here joins the session's list, so a second expression adds
a second module in a new slot. Bad input is underlined where it is wrong; nothing is lost.

Each "JIT now" of an expression records a fresh run from an empty table, so it recompiles
every expression of the session first. The panel says so under the buttons: the list is the
input of the *next* such run, not a description of the trace on screen (which may be a
program, a lesson or a fault), and New session empties it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QFormLayout, QGridLayout, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from ..engine import Scenario, SourceError
from ..engine.sandbox_request import (DEFAULT_REPEAT, DEFAULT_THRESHOLD, SandboxInputs, Session,
                                      build)
from ..engine.scenario import LINK_DESCRIPTIONS, LINKS
from ..safe_files import MAX_SOURCE_BYTES
from .editor import CodeEditor
from .runner import ParseRunner

if TYPE_CHECKING:
    from .link_compare import LinkCompareDialog

#: The combo box's names for the link styles (the tooltips say what each does).
#: Short enough for the dock's width at 1280x720; each style's full line is its tooltip.
LINK_LABELS = {"patch": "patch export", "start": "start function", "pic": "pic (bases)"}

#: A source this long parses in well under 50 ms: parsed at once, on the GUI thread. A longer
#: one (up to MAX_SOURCE_BYTES) is parsed by a worker, so the window never freezes.
SYNC_PARSE_CHARS = 8 * 1024


class SandboxPanel(QWidget):
    """Builds scenarios from what the user typed and asks for them to run."""

    scenario_requested = Signal(object)
    #: (message, (line, column, message) or None): the input cannot run.
    input_error = Signal(str, object)
    #: (Trace, Scenario): the comparison's "Watch <style>" asks to show that recorded run.
    compare_trace = Signal(object, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session_exprs: list[str] = []
        #: The last program run in this session: Redefine loads the editor's over it.
        self.session_program: str | None = None
        #: The functions that run defines (so Redefine need not parse it again), and those of
        #: the program the last build read.
        self.session_names: frozenset[str] = frozenset()
        self._built_names: frozenset[str] = frozenset()
        self._parser: ParseRunner | None = None  # made on the first long source
        self.editor = CodeEditor()
        self.editor.setPlaceholderText("x * x + 3\n\n# or a program:\n"
                                       "# def fib(n) = if n < 2 then 1 else fib(n-1) + fib(n-2)")
        self.editor.setToolTip("An expression over x, or definitions (def f(a, b) = ...). "
                               "Ctrl+Enter runs, Ctrl+J JIT-compiles at once.")
        self.editor.setAccessibleName("Sandbox source")
        self.args_edit = QLineEdit("7")
        self.args_edit.setToolTip("Arguments, comma-separated i32 values (x for an expression)")
        self.args_edit.setAccessibleName("Arguments")
        self.call_edit = QLineEdit()
        self.call_edit.setPlaceholderText("last function defined")
        self.call_edit.setToolTip("For a program: the function to call")
        self.call_edit.setAccessibleName("Function to call")
        self.repeat = QSpinBox()
        self.repeat.setRange(1, 1000)
        self.repeat.setValue(DEFAULT_REPEAT)
        self.repeat.setToolTip("How many times the host calls it: interpreted calls count up "
                               "on the function object until tier-up compiles it")
        self.repeat.setAccessibleName("Times to call")
        self.threshold = QSpinBox()
        self.threshold.setRange(1, 1_000_000)
        self.threshold.setValue(DEFAULT_THRESHOLD)
        self.threshold.setToolTip("Interpreted calls before a function is hot and queued for the "
                                  "JIT")
        self.threshold.setAccessibleName("Tier-up after this many interpreted calls")
        # How each generated module is linked in: the three styles side by side (issue 12).
        self.link_combo = QComboBox()
        for name in LINKS:
            self.link_combo.addItem(LINK_LABELS.get(name, name), name)
            self.link_combo.setItemData(self.link_combo.count() - 1, LINK_DESCRIPTIONS[name],
                                        Qt.ItemDataRole.ToolTipRole)
        self.link_combo.setAccessibleName("Link style")
        # Sized for a short label, not the longest one: a wide combo widened the dock and
        # took room from the diagram (each full line is in the item's tooltip).
        self.link_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.link_combo.setMinimumContentsLength(10)
        self.link_combo.currentIndexChanged.connect(self._show_link_tip)
        self._show_link_tip()
        self.compare_button = QPushButton("Compare…")
        self.compare_button.setAccessibleName("Compare link styles")
        self.compare_button.setToolTip("Run this input in all three link styles and compare "
                                       "them side by side: module size, steps, who does "
                                       "what, and the measured cost per module")
        self.compare_button.clicked.connect(self.open_comparison)
        #: The Compare link styles dialog, made when first asked for.
        self.comparison: LinkCompareDialog | None = None
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Interpret; functions tier up to JIT code once hot "
                                   "(Ctrl+Enter)")
        self.jit_button = QPushButton("JIT now")
        self.jit_button.setToolTip("Compile at once into a new module, then call through the "
                                   "table (Ctrl+J). Each new expression adds a module.")
        self.redefine_button = QPushButton("Redefine")
        self.redefine_button.setToolTip(
            "Run the session's last program (compiled at once), then load the editor's program "
            "into the same run and call again: a function it defines again is redefined, so "
            "main frees its old slot and the JIT reuses it (docs/abi.md)")
        self.redefine_button.setEnabled(False)
        self.clear_button = QPushButton("New session")
        self.clear_button.setToolTip("Forget this session's expressions and program: the next "
                                     "JIT now compiles only what is in the editor")
        for button, name in ((self.run_button, "Run"), (self.jit_button, "JIT now"),
                             (self.redefine_button, "Redefine"),
                             (self.clear_button, "New session")):
            button.setAccessibleName(name)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #E03131")
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setAccessibleName("Problem with the input")
        self.message.setToolTip("Why the input cannot run; the editor marks where")
        self.session_label = QLabel()
        self.session_label.setWordWrap(True)
        self.session_label.setAccessibleName("This session's expressions")
        self.session_label.setToolTip("Each JIT now of an expression records a new run from an "
                                      "empty table, so it compiles these again first, one module "
                                      "each, then yours. Run (interpret) and programs do not use "
                                      "them.")

        form = QFormLayout()
        form.addRow("Arguments", self.args_edit)
        form.addRow("Call", self.call_edit)
        form.addRow("Times to call", self.repeat)
        form.addRow("Tier-up after", self.threshold)
        link_row = QHBoxLayout()
        link_row.addWidget(self.link_combo, 1)
        link_row.addWidget(self.compare_button)
        form.addRow("Link style", link_row)
        # Two rows of two: one row of four would set the dock's minimum width above the width
        # the window gives it at 1280x720, and the diagram would lose the difference.
        buttons = QGridLayout()
        for i, b in enumerate((self.run_button, self.jit_button, self.redefine_button,
                               self.clear_button)):
            buttons.addWidget(b, i // 2, i % 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.editor, 1)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addWidget(self.session_label)
        self.run_button.clicked.connect(lambda: self.request(jit_now=False))
        self.jit_button.clicked.connect(lambda: self.request(jit_now=True))
        self.redefine_button.clicked.connect(lambda: self.request(jit_now=True, redefine=True))
        self.clear_button.clicked.connect(self.new_session)
        self.editor.textChanged.connect(lambda: self.message.clear())
        self.editor.textChanged.connect(self._show_session)  # the list depends on the editor
        self._show_session()

    def link_style(self) -> str:
        """The link style the next run uses (one of scenario.LINKS)."""
        return str(self.link_combo.currentData())

    def set_link_style(self, name: str) -> bool:
        """Choose link style ``name``; False (and no change) if there is no such style, so
        a remembered setting that is not one is reset rather than trusted."""
        row = self.link_combo.findData(name)
        if row < 0:
            return False
        self.link_combo.setCurrentIndex(row)
        return True

    def open_comparison(self) -> None:
        """Show the Compare link styles dialog and run this input in the three styles (in
        the dialog's worker: the window stays responsive)."""
        if self.comparison is None:
            from .link_compare import LinkCompareDialog  # noqa: PLC0415 - when first asked for
            self.comparison = LinkCompareDialog(self, self.window())
            self.comparison.show_trace.connect(self.compare_trace)
        self.comparison.show()
        self.comparison.raise_()
        self.comparison.start()

    def _show_link_tip(self) -> None:
        self.link_combo.setToolTip("How each generated module is linked in: "
                                   + LINK_DESCRIPTIONS[self.link_style()])

    def new_session(self) -> None:
        """Forget the session's expressions and program; the next run starts afresh."""
        self.session_exprs.clear()
        self.session_program = None
        self.session_names = frozenset()
        self._show_session()

    def next_session(self) -> list[str]:
        """The session's expressions the next JIT now recompiles before the editor's (as
        ``build`` does: the editor's own expression, if already listed, moves to the end)."""
        return self._session().earlier_exprs(self.editor.toPlainText())

    def _session(self) -> Session:
        """What this session's earlier runs left, as the builder takes it."""
        return Session(tuple(self.session_exprs), self.session_program, self.session_names)

    def session_text(self) -> str:
        """Says what the next JIT now of an expression compiles besides the editor's, or ""."""
        earlier = self.next_session()
        if not earlier:
            return ""
        listed = "; ".join(f"m{i}: {e}" for i, e in enumerate(earlier, 1))
        return (f"Session: the next JIT now of an expression recompiles {listed} first, then "
                f"yours as m{len(earlier) + 1}. New session forgets them.")

    def _show_session(self) -> None:
        program = self.session_program
        self.redefine_button.setEnabled(program is not None
                                        and program != self.editor.toPlainText())
        text = self.session_text()
        self.session_label.setText(text)
        self.session_label.setVisible(bool(text))

    def show_error(self, message: str, where: object) -> None:
        """Show ``message``; underline the source at (line, column) when given."""
        self.message.setText(message)
        if isinstance(where, tuple) and len(where) == 3:
            self.editor.show_error(*where)

    def inputs(self) -> SandboxInputs:
        """What the widgets hold now."""
        return SandboxInputs(source=self.editor.toPlainText(), args=self.args_edit.text(),
                             call=self.call_edit.text(), threshold=self.threshold.value(),
                             repeat=self.repeat.value(), link=self.link_style())

    def build(self, jit_now: bool, program: object = None, redefine: bool = False) -> Scenario:
        """Return the scenario for the current input; raises SourceError or ValueError
        (engine/sandbox_request.py builds it; the app's first run is built there too).

        ``program`` is the editor's source already compiled (by the parse worker). With
        ``redefine`` the run is the session's last program, then the editor's loaded into the
        same run (its functions of the same name are redefined), each followed by the call."""
        built = build(self.inputs(), jit_now, program=program,  # type: ignore[arg-type]
                      redefine=redefine, session=self._session())
        self._built_names = built.names
        return built.scenario

    def request(self, jit_now: bool, redefine: bool = False) -> None:
        """Validate the input and emit scenario_requested, or show what is wrong.

        A short source is answered at once; a long one once the parse worker is done."""
        if not self.build_later(jit_now, redefine, self._finish_request):
            self.message.setText("Reading the program…")

    def build_later(self, jit_now: bool, redefine: bool, done: Callable[[object], None],
                    parser: ParseRunner | None = None) -> bool:
        """Build the scenario for the current input and hand ``done`` the Scenario, or the
        SourceError or ValueError that stops it: at once for a short source (True), once a
        parse worker (``parser``, else the sandbox's own) has read a long one (False). The
        Compare dialog builds through here too, with its own worker."""
        source = self.editor.toPlainText()
        if SYNC_PARSE_CHARS < len(source) <= MAX_SOURCE_BYTES:
            if parser is None:
                if self._parser is None:
                    self._parser = ParseRunner(self)
                    self._parser.parsed.connect(self._on_parsed)
                parser = self._parser
            parser.start(source, (source, jit_now, redefine, done))
            return False
        done(self._built(jit_now, None, redefine))
        return True

    def _built(self, jit_now: bool, program: object, redefine: bool) -> object:
        try:
            return self.build(jit_now, program, redefine)
        except (SourceError, ValueError) as exc:
            return exc

    def _on_parsed(self, outcome: object, request: tuple[Any, ...]) -> None:
        source, jit_now, redefine, done = request
        if source != self.editor.toPlainText():
            self.message.clear()
            return  # edited meanwhile: the next Run parses the new text
        if isinstance(outcome, BaseException) and not isinstance(outcome, SourceError):
            done(ValueError(f"cannot read the program: {outcome!r}"))
        else:
            done(outcome if isinstance(outcome, SourceError) else
                 self._built(jit_now, outcome, redefine))

    def _input_error(self, message: str, where: object) -> None:
        self.show_error(message, where)
        self.input_error.emit(message, where)

    def _finish_request(self, outcome: object) -> None:
        if isinstance(outcome, SourceError):
            self._input_error(str(outcome), (outcome.line, outcome.column, outcome.message))
            return
        if not isinstance(outcome, Scenario):
            self._input_error(str(outcome), None)
            return
        scenario = outcome
        if scenario.exprs:
            self.session_exprs = list(scenario.exprs)
        elif scenario.source is not None:
            # The program now in the run's memory: the next Redefine starts from it.
            self.session_program = scenario.redefine[-1] if scenario.redefine \
                else scenario.source
            self.session_names = self._built_names
        self._show_session()
        self.message.clear()
        self.scenario_requested.emit(scenario)

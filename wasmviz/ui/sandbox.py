"""The sandbox: type an expression or a small program, give arguments, Run or JIT.

An expression over `x` JIT-compiled here joins the session's list, so a second expression adds
a second module in a new slot. Bad input is underlined where it is wrong; nothing is lost.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QSpinBox, QVBoxLayout, QWidget)

from ..engine import Scenario, SourceError, compile_program
from ..engine.reference import parse_i32
from .editor import CodeEditor


class SandboxPanel(QWidget):
    """Builds scenarios from what the user typed and asks for them to run."""

    scenario_requested = Signal(object)
    #: (message, (line, column, message) or None): the input cannot run.
    input_error = Signal(str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session_exprs: list[str] = []
        self.editor = CodeEditor()
        self.editor.setPlaceholderText("x * x + 3\n\n# or a program:\n"
                                       "# def fib(n) = if n < 2 then 1 else fib(n-1) + fib(n-2)")
        self.editor.setToolTip("An expression over x, or definitions (def f(a, b) = ...). "
                               "Ctrl+Enter runs, Ctrl+J JIT-compiles at once.")
        self.args_edit = QLineEdit("7")
        self.args_edit.setToolTip("Arguments, comma-separated i32 values (x for an expression)")
        self.call_edit = QLineEdit()
        self.call_edit.setPlaceholderText("last function defined")
        self.call_edit.setToolTip("For a program: the function to call")
        self.repeat = QSpinBox()
        self.repeat.setRange(1, 1000)
        self.repeat.setToolTip("How many times to call it: interpreted calls count up on the "
                               "function object until tier-up compiles it")
        self.threshold = QSpinBox()
        self.threshold.setRange(1, 1_000_000)
        self.threshold.setValue(100)
        self.threshold.setToolTip("Interpreted calls before a function is hot and queued for the "
                                  "JIT")
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Interpret; functions tier up to JIT code once hot "
                                   "(Ctrl+Enter)")
        self.jit_button = QPushButton("JIT now")
        self.jit_button.setToolTip("Compile at once into a new module, then call through the "
                                   "table (Ctrl+J). Each new expression adds a module.")
        self.clear_button = QPushButton("New session")
        self.clear_button.setToolTip("Forget the expressions JIT-compiled so far")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #E03131")
        self.session_label = QLabel()
        self.session_label.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Arguments", self.args_edit)
        form.addRow("Call", self.call_edit)
        form.addRow("Calls", self.repeat)
        form.addRow("Tier-up after", self.threshold)
        buttons = QHBoxLayout()
        for b in (self.run_button, self.jit_button, self.clear_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addWidget(self.editor, 1)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addWidget(self.session_label)
        self.run_button.clicked.connect(lambda: self.request(jit_now=False))
        self.jit_button.clicked.connect(lambda: self.request(jit_now=True))
        self.clear_button.clicked.connect(self.new_session)
        self.editor.textChanged.connect(lambda: self.message.clear())
        self._show_session()

    def new_session(self) -> None:
        self.session_exprs.clear()
        self._show_session()

    def _show_session(self) -> None:
        if self.session_exprs:
            self.session_label.setText("Modules this session: " + "; ".join(
                f"m{i}: {e}" for i, e in enumerate(self.session_exprs, 1)))
        else:
            self.session_label.setText("")

    def show_error(self, message: str, where: object) -> None:
        """Show ``message``; underline the source at (line, column) when given."""
        self.message.setText(message)
        if isinstance(where, tuple) and len(where) == 3:
            self.editor.show_error(*where)

    def _args(self) -> tuple[int, ...]:
        text = self.args_edit.text().strip()
        if not text:
            return ()
        try:
            return tuple(parse_i32(part) for part in text.split(","))
        except ValueError as exc:
            raise ValueError(f"argument {exc}") from None

    def build(self, jit_now: bool) -> Scenario:
        """Return the scenario for the current input; raises SourceError or ValueError."""
        source = self.editor.toPlainText()
        program = compile_program(source)
        args = self._args()
        bare = len(program.ast) == 1 and program.ast[0].is_expression
        if bare and jit_now:
            if len(args) != 1:
                raise ValueError("an expression takes one argument, x")
            exprs = [e for e in self.session_exprs if e != source.strip()] + [source.strip()]
            return Scenario(exprs=tuple(exprs), args=args, threshold=self.threshold.value(),
                            repeat=self.repeat.value())
        call = self.call_edit.text().strip() or program.functions[-1].name
        names = [f.name for f in program.functions]
        if call not in names:
            raise ValueError(f"no function named {call!r} (defined: {', '.join(names)})")
        wanted = len(program.function(call).params)
        if len(args) != wanted:
            raise ValueError(f"{call} takes {wanted} argument(s), {len(args)} given")
        return Scenario(source=source, call=call, args=args, jit_now=jit_now,
                        threshold=self.threshold.value(), window=self.threshold.value(),
                        repeat=self.repeat.value())

    def request(self, jit_now: bool) -> None:
        """Validate the input and emit scenario_requested, or show what is wrong."""
        try:
            scenario = self.build(jit_now)
        except SourceError as exc:
            self.show_error(str(exc), (exc.line, exc.column, exc.message))
            self.input_error.emit(str(exc), (exc.line, exc.column, exc.message))
            return
        except ValueError as exc:
            self.show_error(str(exc), None)
            self.input_error.emit(str(exc), None)
            return
        if scenario.exprs:
            self.session_exprs = list(scenario.exprs)
            self._show_session()
        self.message.clear()
        self.scenario_requested.emit(scenario)

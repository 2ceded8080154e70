"""Write your own patch (issue 13): a WAT editor whose module the host links into main.

WatEditor is a CodeEditor (editor.py) with WAT highlighting, a program and a call to link
against, and two actions that run off the GUI thread (a TaskRunner each):
**Check** (wasm-tools assembles the text, wasmtime validates the bytes; the first error is
underlined at its line and column) and **Link and run** (engine.foreign.run_foreign; the trace
comes back with ``trace_ready``). Check also runs by itself shortly after typing stops. A file
(File > Open module...) is read by a worker too: a .wat file as it is, a .wasm file as the
text wasm-tools prints for it. The template it starts with is the hand-written example of
docs/foreign-modules.md.
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QVBoxLayout, QWidget)

from ..data import data_path
from ..engine import EngineError, Scenario, SourceError
from ..engine.foreign import ForeignFileError, ForeignModule, ForeignRun
from .editor import ERROR_COLOR, CodeEditor, Highlighter
from .runner import TaskRunner

#: (pattern, colour, bold); later rules win where they overlap, so comments come last.
WAT_RULES = (
    (re.compile(r"\b(module|func|param|result|local|import|export|table|memory|global|elem|"
                r"data|type|start|mut|declare|offset|item)\b"), "#7950F2", True),
    (re.compile(r"\b(i32|i64|f32|f64|v128|funcref|externref)\b"), "#0CA678", False),
    (re.compile(r"\b[a-z][a-z0-9_]*\.[a-z0-9_]+\b"), "#1C7ED6", False),
    (re.compile(r"\b(call_indirect|call|unreachable|nop|block|loop|if|then|else|end|br_if|"
                r"br_table|br|return|drop|select)\b"), "#1C7ED6", True),
    (re.compile(r"\$[\w.$]+"), "#C2255C", False),
    (re.compile(r"(?<![\w$])-?(0x[0-9a-fA-F_]+|\d[\d_]*)\b"), "#E8590C", False),
    (re.compile(r'"[^"]*"'), "#2B8A3E", False),
    (re.compile(r";;.*$|\(;.*?;\)"), "#868E96", False),
)

#: What the editor starts with (and the program and call it links against).
TEMPLATE = data_path("modules", "handwritten_patch.wat")
PROGRAM = "def square(x) = x * x"
CALL = "square 7"


def function_position(text: str, index: int) -> tuple[int, int] | None:
    """(line, column) of the ``(func`` defining function ``index`` of the function index
    space (imported functions first), found by scanning the module's top-level forms."""
    imported, defined = 0, []
    depth, i, form_start = 0, 0, None
    while i < len(text):
        c = text[i]
        if text.startswith(";;", i):
            i = text.find("\n", i) if "\n" in text[i:] else len(text)
            continue
        if text.startswith("(;", i):
            end = text.find(";)", i)
            i = len(text) if end < 0 else end + 2
            continue
        if c == '"':
            end = text.find('"', i + 1)
            i = len(text) if end < 0 else end + 1
            continue
        if c == "(":
            depth += 1
            if depth == 2:
                form_start = i
        elif c == ")":
            if depth == 2 and form_start is not None:
                form = text[form_start:i]
                head = form[1:].split(None, 1)[0] if form[1:].split() else ""
                if head == "import" and re.search(r"\(\s*func\b", form):
                    imported += 1
                elif head == "func":
                    if re.search(r"\(\s*import\b", form):
                        imported += 1
                    else:
                        defined.append(form_start)
            depth -= 1
        i += 1
    k = index - imported
    if not 0 <= k < len(defined):
        return None
    at = text.index("func", defined[k])   # the keyword, which the editor underlines
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1


def check_text(text: str, name: str) -> ForeignModule | tuple[int, int, str]:
    """Assemble and validate ``text``: the module, or (line, column, message) of its first
    error (wasm-tools' for the syntax, wasmtime's for validation, placed at its function)."""
    import wasmtime  # noqa: PLC0415 - in the worker

    from ..engine.foreign import module_from_text  # noqa: PLC0415
    try:
        module = module_from_text(text, name)
    except ForeignFileError as exc:
        return (exc.line or 1, exc.column or 1, str(exc))
    try:
        wasmtime.Module(wasmtime.Engine(), module.data)
    except wasmtime.WasmtimeError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        why = next((ln.split(":", 1)[-1].strip() for ln in lines if "offset" in ln), lines[-1])
        found = re.search(r"function\[(\d+)\]", str(exc))
        where = function_position(text, int(found.group(1))) if found else None
        line, column = where or (1, 1)
        return (line, column, f"{name}: invalid module: {why}")
    return module


def read_for_editing(path: str) -> tuple[str, str]:
    """(file name, WAT text) of a module file: a .wat as it is, a .wasm printed as WAT."""
    from ..engine.disasm import print_wat  # noqa: PLC0415
    from ..engine.foreign import read_module  # noqa: PLC0415
    module = read_module(path)
    return module.name, module.wat if module.wat is not None else print_wat(module.data)


#: What each link status means here (docs/foreign-modules.md, "Limits and failures").
_STATUS = {0: "linked", 1: "invalid module", 2: "not linked (link error)",
           3: "its link export trapped"}


class WatEditor(QWidget):
    """Edit a module's WAT, check it, and link it into a fresh run of main."""

    #: (trace, what it is, e.g. "your module patch.wat"): show it.
    trace_ready = Signal(object, str)
    #: A message for the window's Messages panel (why a module was not linked, ...).
    message = Signal(str, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = TEMPLATE.name
        self.editor = CodeEditor(self)
        self.editor.highlighter.setDocument(None)
        self.editor.highlighter = Highlighter(self.editor.document(), WAT_RULES)
        self.editor.setAccessibleName("WebAssembly text of your module")
        self.editor.setToolTip("Your module in WebAssembly text (WAT). Errors are underlined "
                               "where wasm-tools or wasmtime found them.")
        self.program = QLineEdit(PROGRAM, self)
        self.program.setAccessibleName("Program to link against")
        self.program.setToolTip("A program whose function objects your module can find "
                                "through main's layout globals")
        self.call = QLineEdit(CALL, self)
        self.call.setAccessibleName("Call after linking")
        self.call.setToolTip("The function to call through main's invoke, then its arguments")
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Module check result")
        self.check_button = QPushButton("Check", self)
        self.check_button.setAccessibleName("Check the module")
        self.check_button.setToolTip("Assemble with wasm-tools and validate with wasmtime")
        self.link_button = QPushButton("Link and run", self)
        self.link_button.setAccessibleName("Link the module and run")
        self.link_button.setToolTip("Load the program, link your module in place of the JIT's "
                                    "output, then make the call (docs/foreign-modules.md)")
        form = QFormLayout()
        form.addRow("Program", self.program)
        form.addRow("Call", self.call)
        buttons = QHBoxLayout()
        buttons.addWidget(self.check_button)
        buttons.addWidget(self.link_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.editor, 1)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        # Two workers: a runner reports only its latest request, and a check that fires
        # when typing pauses must not drop the outcome of a Link and run under way.
        self.runner = TaskRunner(self)       # checks and opened files
        self.runner.done.connect(self._on_done)
        self.linker = TaskRunner(self)       # link and run
        self.linker.done.connect(self._on_done)
        self.linker.busy_changed.connect(lambda busy: self.link_button.setEnabled(not busy))
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(600)   # check once typing pauses
        self._timer.timeout.connect(lambda: self.check(auto=True))
        self.editor.textChanged.connect(self._timer.start)
        self.check_button.clicked.connect(lambda: self.check())
        self.link_button.clicked.connect(self.link)
        # The template is a file too: read by the worker, like every file the app opens.
        self.open_file(str(TEMPLATE))

    # ---------------------------------------------------------------- actions
    def check(self, auto: bool = False) -> None:
        """Check the text in the worker; ``auto`` (typing paused) leaves the cursor alone,
        a Check the learner asked for moves it to the error."""
        text, name = self.editor.toPlainText(), self.name
        self.runner.start(lambda: check_text(text, name), "auto" if auto else "check")

    def link(self) -> None:
        """Check, then link and run in the worker; the trace arrives with trace_ready."""
        text, name = self.editor.toPlainText(), self.name
        program, words = self.program.text(), self.call.text().split()

        def work() -> Any:
            from ..engine.foreign import run_foreign  # noqa: PLC0415
            from ..engine.reference import parse_i32  # noqa: PLC0415
            checked = check_text(text, name)
            if not isinstance(checked, ForeignModule):
                return checked
            try:
                args = tuple(parse_i32(a) for a in words[1:])
            except ValueError as exc:
                return EngineError(f"call: {exc}")
            scenario = Scenario(source=program or None, call=words[0] if words else None,
                                args=args)
            return run_foreign(scenario, checked)
        self.linker.start(work, "link")

    def open_file(self, path: str) -> None:
        """Read a module file in the worker and edit it (File > Open module...)."""
        self.runner.start(lambda: read_for_editing(path), "open")

    # ---------------------------------------------------------------- outcomes
    def _on_done(self, outcome: Any, request: str) -> None:
        if isinstance(outcome, tuple) and len(outcome) == 3:
            line, column, text = outcome
            self.editor.show_error(line, column, text)
            if request != "auto":   # show where: the error may be far down the module
                block = self.editor.document().findBlockByNumber(line - 1)
                cursor = self.editor.textCursor()
                cursor.setPosition(block.position() + min(column - 1, len(block.text())))
                self.editor.setTextCursor(cursor)
                self.editor.centerCursor()
            self._say(f"Line {line}, column {column}: {text}", error=True)
            if request == "link":
                self.message.emit(f"Not linked: {text}", True)
        elif isinstance(outcome, tuple) and len(outcome) == 2:   # opened: (name, text)
            self.name = outcome[0]
            self.editor.setPlainText(outcome[1])
            self._say(f"Opened {self.name}.")
        elif isinstance(outcome, ForeignModule):
            self.editor.clear_error()
            self._say(f"{self.name}: {len(outcome.data)} bytes, valid. Link and run to "
                      "watch it link.")
        elif isinstance(outcome, ForeignRun):
            trace = outcome.trace
            ended = (f"trap {trace.trap.code}" if trace.trap else f"result {trace.result}")
            self._say(outcome.message or f"{self.name}: {_STATUS.get(outcome.link.status, '?')} "
                      f"(status {outcome.link.status}); the call gave {ended}. The trace "
                      "shows how it linked.", error=outcome.message is not None)
            self.trace_ready.emit(outcome.trace, f"your module {self.name}")
            if outcome.message:
                self.message.emit(outcome.message, True)
        elif isinstance(outcome, (SourceError, EngineError, OSError, ValueError)):
            self._say(str(outcome), error=True)
            self.message.emit(str(outcome), True)
        else:
            self._say(f"unexpected error: {outcome!r}", error=True)

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {ERROR_COLOR};" if error else "")


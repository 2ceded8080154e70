"""Compare link styles: the sandbox's program run in the three styles, side by side (issue 12).

The worker runs the program once per style, recorded, and reads everything the table shows
from those traces: the generated modules' sizes (their bytes), the steps per phase, and who did
what (each step's kind, phase, ``by`` and the host's call edges). Then it measures what a
generated module costs in each style: generate -> compile -> link -> call with recording off,
several times, the styles interleaved so that a noisy machine slows them alike; the median per
module is shown. Nothing here is a constant: a different program gives different numbers.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QDialog, QHBoxLayout, QHeaderView, QLabel, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from ..engine import Machine, Scenario, Trace, run
from ..engine.scenario import LINK_DESCRIPTIONS, LINKS
from ..engine.trace import PHASES
from .runner import BackgroundRunner, ParseRunner
from .sandbox import SandboxPanel

#: Timed runs per style (each in a fresh Machine, recording off); the median is shown.
REPEATS = 5
ACTORS = ("host", "main", "module")
ACTOR_NAMES = {"host": "Host does", "main": "Main module does",
               "module": "Generated module does"}


@dataclass(frozen=True)
class StyleRun:
    """One style's run, summarised: all read from its trace, plus the measured cost."""

    link: str
    trace: Trace
    module_sizes: tuple[int, ...]
    phases: dict[str, int]
    roles: dict[str, tuple[str, ...]]
    result: int | None
    trap: str | None
    #: Seconds per generated module, generate -> call, one sample per module per repeat.
    samples: tuple[float, ...]

    @property
    def cost(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None


def who_does_what(trace: Trace) -> dict[str, tuple[str, ...]]:
    """For host, main and the generated module: what the trace shows each doing, counted.

    Read from the steps: their phase and kind, ``by`` (main's own table.grow in pic), the
    bases the link step records, and the host's call edges (what it calls after
    instantiating, if anything)."""
    done: dict[str, dict[str, int]] = {a: {} for a in ACTORS}
    called = ""   # the link function the host called last (patch, __wasm_apply_data_relocs)

    def did(actor: str, what: str) -> None:
        done[actor][what] = done[actor].get(what, 0) + 1

    for step in trace.steps:
        d, at = step.detail, (step.phase, step.kind)
        if at == ("generate", "begin"):
            did("main", "writes a module's bytes (template JIT)")
        elif at[0] == "compile":
            did("host", "compiles the bytes (wasmtime)")
        elif at == ("link", "table.grow") and d.get("by") == "main":
            did("main", "reserves table slots before instantiation (table.grow)")
        elif at == ("link", "no-room"):
            did("main", "finds no room (table.grow = -1): no instantiation")
        elif at == ("link", "linked"):
            did("host", "instantiates it")
            if "table_base" in d:
                did("host", "passes env.__table_base / __memory_base")
                did("host", "places the active element segment (instantiation)")
            for e in step.edges:   # what the host calls after instantiating, if anything
                if e.kind == "call" and e.source == "host":
                    called = e.target.partition(".")[2]
                    did("host", f"calls the module's {called}")
        elif at == ("link", "link-error"):
            did("host", "instantiation fails")
        elif step.kind in ("table.grow", "table.set", "table.init", "relocation"):
            where = "start function, inside instantiation" if step.phase == "link" else \
                f"{called or 'its link function'}, after instantiation"
            did("module", f"{step.kind} ({where})")
        elif at == ("patch", "trap"):
            did("module", "its link function traps")
        elif at == ("call", "call"):
            did("main", "calls through the table (invoke)")
    return {a: tuple(f"{what} ×{n}" if n > 1 else what for what, n in done[a].items())
            for a in ACTORS}


def summarize(link: str, trace: Trace, samples: tuple[float, ...] = ()) -> StyleRun:
    sizes = tuple(len(s.module.data) for s in trace.steps
                  if s.kind == "complete" and s.module is not None)
    phases = {p: sum(1 for s in trace.steps if s.phase == p) for p in PHASES}
    return StyleRun(link, trace, sizes, phases, who_does_what(trace), trace.result,
                    trace.trap.code if trace.trap else None, samples)


def time_modules(scenario: Scenario) -> list[float]:
    """Seconds per generated module of one unrecorded run of ``scenario``: from asking the
    JIT to generate until the call through the table has returned. Machine set-up and the
    program's loading are not timed: they are the same in every style."""
    m = Machine(record=False, fuel=scenario.fuel, threshold=scenario.threshold,
                window=scenario.window, jit=scenario.jit, direct_calls=scenario.direct_calls,
                link=scenario.link)
    out: list[float] = []
    if scenario.source is not None:
        m.load(scenario.source)
        t0 = time.perf_counter()
        m.jit_now()
        m.call(scenario.call or "", scenario.args)
        out.append(time.perf_counter() - t0)
    many = len(scenario.exprs) > 1
    for i, expr in enumerate(scenario.exprs, start=1):
        name = f"expr{i}" if many else "expr"
        m.load(expr, expr_name=name)
        t0 = time.perf_counter()
        m.jit_now([name])   # one expression, one module
        m.call(name, scenario.args)
        out.append(time.perf_counter() - t0)
    return out


def compare(scenario: Scenario, repeats: int = REPEATS) -> tuple[StyleRun, ...]:
    """Run ``scenario`` in every link style (recorded), then time it (interleaved)."""
    base = replace(scenario, jit_now=True)   # every style must generate the same modules
    traces = {link: run(replace(base, link=link)) for link in LINKS}
    samples: dict[str, list[float]] = {link: [] for link in LINKS}
    for _ in range(repeats):
        for link in LINKS:
            samples[link] += time_modules(replace(base, link=link))
    return tuple(summarize(link, traces[link], tuple(samples[link])) for link in LINKS)


class CompareRunner(BackgroundRunner):
    """Runs compare() off the GUI thread; reports (tuple of StyleRun, scenario) or an error."""

    finished = Signal(object, object)
    failed = Signal(str)

    def start(self, scenario: Scenario, repeats: int = REPEATS) -> None:
        self._start(lambda: compare(scenario, repeats), scenario)

    def _deliver(self, outcome: Any, request: Any) -> None:
        if isinstance(outcome, tuple):
            self.finished.emit(outcome, request)
        else:
            self.failed.emit(str(outcome) if isinstance(outcome, Exception)
                             else f"unexpected outcome: {outcome!r}")


#: The rows of the table, top to bottom: (label, tooltip).
ROWS = [("Module size", "Bytes of each generated module, as the main module wrote them"),
        ("Steps", "Recorded steps of the whole run")] + \
    [(f"  {p}", f"Steps in the {p} phase") for p in PHASES] + \
    [(ACTOR_NAMES[a], f"What the trace shows the {a} doing (×n: n times)") for a in ACTORS] + \
    [("Result", "What the call returned (or the trap that stopped it)"),
     ("Cost per module", f"Median seconds per generated module, from generating to the call "
                         f"returning, recording off ({REPEATS} timed runs per style, the "
                         f"styles interleaved); × compares with the first style")]


def _what(scenario: Scenario) -> str:
    """What the comparison runs, in a few words."""
    return "; ".join(scenario.exprs) if scenario.exprs else \
        f"{scenario.call}({', '.join(map(str, scenario.args))})"


class LinkCompareDialog(QDialog):
    """The sandbox's program in the three link styles, side by side."""

    #: (Trace, Scenario): the user asked to watch one style's run in the main window.
    show_trace = Signal(object, object)

    def __init__(self, sandbox: SandboxPanel, parent: QWidget | None = None,
                 repeats: int = REPEATS) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare link styles")
        self.setAccessibleName("Compare link styles")
        self.sandbox, self.repeats = sandbox, repeats
        self.runs: tuple[StyleRun, ...] = ()
        self._scenario: Scenario | None = None
        self.runner = CompareRunner(self)
        self.runner.finished.connect(self._on_finished)
        self.runner.failed.connect(self._on_failed)
        self._parser: ParseRunner | None = None
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Comparison status")
        self.status.setToolTip("What is being compared, or why it could not run")
        self.table = QTableWidget(len(ROWS), len(LINKS))
        self.table.setAccessibleName("Link styles compared")
        self.table.setToolTip("One column per link style; hover a style for what it does")
        self.table.setVerticalHeaderLabels([label for label, _ in ROWS])
        self.table.setHorizontalHeaderLabels(list(LINKS))
        for col, link in enumerate(LINKS):
            self.table.horizontalHeaderItem(col).setToolTip(LINK_DESCRIPTIONS[link])
        for row, (_, tip) in enumerate(ROWS):
            self.table.verticalHeaderItem(row).setToolTip(tip)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.run_button = QPushButton("Run again")
        self.run_button.setAccessibleName("Run the comparison again")
        self.run_button.setToolTip("Run the sandbox's current program in the three styles again")
        self.run_button.clicked.connect(self.start)
        self.show_buttons: list[QPushButton] = []
        buttons = QHBoxLayout()
        for link in LINKS:
            b = QPushButton(f"Watch {link}")
            b.setAccessibleName(f"Watch the {link} run")
            b.setToolTip(f"Show the recorded {link} run in the main window, step by step")
            b.setEnabled(False)
            b.clicked.connect(lambda _=False, link=link: self._watch(link))
            self.show_buttons.append(b)
            buttons.addWidget(b)
        buttons.addStretch(1)
        close = QPushButton("Close")
        close.setAccessibleName("Close")
        close.setToolTip("Close the comparison")
        close.clicked.connect(self.close)
        buttons.addWidget(self.run_button)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.resize(900, 640)

    # ------------------------------------------------------------------ running
    def start(self) -> None:
        """Build the sandbox's scenario (JIT now) as the sandbox does, then compare it in
        the worker."""
        if self._parser is None:   # its own: the sandbox's may be reading for a Run
            self._parser = ParseRunner(self)
            self._parser.parsed.connect(self.sandbox._on_parsed)
        if not self.sandbox.build_later(True, False, self._build, self._parser):
            self.status.setText("Reading the program…")

    def _build(self, outcome: object) -> None:
        if not isinstance(outcome, Scenario):
            self._on_failed(f"The sandbox's input cannot run: {outcome}")
            return
        scenario = self._scenario = outcome
        self.status.setText(f"Running {_what(scenario)} in the three link styles, then "
                            f"timing each {self.repeats} times…")
        self.run_button.setEnabled(False)
        self.runner.start(scenario, self.repeats)

    def _on_failed(self, message: str) -> None:
        self.run_button.setEnabled(True)
        self.status.setText(message)

    def _on_finished(self, runs: tuple[StyleRun, ...], scenario: Scenario) -> None:
        self.runs = runs
        self.run_button.setEnabled(True)
        for b in self.show_buttons:
            b.setEnabled(True)
        self.status.setText(f"{_what(scenario)}, JIT-compiled at once, in each link style. "
                            f"Everything below is read from the three recorded runs; the "
                            f"cost is measured (recording off).")
        first = runs[0].cost
        for col, r in enumerate(runs):
            sizes = ", ".join(f"{n} B" for n in r.module_sizes) or "no module"
            cost = "—" if r.cost is None else f"{r.cost * 1e3:.2f} ms" + (
                f" (×{r.cost / first:.2f})" if first and col else "")
            cells = [sizes, str(len(r.trace))] + [str(r.phases[p]) for p in PHASES] + \
                ["\n".join(r.roles[a]) or "—" for a in ACTORS] + \
                [str(r.result) if r.trap is None else f"trap: {r.trap}", cost]
            for row, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{r.link}: {text}")
                self.table.setItem(row, col, item)
        self.table.resizeRowsToContents()

    def _watch(self, link: str) -> None:
        run_ = next((r for r in self.runs if r.link == link), None)
        if run_ is not None and self._scenario is not None:
            self.show_trace.emit(run_.trace, replace(self._scenario, link=link))

    def cell(self, row_label: str, link: str) -> str:
        """The text of row ``row_label`` (as ROWS names it, stripped) for style ``link``."""
        row = next(i for i, (label, _) in enumerate(ROWS) if label.strip() == row_label)
        item = self.table.item(row, LINKS.index(link))
        return item.text() if item is not None else ""

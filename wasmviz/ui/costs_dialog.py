"""Help > Costs: what late linking costs under wasmtime and under Node's V8, measured now.

The figures are measured on the learner's machine when they press Measure, by the same code as
bench/bench_engines.py (wasmviz/engine/engine_costs.py), in a worker thread so the window stays
responsive; nothing here is a figure copied from elsewhere. Without `node` only wasmtime is
measured, and the dialog says why the other column is empty.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QHBoxLayout, QHeaderView,
                               QLabel, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from ..engine.engine_costs import FIGURES, Costs, measure, speedup
from .runner import BackgroundRunner

#: (label, modules, fib n, repeats): a quick look by default, the README's figures on demand.
SIZES = (("Quick (about 5 s): 30 modules, fib(25)", 30, 25, 3),
         ("Full (about 30 s): 120 modules, fib(30), as make bench", 120, 30, 5))


def _words(figure: str, n: object) -> str:
    """A figure's row label: the bench's words, with real arrows."""
    return figure.format(n=n).replace(" -> ", " → ")


class CostsRunner(BackgroundRunner):
    """Runs engine_costs.measure in the worker; ``measured`` gets Costs or the exception."""

    measured = Signal(object)
    #: A progress line, emitted by the worker (queued to the GUI thread, as ``_done`` is).
    progress = Signal(str)

    def start(self, modules: int, fib_n: int, repeats: int) -> None:
        say = self.progress.emit
        self._start(lambda: measure(modules, fib_n, repeats, progress=say), None)

    def _deliver(self, outcome: Any, request: Any) -> None:
        self.measured.emit(outcome)


class CostsDialog(QDialog):
    """Measure and show the per-module and fib costs under both engines, side by side."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Costs: wasmtime and Node's V8")
        self.setAccessibleName("Costs of late linking under two engines")
        intro = QLabel(
            "The same main module runs under wasmtime (this app's host, fuel metered) and under "
            "Node's V8 (no fuel). Measure times, on this machine and now, what one generated "
            "module costs from generation to its first call, and fib run by main's interpreter "
            "and by its JIT code. Both engines run interleaved, so compare the ratios; the "
            "method is in docs/engines.md.")
        intro.setWordWrap(True)
        self.size_combo = QComboBox()
        for label, *_ in SIZES:
            self.size_combo.addItem(label)
        self.size_combo.setAccessibleName("How much to measure")
        self.size_combo.setToolTip("Quick gives an idea in seconds; Full is what `make bench` "
                                   "measures for the README")
        self.measure_button = QPushButton("&Measure")
        self.measure_button.setAccessibleName("Measure the costs now")
        self.measure_button.setToolTip("Run both engines now, in the background (the window "
                                       "stays usable)")
        self.status = QLabel("Not measured yet.")
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Measurement status")
        self.table = QTableWidget(len(FIGURES) + 1, 3)
        self.table.setHorizontalHeaderLabels(["wasmtime", "Node / V8", "wasmtime ÷ V8"])
        self.table.setVerticalHeaderLabels([_words(w, "n") for w in FIGURES.values()]
                                           + ["fib(n): JIT speedup over the interpreter"])
        self.table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setTabKeyNavigation(False)
        self.table.setAccessibleName("Measured costs")
        self.table.setToolTip("Medians over the generated modules; fib: best of the runs")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)

        bar = QHBoxLayout()
        bar.addWidget(self.size_combo, 1)
        bar.addWidget(self.measure_button)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(bar)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.resize(820, 330)

        self.runner = CostsRunner(self)
        self.runner.progress.connect(self._on_progress)
        self.runner.measured.connect(self._on_measured)
        self.measure_button.clicked.connect(self.start)

    def start(self) -> None:
        _, modules, fib_n, repeats = SIZES[self.size_combo.currentIndex()]
        self.measure_button.setEnabled(False)
        self.status.setText("Measuring…")
        self.runner.start(modules, fib_n, repeats)

    def _on_progress(self, line: str) -> None:
        self.status.setText(f"Measuring: {line}…")

    def _on_measured(self, outcome: object) -> None:
        self.measure_button.setEnabled(True)
        if not isinstance(outcome, Costs):
            self.status.setText(f"⚠ The measurement failed: {outcome}")
            return
        self.show_costs(outcome)

    def show_costs(self, costs: Costs) -> None:
        """Fill the table from ``costs`` (what was measured; empty where it was not)."""
        v = costs.versions
        engines = costs.engines
        labels = [_words(w, costs.fib_n) for w in FIGURES.values()]
        labels.append(f"fib({costs.fib_n}): JIT speedup over the interpreter")
        self.table.setVerticalHeaderLabels(labels)
        for row, key in enumerate(FIGURES):
            digits = 3 if key.startswith("module") else 1
            for col, engine in enumerate(("wasmtime", "node")):
                value = costs.seconds[key].get(engine)
                self._put(row, col, "—" if value is None else f"{value * 1e3:.{digits}f} ms")
            ratio = costs.ratios.get(key)
            self._put(row, 2, "—" if ratio is None else f"{ratio:.1f}×")
        last = len(FIGURES)
        for col, engine in enumerate(("wasmtime", "node")):
            self._put(last, col, f"{speedup(costs, engine):.1f}×" if engine in engines else "—")
        self._put(last, 2, "")
        where = (f"wasmtime-py {v['wasmtime']}; Node {v['node']} (V8 {v['v8']})"
                 if "node" in engines else
                 f"wasmtime-py {v['wasmtime']} only: `node` is not installed, so V8 was not "
                 "measured (install Node.js, e.g. the Debian package nodejs)")
        self.status.setText(f"Measured now on this machine: {where}; {costs.modules} generated "
                            f"modules, fib({costs.fib_n}) best of {costs.repeats}.")

    def _put(self, row: int, col: int, text: str) -> None:
        item = QTableWidgetItem(text)
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.table.setItem(row, col, item)

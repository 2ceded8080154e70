"""The costs of late linking under wasmtime and Node's V8, measured by engine_costs (issue 14),
shown by the app's costs dialog: real measurements, small here, never timed assertions."""

from __future__ import annotations

import pytest

from wasmviz.engine import engine_costs
from wasmviz.engine.engine_costs import FIGURES, Costs, measure, speedup
from wasmviz.ui import costs_dialog
from wasmviz.ui.costs_dialog import CostsDialog

needs_node = pytest.mark.skipif(engine_costs.node_path() is None,
                                reason="node is not installed: the V8 column is not measured")
TINY = (("tiny", 3, 12, 1),)


@needs_node
def test_both_engines_are_measured_and_compared() -> None:
    costs = measure(modules=3, fib_n=12, repeats=1)
    assert costs.engines == ("wasmtime", "node")
    assert {"wasmtime", "node", "v8"} <= set(costs.versions)   # read from the runs themselves
    for key in FIGURES:
        assert set(costs.seconds[key]) == {"wasmtime", "node"}
        assert all(s > 0 for s in costs.seconds[key].values())
        assert costs.ratios[key] > 0
    # The fib ratios are the ratio of what was measured, nothing else.
    key = "fib jit"
    assert costs.ratios[key] == pytest.approx(costs.seconds[key]["wasmtime"]
                                              / costs.seconds[key]["node"])
    assert speedup(costs, "node") == pytest.approx(costs.seconds["fib interpreter"]["node"]
                                                   / costs.seconds["fib jit"]["node"])


def test_without_node_only_wasmtime_is_measured(monkeypatch) -> None:
    monkeypatch.setattr(engine_costs, "node_path", lambda: None)
    costs = measure(modules=2, fib_n=10, repeats=1)
    assert costs.engines == ("wasmtime",) and not costs.ratios
    assert all(set(v) == {"wasmtime"} for v in costs.seconds.values())


@needs_node
def test_the_dialog_measures_in_the_background_and_fills_its_table(qtbot, monkeypatch) -> None:
    monkeypatch.setattr(costs_dialog, "SIZES", TINY)
    dialog = CostsDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    with qtbot.waitSignal(dialog.runner.measured, timeout=60000):
        dialog.measure_button.click()
        assert not dialog.measure_button.isEnabled()   # one measurement at a time
    qtbot.waitUntil(dialog.measure_button.isEnabled)
    assert dialog.status.text().startswith("Measured now on this machine")
    assert "V8" in dialog.status.text()
    cells = [[dialog.table.item(r, c).text() for c in range(3)]
             for r in range(dialog.table.rowCount())]
    assert all(cell.endswith(" ms") for row in cells[:len(FIGURES)] for cell in row[:2])
    assert all(row[2].endswith("×") for row in cells[:len(FIGURES)])
    assert "fib(12)" in dialog.table.verticalHeaderItem(2).text()


def test_the_dialog_says_why_the_v8_column_is_empty(qtbot) -> None:
    dialog = CostsDialog()
    qtbot.addWidget(dialog)
    costs = Costs(2, 10, 1, {"wasmtime": "x"},
                  {k: {"wasmtime": 0.001} for k in FIGURES}, {})
    dialog.show_costs(costs)
    assert "`node` is not installed" in dialog.status.text()
    assert dialog.table.item(0, 1).text() == "—" and dialog.table.item(0, 2).text() == "—"
    assert dialog.table.item(0, 0).text() == "1.000 ms"

"""The window's wiring of the link styles, the comparison, the costs dialog and a second engine:
menus with shortcuts, remembered choices, and what the status bar and diagram say about the
engine that recorded the trace (issues 12 and 14)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QKeySequence

from wasmviz.engine import Scenario, run
from wasmviz.engine.node_engine import node_path
from wasmviz.ui.diagram.items import Box
from wasmviz.ui.main_window import MainWindow


def action(window: MainWindow, text: str):  # type: ignore[no-untyped-def]
    for menu_action in window.menuBar().actions():
        for a in menu_action.menu().actions():
            if a.text().replace("&", "").startswith(text):
                return a
    raise AssertionError(f"no menu item {text!r}")


def test_the_link_style_is_remembered_and_bad_values_fall_back(qtbot, tmp_path) -> None:
    path = str(tmp_path / "settings.ini")
    first = MainWindow(settings=QSettings(path, QSettings.Format.IniFormat), autorun=False)
    qtbot.addWidget(first)
    first.show()
    assert first.sandbox.set_link_style("pic")
    first.close()
    again = MainWindow(settings=QSettings(path, QSettings.Format.IniFormat), autorun=False)
    qtbot.addWidget(again)
    again.show()
    assert again.sandbox.link_style() == "pic"
    again.close()
    settings = QSettings(path, QSettings.Format.IniFormat)
    settings.setValue("sandbox/link", "teleport")
    settings.sync()
    third = MainWindow(settings=QSettings(path, QSettings.Format.IniFormat), autorun=False)
    qtbot.addWidget(third)
    assert third.sandbox.link_style() == "patch"
    assert any("sandbox/link" in third.messages.item(i).text()
               for i in range(third.messages.count()))


def test_faults_run_in_the_chosen_link_style(window, qtbot) -> None:
    window.sandbox.set_link_style("start")
    with qtbot.waitSignal(window.runner.finished, timeout=30000):
        window.run_fault("null-slot")
    assert window.scenario.link == "start" and window.scenario.fault == "null-slot"
    assert "link start" in window.windowTitle()


def test_compare_link_styles_is_in_the_run_menu_and_a_compared_run_can_be_watched(
        window, qtbot) -> None:
    compare = action(window, "Compare link styles")
    assert compare.shortcut() == QKeySequence("Ctrl+Shift+K")
    pic = Scenario(exprs=("x * x + 3",), args=(7,), jit_now=True, link="pic")
    window.sandbox.compare_trace.emit(run(pic), pic)
    assert window.scenario.link == "pic"
    assert any(s.detail.get("by") == "main" and s.kind == "table.grow"
               for s in window.player.trace)
    assert "link pic" in window.windowTitle()


def test_help_costs_opens_one_dialog(window) -> None:
    costs = action(window, "Costs")
    costs.trigger()
    dialog = window.costs_dialog
    assert dialog.isVisible()
    costs.trigger()
    assert window.costs_dialog is dialog


@pytest.mark.skipif(node_path() is None, reason="node is not installed")
def test_a_trace_recorded_under_v8_says_so_in_the_diagram_and_the_status_bar(window) -> None:
    from wasmviz.engine import node_engine

    trace = node_engine.run(Scenario(exprs=("x * x + 3",), args=(7,)))
    window.player.set_trace(trace)
    window.player.go(len(trace) - 1)
    titles = [i.title for i in window.central.scene().items() if isinstance(i, Box)]
    assert "host · Node.js + V8" in titles
    assert window.status_fuel.text().strip() == "fuel: none (node)"
    window.player.set_trace(run(Scenario(exprs=("x * x + 3",), args=(7,))))
    window.player.go(1)
    assert window.status_fuel.text().strip().startswith("fuel: ")
    assert "none" not in window.status_fuel.text()

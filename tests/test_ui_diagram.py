"""The central diagram shows the engine's real state at every step, forwards and back."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from functools import lru_cache

import pytest
from PySide6.QtCore import QVariantAnimation
from PySide6.QtGui import QColor, QPainter, QPalette

from wasmviz.engine import Scenario, run
from wasmviz.engine.scenario import FAULTS
from wasmviz.engine.trace import Trace
from wasmviz.ui.diagram.items import Arrow, Box, Note
from wasmviz.ui.diagram.strips import RegionItem, SlotItem
from wasmviz.ui.diagram.view import DiagramView


@lru_cache(maxsize=None)
def trace_of(name: str) -> Trace:
    scenarios = {
        "expr": Scenario(exprs=("x*x+3",), args=(7,)),
        "three": Scenario(exprs=("x+1", "x*2", "x-3"), args=(5,)),
        "many": Scenario(exprs=tuple(f"x+{i}" for i in range(20)), args=(5,)),
    }
    scenario = scenarios.get(name) or Scenario.for_fault(name)
    return run(scenario, disassemble=False)


def first(trace: Trace, kind: str) -> int:
    return next(s.index for s in trace if s.kind == kind)





def load(view: DiagramView, name: str) -> Trace:
    trace = trace_of(name)
    view.player.set_trace(trace)
    return trace


def test_empty_player_draws_a_hint(view):
    assert view.slot_items() == [] and view.module_boxes() == [] and view.trap_marker() is None


def test_table_set_shows_the_new_slot(view):
    trace = load(view, "expr")
    view.player.go(first(trace, "table.grow"))
    assert view.slot_item(6).label_text() == "null"
    view.player.go(first(trace, "table.set"))
    assert view.slot_item(6).label_text() == "m1.expr"
    assert [s.label_text() for s in view.slot_items()][:3] == ["null", "main.enter0",
                                                                "main.enter1"]
    view.player.go(0)
    assert 6 not in [s.index for s in view.slot_items()]


def test_relocation_highlights_the_code_slot(view):
    trace = load(view, "expr")
    i = first(trace, "relocation")
    view.player.go(i)
    address = trace[i].detail["address"]
    assert any(lo <= address and address + 4 <= hi for lo, hi in view.memory_highlights())
    assert view.relocation_callout() == "expr.code_slot  0 → 6"
    view.player.go(i + 1)
    assert view.relocation_callout() is None


def test_memory_highlights_are_the_steps_changes(view):
    trace = load(view, "expr")
    for i in (0, 1, 2, 18):
        view.player.go(i)
        assert view.memory_highlights() == [(c.address, c.address + len(c.new))
                                            for c in trace[i].memory_changes]


def test_result_shows_the_call_path(view):
    trace = load(view, "expr")
    view.player.go(len(trace) - 1)
    assert view.call_path() == ["main", "slot 6", "m1.expr"]
    box = view.module_boxes()[0]
    assert box.row_marks and box.lines[next(iter(box.row_marks))].startswith("expr")
    view.player.go(first(trace, "patched"))
    assert view.call_path() == []


@pytest.mark.parametrize("fault,slot,code", [
    ("null-slot", 6, "INDIRECT_CALL_TO_NULL"), ("bad-signature", 6, "BAD_SIGNATURE"),
    ("out-of-bounds", 7, "TABLE_OUT_OF_BOUNDS"), ("runaway", 6, "OUT_OF_FUEL")])
def test_call_traps_are_marked_on_their_slot(view, fault, slot, code):
    trace = load(view, fault)
    view.player.to_end()
    marker = view.trap_marker()
    assert marker is not None and (marker.code, marker.slot) == (code, slot)
    assert marker.where == ("m1.expr" if fault == "runaway" else f"slot {slot}")
    assert view.slot_item(slot).ring is not None
    if fault == "out-of-bounds":   # drawn as a ghost past the end of the 7-slot table
        assert len(trace[-1].table) == 7 and view.slot_item(7).slot is None
    if fault == "null-slot":
        assert view.slot_item(6).label_text() == "null"
    view.player.back()
    assert view.trap_marker() is None


def test_patch_trap_is_marked_on_the_module(view):
    trace = load(view, "table-limit")
    view.player.go(next(s.index for s in trace if s.trap))
    marker = view.trap_marker()
    assert marker is not None and marker.slot is None and marker.where == "m1.patch"
    assert view.module_boxes()[0].failed


@pytest.mark.parametrize("jit,where", [(True, "m1.expr"), (False, "the interpreter")])
def test_a_trap_inside_the_function_is_marked_there(view, jit, where):
    view.player.set_trace(run(Scenario(exprs=("x/0",), args=(1,), jit=jit), disassemble=False))
    view.player.to_end()
    marker = view.trap_marker()
    assert (marker.code, marker.where) == ("INTEGER_DIVISION_BY_ZERO", where)
    assert marker.slot == (6 if jit else None)


@pytest.mark.parametrize("fault", ["invalid-module", "link-mismatch"])
def test_failed_modules_are_crossed_out(view, fault):
    load(view, fault)
    view.player.to_end()
    (box,) = view.module_boxes()
    assert box.failed and box.dashed and view.trap_marker() is None
    assert view.call_path() == ["main", "main.interpreter"]
    assert view.import_edges() == []


def test_every_fault_scenario_draws(view):
    for fault in FAULTS:
        trace = load(view, fault)
        for i in range(len(trace)):
            view.player.go(i)
        assert view.slot_items()


@pytest.mark.parametrize("n,m", [(19, 1), (15, 4), (13, 6), (19, 19), (12, 3)])
def test_back_shows_the_same_as_going_there(view, n, m):
    load(view, "expr")
    view.player.go(n)
    for _ in range(m):
        view.player.back()
    stepped = view.state()
    view.player.go(0)
    view.player.go(n - m)
    assert view.state() == stepped


def test_back_with_animations_ends_in_the_same_state(view, qtbot):
    view.player.animation_ms = 60
    trace = load(view, "three")
    for i in range(len(trace)):
        view.player.go(i)
    for _ in range(30):
        view.player.back()
    # Wait for the last animation to end (a condition, not a fixed time: the machine may be
    # loaded).
    qtbot.waitUntil(lambda: view._anim.state() != QVariantAnimation.State.Running,
                    timeout=5000)
    stepped = view.state()
    view.player.animation_ms = 0
    view.player.go(0)
    view.player.go(len(trace) - 31)
    assert view.state() == stepped


def test_a_step_forward_animates_to_the_recorded_state(view, qtbot):
    trace = load(view, "expr")
    view.player.animation_ms = 120
    view.player.go(first(trace, "linked") - 1)
    qtbot.wait(200)
    view.player.forward()   # link: the import arrows are drawn progressively
    arrows = [i for i in view.scene().items() if isinstance(i, Arrow)]
    assert arrows and all(a.progress < 1 for a in arrows)
    qtbot.waitUntil(lambda: all(a.progress == 1 for a in arrows), timeout=2000)
    view.player.go(first(trace, "table.grow") - 1)
    qtbot.wait(200)
    view.player.forward()   # table.grow: the new slot grows in
    assert view.slot_item(6).opacity() < 1
    qtbot.waitUntil(lambda: view.slot_item(6).opacity() == 1, timeout=2000)
    assert view.slot_item(6).scale() == 1


def test_three_expressions_give_three_modules(view):
    trace = load(view, "three")
    view.player.go(len(trace) - 1)
    boxes = view.module_boxes()
    assert [b.number for b in boxes] == [1, 2, 3]
    assert [b.lines[0] for b in boxes] == [f"expr{k}  → slot {k + 5}" for k in (1, 2, 3)]
    assert {e for e in view.import_edges()} == {(f"m{k}", w) for k in (1, 2, 3)
                                                for w in ("main.table", "main.memory",
                                                          "host.note")}
    view.player.go(first(trace, "begin"))
    assert [b.title_text() for b in view.module_boxes()] == ["m1 being written…"]


def test_jit_buffer_fills_as_sections_are_written(view):
    trace = load(view, "expr")
    filled = []
    for step in trace:
        view.player.go(step.index)
        if step.phase == "generate" and "end" in step.detail:
            assert view.jit_fill() == step.detail["end"] - 0x20000
        filled.append(view.jit_fill())
    assert filled == sorted(filled)
    assert filled[-1] == len(trace[first(trace, "complete")].module.data)


def test_link_draws_imports_and_the_host_call(view):
    trace = load(view, "expr")
    view.player.go(first(trace, "linked"))
    assert set(view.import_edges()) == {("m1", "main.table"), ("m1", "main.memory"),
                                        ("m1", "host.note")}
    arrows = [i for i in view.scene().items() if isinstance(i, Arrow)]
    assert len(arrows) == 4   # three imports and the host's call to patch
    view.player.go(first(trace, "compiled"))
    assert view.import_edges() == []


def test_long_tables_show_a_window(view):
    trace = load(view, "many")
    view.player.to_end()
    shown = [s.index for s in view.slot_items()]
    assert len(trace[-1].table) == 26 and len(shown) <= 12
    assert shown[:6] == [0, 1, 2, 3, 4, 5] and 25 in shown
    assert view.call_path() == ["main", "slot 25", "m20.expr20"]
    assert view.module_boxes()[-1].number == 20 and len(view.module_boxes()) < 20


def test_new_trace_starts_over(view):
    load(view, "three")
    view.player.to_end()
    load(view, "expr")
    assert view.module_boxes() == [] and view.player.index == 0


def test_every_element_explains_itself_in_legible_type(view):
    trace = load(view, "expr")
    view.player.go(first(trace, "relocation"))
    items = view.scene().items()
    for item in items:
        if isinstance(item, (SlotItem, RegionItem, Box)):
            assert item.toolTip(), item
        if isinstance(item, Note):
            assert item.pt >= 10
    assert sum(isinstance(i, RegionItem) for i in items) == len(view.player.trace.layout.regions())
    assert view.renderHints() & QPainter.RenderHint.Antialiasing


def test_dark_palette_is_used_for_text_and_background(view):
    load(view, "expr")
    palette = QPalette()
    palette.setColor(QPalette.ColorRole.Base, QColor("#1b1c1f"))
    palette.setColor(QPalette.ColorRole.Text, QColor("#e8eaed"))
    view.setPalette(palette)
    assert view.scene().backgroundBrush().color() == QColor("#1b1c1f")
    assert view.slot_items()


def test_render_png_and_svg(view, tmp_path):
    trace = load(view, "expr")
    view.player.go(len(trace) - 1)
    png, svg = tmp_path / "d.png", tmp_path / "d.svg"
    view.render_png(str(png))
    view.render_svg(str(svg))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    assert "m1" in svg.read_text() and "expr" in svg.read_text()


def test_one_step_back_plays_that_step_in_reverse(view, qtbot):
    trace = load(view, "expr")
    grow, tset = first(trace, "table.grow"), first(trace, "table.set")
    view.player.go(tset)
    assert view.slot_item(6).label_text() == "m1.expr"
    view.player.animation_ms = 300
    view.player.back()
    # While reversing, the undone step (table.set) is on screen, running backwards...
    assert view.player.index == grow
    assert view.slot_item(6).label_text() == "m1.expr"
    assert view._anim.direction() == view._anim.Direction.Backward
    # ...then the recorded earlier state settles: slot 6 grown but still null.
    qtbot.waitUntil(lambda: view.slot_item(6).label_text() == "null", timeout=3000)
    view.player.animation_ms = 0
    settled = view.state()
    view.player.go(0)
    view.player.go(grow)
    assert view.state() == settled

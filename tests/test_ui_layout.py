"""One memory map: main.wat exports it, the recorder puts it in the trace, the views read it there.

No view keeps addresses of its own, so these tests give a trace a layout that main.wat does not
have and check that the views follow the trace.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtCore import Qt

from wasmviz.engine import Layout, Machine, Scenario, run
from wasmviz.engine.layout import DEFAULT_LAYOUT, FUNC_FIELDS, STATE_FIELDS
from wasmviz.engine.trace import Trace
from wasmviz.ui.diagram.strips import RegionItem
from wasmviz.ui.diagram.view import DiagramView
from wasmviz.ui.memory_view import MemoryView
from wasmviz.ui.player import Player
from wasmviz.engine.records import decode_function
from wasmviz.ui.source_view import changed_fields


@pytest.fixture(scope="module")
def trace() -> Trace:
    return run(Scenario(exprs=("x*x+3",), args=(7,)), disassemble=False)


def moved(layout: Layout, by: int = 0x100) -> Layout:
    """``layout`` with every region shifted up by ``by`` bytes."""
    keep = {"func_size", "max_funcs", "entry_slot0", "max_params"}
    return replace(layout, **{k: v + by for k, v in layout.to_json().items() if k not in keep})


def player_of(qtbot, trace: Trace) -> Player:  # type: ignore[no-untyped-def]
    player = Player()
    player.animation_ms = 0
    player.set_trace(trace)
    return player


def test_the_trace_carries_the_layout_main_exports(trace: Trace) -> None:
    assert trace.layout == Machine(record=False).layout
    assert run(Scenario(exprs=("x+1",), args=(1,)), record=False).layout == trace.layout


def test_the_layout_survives_json_and_old_traces_fall_back_to_the_default(trace: Trace) -> None:
    other = replace(trace, layout=moved(trace.layout))
    assert Trace.loads(other.dumps()).layout == other.layout
    old = trace.to_json()
    del old["layout"]   # as saved before traces carried their layout
    assert Trace.from_json(old).layout == DEFAULT_LAYOUT


def test_the_default_layout_is_main_wat_s() -> None:
    # Traces saved without a layout are drawn with the default: it must still be main.wat's.
    assert DEFAULT_LAYOUT == Machine(record=False).layout


def test_regions_hold_what_the_recorder_labels_them(trace: Trace) -> None:
    layout = trace.layout
    assert [r.key for r in layout.regions()] == ["state", "args", "queue", "free", "module_of",
                                                 "functions", "heap", "stack", "jit"]
    assert layout.region(layout.state_field("modules")) == "state"
    assert layout.region(layout.state_base + 4 * len(STATE_FIELDS)) == "other"
    prefixes = {"state": "state.", "args": "args[", "queue": "queue[", "free": "free[",
                "module_of": "module_of["}
    for step in trace:
        for c in step.memory_changes:
            key = layout.region(c.address)
            if key in prefixes:
                assert c.label.startswith(prefixes[key]), (c.address, c.label)
            if key == "functions":
                assert c.label.split(".")[1] in FUNC_FIELDS, (c.address, c.label)


def test_function_objects_are_read_where_the_layout_puts_them(trace: Trace) -> None:
    (fn,) = trace[-1].functions
    assert fn.name == "expr" and fn.address == trace.layout.funcs_base and fn.code_slot == 6
    # The engine decodes with the trace's layout: the same object 4 KiB higher is found there.
    memory = trace.memory_at(len(trace) - 1, 0, trace[-1].memory_pages * 65536)
    up = decode_function(bytes(0x1000) + memory, moved(trace.layout, 0x1000),
                         fn.address + 0x1000)
    assert (up.address, up.code_slot, up.params) == (fn.address + 0x1000, 6, fn.params)
    reloc = trace.find(kind="relocation")[0]
    assert changed_fields(reloc, trace[reloc.index - 1]) == {(fn.address, "code_slot")}
    assert changed_fields(reloc, reloc) == set()


def test_the_memory_view_lists_the_traces_regions(qtbot, trace: Trace) -> None:
    other = replace(trace, layout=moved(trace.layout))
    view = MemoryView(player_of(qtbot, other))
    qtbot.addWidget(view)
    starts = [view.region_combo.itemData(i) for i in range(1, view.region_combo.count())]
    assert starts == [r.start for r in other.layout.regions()]
    jit = view.region_combo.findText("JIT buffer", Qt.MatchFlag.MatchStartsWith)
    assert view.region_combo.itemData(jit) == other.layout.jit_buf
    view.player.set_trace(trace)   # a new trace brings its own map
    assert view.region_combo.itemData(jit) == trace.layout.jit_buf
    address = trace.layout.state_field("modules")
    tip = view.model.headerData(address // 16, Qt.Orientation.Vertical,
                                Qt.ItemDataRole.ToolTipRole)
    assert "VM state" in tip


def test_the_diagram_draws_the_traces_regions(qtbot, trace: Trace) -> None:
    other = replace(trace, layout=moved(trace.layout))
    view = DiagramView(player_of(qtbot, other))
    qtbot.addWidget(view)
    drawn = sorted((i.region for i in view.scene().items() if isinstance(i, RegionItem)),
                   key=lambda r: r.start)
    assert drawn == list(other.layout.regions())

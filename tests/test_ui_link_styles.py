"""The three link styles in the app (issue 12): the diagram, the docks, the sandbox's selector
and the Compare link styles dialog tell each style as its recorded run has it.

Every expectation is read from a real recorded run (wasmtime, main.wat's JIT), never from the
style's name alone: the module's sections, the step kinds and their details say what happened.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QRect, QSettings, Qt

from wasmviz.engine import Scenario, Trace, run
from wasmviz.engine.scenario import LINK_DESCRIPTIONS, LINKS
from wasmviz.ui import colors
from wasmviz.ui.diagram import paint
from wasmviz.ui.diagram.history import module_link
from wasmviz.ui.diagram.items import Box
from wasmviz.ui.diagram.view import DiagramView
from wasmviz.ui.event_log import EventLog
from wasmviz.ui.link_compare import LinkCompareDialog, who_does_what
from wasmviz.ui.main_window import MainWindow
from wasmviz.ui.player import Player
from wasmviz.ui.sandbox import SandboxPanel
from wasmviz.ui.table_view import TableView


@pytest.fixture(scope="module")
def traces() -> dict[str, Trace]:
    """x * x + 3 at 7, JIT-compiled at once, recorded once in each style."""
    return {link: run(Scenario(exprs=("x * x + 3",), args=(7,), jit_now=True, link=link))
            for link in LINKS}


def at(trace: Trace, phase: str, kind: str) -> int:
    return trace.find(phase, kind)[0].index


def shown(qtbot, trace: Trace) -> DiagramView:  # type: ignore[no-untyped-def]
    player = Player()
    player.animation_ms = 0
    view = DiagramView(player)
    qtbot.addWidget(view)
    view.resize(1200, 700)
    player.set_trace(trace)
    return view


# ---------------------------------------------------------------- what the trace says
@pytest.mark.parametrize("link", LINKS)
def test_each_modules_style_is_read_from_its_own_bytes(traces: dict[str, Trace],
                                                       link: str) -> None:
    module = traces[link].find("generate", "complete")[0].module
    assert module is not None and module_link(module) == link
    assert traces[link].result == 52


def test_who_does_what_comes_from_the_steps(traces: dict[str, Trace]) -> None:
    roles = {link: who_does_what(t) for link, t in traces.items()}
    assert "calls the module's patch" in roles["patch"]["host"]
    assert not any("calls" in r for r in roles["start"]["host"])
    assert "calls the module's __wasm_apply_data_relocs" in roles["pic"]["host"]
    assert any("table.init (start function" in r for r in roles["start"]["module"])
    assert any(r.startswith("reserves table slots") for r in roles["pic"]["main"])
    assert not any(r.startswith("reserves") for r in roles["patch"]["main"])


# ---------------------------------------------------------------- the diagram
@pytest.mark.parametrize("link", LINKS)
def test_host_line_and_module_card_tell_the_style(qtbot, traces: dict[str, Trace],
                                                  link: str) -> None:
    trace = traces[link]
    view = shown(qtbot, trace)
    view.player.go(at(trace, "link", "linked"))
    host = view.state()["host"]
    box = view.module_box(1)
    assert box is not None
    if link == "patch":
        assert host.endswith("then calls patch") and "patch" in box.keys
    elif link == "start":
        assert "calls" not in host and "start function" in host
        assert "start" in box.keys and "patch" not in box.keys
    else:
        linked = trace[at(trace, "link", "linked")].detail
        assert "__wasm_apply_data_relocs" in host and "patch" not in box.keys
        # The bases the host passed, as the link step recorded them, on the card's rows.
        rows = dict(zip(box.keys, box.lines))
        assert rows["env.__table_base"].endswith(f"= {linked['table_base']}")
        assert rows["env.__memory_base"].endswith(f"= {linked['memory_base']:#07x}")


@pytest.mark.parametrize("link", LINKS)
def test_base_global_imports_and_the_hosts_call_follow_the_trace(qtbot, traces, link) -> None:
    trace = traces[link]
    view = shown(qtbot, trace)
    step = trace[at(trace, "link", "linked")]
    view.player.go(step.index)
    imports = set(view.import_edges())
    bases = {("m1", "env.__table_base"), ("m1", "env.__memory_base")}
    assert bases <= imports if link == "pic" else not bases & imports
    called = [e.target for e in step.edges if e.kind == "call" and e.source == "host"]
    assert called == {"patch": ["m1.patch"], "start": [],
                      "pic": ["m1.__wasm_apply_data_relocs"]}[link]
    arrows = view.arrows("patch")
    assert len(arrows) == len(called)
    if called:   # the host's arrow ends at the row of the function it calls
        box = view.module_box(1)
        end = arrows[0].path().pointAtPercent(1.0)
        assert end == box.anchor(called[0].partition(".")[2])
    # No step of a start run shows the host calling anything: instantiation runs the start.
    if link == "start":
        for i in range(len(trace)):
            view.player.go(i)
            assert not view.arrows("patch")


def test_start_functions_table_init_fills_its_slots_and_marks_the_start_row(qtbot, traces):
    trace = traces["start"]
    view = shown(qtbot, trace)
    step = trace.find("link", "table.init")[0]
    view.player.go(step.index)
    filled = list(range(step.detail["base"], step.detail["base"] + step.detail["count"]))
    assert view.state()["filled"] == filled
    for i in filled:
        assert view.slot_item(i).ring == colors.CHANGE
        assert view.slot_item(i).label_text() == step.table[i].label
    assert "start function" in view.state()["actor"] and "table.init" in view.state()["actor"]
    box = view.module_box(1)
    assert box.row_marks.get(box.keys.index("start")) is not None
    assert box.title.startswith("instantiating")
    assert view.arrows("call") == []


def test_pic_main_reserves_then_instantiation_places(qtbot, traces: dict[str, Trace]) -> None:
    trace = traces["pic"]
    view = shown(qtbot, trace)
    grow = trace.find("link", "table.grow")[0]
    assert grow.detail["by"] == "main"
    view.player.go(grow.index)
    assert view.state()["actor"].startswith("main's table.grow reserved slot "
                                            f"{grow.detail['base']}")
    reserved = range(grow.detail["base"], grow.detail["base"] + grow.detail["delta"])
    view.player.go(at(trace, "compile", "compiled"))   # still null, but main's
    for i in reserved:
        assert view.slot_item(i).reserved_for == 1 and view.slot_item(i).label_text() == "null"
    linked = trace[at(trace, "link", "linked")]
    view.player.go(linked.index)
    assert view.state()["filled"] == [p["slot"] for p in linked.detail["placed"]]
    assert "__table_base" in view.state()["actor"]
    for i in reserved:
        assert view.slot_item(i).reserved_for is None   # filled now
    relocation = trace.find("patch", "relocation")[0]
    view.player.go(relocation.index)
    box = view.module_box(1)
    assert box.row_marks.get(box.keys.index("__wasm_apply_data_relocs")) is not None


@pytest.mark.parametrize("link", ["start", "pic"])
@pytest.mark.parametrize("fault", [None, "table-limit", "null-slot", "link-mismatch"])
def test_no_label_is_cut_short_in_any_style(qtbot, link: str, fault: str | None) -> None:
    """Every step's labels, the new step kinds' included, painted whole at >= 11 px."""
    scenario = Scenario(exprs=("x * x + 3", "x + 1"), args=(7,), jit_now=True, link=link) \
        if fault is None else Scenario.for_fault(fault, link=link)
    trace = run(scenario)
    view = shown(qtbot, trace)
    view.show()
    qtbot.waitExposed(view)
    kinds, cut = set(), {}
    for i in range(len(trace)):
        view.player.go(i)
        kinds.add(trace[i].kind)
        paint.elided.clear()
        smallest, _ = view.rendered_text_px()
        assert smallest >= paint.LEGIBLE_PX, (i, smallest)
        if paint.elided:
            cut[i] = sorted(paint.elided)
    assert not cut, cut
    if fault is None:
        assert {"table.grow", "relocation", "linked"} <= kinds
        assert ("table.init" in kinds) == (link == "start")
    if fault == "table-limit" and link == "pic":
        assert "no-room" in kinds


# ---------------------------------------------------------------- the docks
def test_table_dock_names_reserved_slots_and_how_slots_were_filled(qtbot, traces) -> None:
    trace = traces["pic"]
    player = Player()
    player.set_trace(trace)
    view = TableView(player)
    qtbot.addWidget(view)
    view.show()
    model = view.model
    grow = trace.find("link", "table.grow")[0]
    slot = grow.detail["base"]
    player.go(at(trace, "compile", "compiled"))
    assert model.data(model.index(slot, 2)) == "reserved for module 1"
    assert "Reserved" in model.data(model.index(slot, 1), Qt.ItemDataRole.ToolTipRole)
    player.go(at(trace, "link", "linked"))
    qtbot.waitUntil(lambda: "active segment" in view.summary.text())
    assert model.data(model.index(slot, 2)) == "module 1"
    assert "__table_base" in model.data(model.index(slot, 1), Qt.ItemDataRole.ToolTipRole)
    player.set_trace(traces["start"])
    player.go(traces["start"].find("link", "table.init")[0].index)
    qtbot.waitUntil(lambda: "by table.init" in view.summary.text())
    assert "table.init" in model.data(model.index(slot, 1), Qt.ItemDataRole.ToolTipRole)


def test_event_log_says_how_the_modules_link(qtbot, traces: dict[str, Trace]) -> None:
    player = Player()
    log = EventLog(player)
    qtbot.addWidget(log)
    player.set_trace(traces["start"])
    assert "start function" in log.count.text()
    phase_tip = log.model.data(log.model.index(at(traces["start"], "link", "table.init"), 1),
                               Qt.ItemDataRole.ToolTipRole)
    assert "start function" in phase_tip
    player.set_trace(traces["pic"])
    assert "position-independent" in log.count.text()


# ---------------------------------------------------------------- the sandbox
def test_sandbox_link_selector(qtbot) -> None:
    panel = SandboxPanel()
    qtbot.addWidget(panel)
    combo = panel.link_combo
    assert [combo.itemData(i) for i in range(combo.count())] == list(LINKS)
    assert combo.accessibleName() == "Link style"
    for i, link in enumerate(LINKS):
        assert combo.itemData(i, Qt.ItemDataRole.ToolTipRole) == LINK_DESCRIPTIONS[link]
    assert panel.compare_button.accessibleName() and panel.compare_button.toolTip()
    panel.editor.setPlainText("x * x + 3")
    assert panel.set_link_style("pic") and LINK_DESCRIPTIONS["pic"] in combo.toolTip()
    assert panel.build(jit_now=True).link == "pic"
    panel.editor.setPlainText("def f(n) = n + 1")
    panel.args_edit.setText("4")
    assert panel.set_link_style("start") and panel.build(jit_now=False).link == "start"
    assert not panel.set_link_style("dlopen") and panel.link_style() == "start"


def test_sandbox_runs_the_chosen_style_for_real(qtbot, tmp_path: Path) -> None:
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings=settings, autorun=False)
    win.player.animation_ms = 0
    qtbot.addWidget(win)
    win.setGeometry(QRect(0, 0, 1280, 720))
    win.show()
    qtbot.waitExposed(win)
    win.sandbox.editor.setPlainText("x * x + 3")
    win.sandbox.args_edit.setText("7")
    win.sandbox.set_link_style("pic")
    with qtbot.waitSignal(win.runner.finished, timeout=30000):
        win.sandbox.request(jit_now=True)
    trace = win.player.trace
    compiled = trace.find("compile", "compiled")[0]
    assert "env.__table_base" in compiled.detail["imports"] and trace.result == 52
    win.player.go(at(trace, "link", "linked"))
    assert "__wasm_apply_data_relocs" in win.central.state()["host"]
    smallest, _ = win.central.rendered_text_px()
    assert smallest >= paint.LEGIBLE_PX


# ---------------------------------------------------------------- side by side
def test_compare_dialog_fills_from_real_runs(qtbot) -> None:
    panel = SandboxPanel()
    qtbot.addWidget(panel)
    panel.editor.setPlainText("x * x + 3")
    panel.args_edit.setText("7")
    dialog = LinkCompareDialog(panel, repeats=1)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.accessibleName() and dialog.table.accessibleName()
    dialog.start()
    qtbot.waitUntil(lambda: len(dialog.runs) == 3, timeout=60000)
    for r in dialog.runs:
        module = r.trace.find("generate", "complete")[0].module
        assert dialog.cell("Module size", r.link) == f"{len(module.data)} B"
        assert dialog.cell("Steps", r.link) == str(len(r.trace))
        assert dialog.cell("link", r.link) == str(len(r.trace.find("link")))
        assert dialog.cell("Result", r.link) == "52"
        assert dialog.cell("Cost per module", r.link).split()[1] == "ms"
        assert r.cost is not None and r.cost > 0
    assert "__wasm_apply_data_relocs" in dialog.cell("Host does", "pic")
    assert "calls" not in dialog.cell("Host does", "start")
    assert "table.init" in dialog.cell("Generated module does", "start")
    assert "reserves" in dialog.cell("Main module does", "pic")
    sizes = {r.link: r.module_sizes for r in dialog.runs}
    assert len(set(sizes.values())) == 3   # the three forms really differ in bytes
    with qtbot.waitSignal(dialog.show_trace) as shown_:
        dialog.show_buttons[LINKS.index("start")].click()
    trace, scenario = shown_.args
    assert scenario.link == "start" and trace.find("link", "table.init")


def test_compare_dialog_says_why_bad_input_cannot_run(qtbot) -> None:
    panel = SandboxPanel()
    qtbot.addWidget(panel)
    panel.editor.setPlainText("x * * 3")
    dialog = LinkCompareDialog(panel, repeats=1)
    qtbot.addWidget(dialog)
    dialog.start()
    assert "cannot run" in dialog.status.text() and not dialog.runs
    # A long program is read by a worker, as the sandbox reads it; one over the size limit
    # is refused at once, without being parsed (the dialog had its own copy of that rule).
    from wasmviz.ui.sandbox import MAX_SOURCE_BYTES, SYNC_PARSE_CHARS
    body = "def f(x) = x + 1\n"
    panel.editor.setPlainText("# a long comment line\n" * (SYNC_PARSE_CHARS // 20) + body)
    panel.args_edit.setText("7")
    dialog.start()
    assert dialog.status.text() == "Reading the program…"
    qtbot.waitUntil(lambda: bool(dialog.runs), timeout=60000)
    assert all(r.result == 8 for r in dialog.runs)
    panel.editor.setPlainText("#" * (MAX_SOURCE_BYTES + 1))
    dialog.start()
    assert "cannot run" in dialog.status.text() and "at most" in dialog.status.text()


def test_the_table_label_says_main_freed_a_redefined_functions_slot() -> None:
    """Issue 12 item 3: main's table.set to null is main's doing, named with what it held."""
    from wasmviz.ui.diagram.draw_link import actor_text

    trace = run(Scenario(source="def f(x) = x * x + 3\n", call="f", args=(7,), jit_now=True,
                         redefine=("def f(x) = x * 2 - 1\n",)))
    freed = next(s for s in trace if s.kind == "table.set" and s.detail.get("by") == "main")
    reuse = next(s for s in trace if s.kind == "reuse")

    class Seen:  # the modules the picture has recorded so far
        history = {1: None}
    assert actor_text(Seen, freed) == (f"main's table.set freed slot {freed.detail['slot']} "
                                       f"(it held {freed.detail['held']}): f was redefined")
    assert actor_text(Seen, reuse) == f"main reuses free slot {reuse.detail['slot']} for f"


def test_a_module_no_slot_refers_to_is_drawn_as_kept_by_the_store(view) -> None:
    """Issue 12 item 3: the app shows what the store keeps alive, as the trace recorded it."""
    trace = run(Scenario(source="def f(x) = x * x + 3\n", call="f", args=(7,), jit_now=True,
                         redefine=("def f(x) = x * 2 - 1\n",)))
    view.player.set_trace(trace)
    last = trace.steps[-1]
    view.player.go(last.index)
    cards = {b.pill: b for b in view.scene().items() if isinstance(b, Box) and b.pill}
    kept = {i.module: i for i in last.instances}
    assert not kept[1].in_table and kept[2].in_table
    assert cards["m1"].title == "kept, unreferenced"
    assert f"· kept: {kept[1].code_bytes:,} B of code" in cards["m1"].lines
    assert cards["m2"].title != "kept, unreferenced"
    before = next(s for s in trace if s.kind == "table.set" and s.detail.get("by") == "main")
    view.player.go(before.index - 1)   # m1 still holds slot 6: an ordinary card
    cards = {b.pill: b for b in view.scene().items() if isinstance(b, Box) and b.pill}
    assert cards["m1"].title != "kept, unreferenced"


def test_a_toolchain_modules_imports_are_drawn_to_what_the_host_bound_them(view) -> None:
    """Issue 13: a module of your own importing env.memory and env.__indirect_function_table
    (matched by kind) gets its import arrows to main's memory and table, labelled with its own
    import names."""
    from wasmviz.ui.diagram.items import Note

    trace = run(Scenario(source="def square(x) = x * x\n", call="square", args=(7,),
                         module="toolchain_start.wat"))
    view.player.set_trace(trace)
    linked = next(s for s in trace if s.kind == "linked")
    assert {b["provider"] for b in linked.detail["bindings"]} == {"main.memory", "main.table"}
    view.player.go(linked.index)
    texts = {i.text for i in view.scene().items() if isinstance(i, Note)}
    assert {"env.memory", "env.__indirect_function_table"} <= texts
    # It exports nothing, yet its card names the function its start function put in slot 6.
    assert all(s.module.functions == ("square",) for s in trace if s.module is not None)
    card = view.module_box(1)
    assert card is not None and "square" in card.keys
    # No note told the host: the table read before and after shows the slot it filled.
    assert view._pic.filled == [i for i, s in enumerate(linked.table) if s.kind == "generated"]

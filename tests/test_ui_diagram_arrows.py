"""The diagram's arrows say what they carry: labelled imports, a distinct call path, the bytes
going to the host at compile, callbacks into the interpreter, and a trap callout in free space."""

from __future__ import annotations

from functools import lru_cache
import pytest
from PySide6.QtCore import QPointF, QRectF

from wasmviz.data import PROGRAMS_DIR
from wasmviz.engine import FAULTS, Scenario, Trace, run
from wasmviz.ui import colors
from wasmviz.ui.diagram.items import Arrow, Box, Note, TrapMarker
from wasmviz.ui.diagram.picture import HOST, MAIN, TABLE
from wasmviz.ui.diagram.strips import RegionItem, SlotItem
from wasmviz.ui.diagram.view import DiagramView

CALLBACK = PROGRAMS_DIR / "callback.wv"


@lru_cache(maxsize=None)
def trace_of(name: str) -> Trace:
    if name == "expr":
        return run(Scenario(exprs=("x*x+3",), args=(7,)), disassemble=False)
    if name == "callback":
        return run(Scenario(source=CALLBACK.read_text(), call="sum", args=(10, 0),
                            threshold=10, repeat=12), disassemble=False)
    return run(Scenario.for_fault(name), disassemble=False)





def show(view: DiagramView, name: str, kind: str, nth: int = 0) -> Trace:
    trace = trace_of(name)
    view.player.set_trace(trace)
    view.player.go([s.index for s in trace if s.kind == kind][nth])
    return trace


def arrows(view: DiagramView, kind: str) -> list[Arrow]:
    return list(view._pic.arrows.get(kind, ()))  # the picture keeps its arrows by meaning


def texts(view: DiagramView) -> list[str]:
    return [i.text for i in view.scene().items() if isinstance(i, Note) and i.text]


def test_import_arrows_are_labelled_with_what_they_import(view):
    show(view, "expr", "linked")
    assert set(view.import_edges()) == {("m1", "main.table"), ("m1", "main.memory"),
                                        ("m1", "host.note")}
    assert {"table", "memory", "note"} <= set(texts(view))
    imports = arrows(view, "import")
    assert len(imports) == 3
    # The note import ends at the host box; table and memory inside the main module.
    ends = [a.path().pointAtPercent(1.0) for a in imports]
    assert sum(abs(p.x() - HOST.right()) < 1 and HOST.top() <= p.y() <= HOST.bottom()
               for p in ends) == 1
    assert sum(MAIN.left() < p.x() <= MAIN.right() and p.y() > MAIN.top() for p in ends) == 2


def test_call_path_and_imports_differ_in_colour_style_and_lane(view):
    show(view, "expr", "result")
    calls, imports = arrows(view, "call"), arrows(view, "import")
    assert calls and imports
    for a in calls:
        assert a.color == colors.CALL and not a.dashed
    for a in imports:
        assert a.dashed and a.color.rgb() != colors.CALL.rgb()
        assert a.width < min(c.width for c in calls)

    def verticals(items: list[Arrow]) -> set[int]:
        """The x of every vertical leg in the channel between main and the modules."""
        xs = set()
        for a in items:
            path = a.path()
            pts = [path.elementAt(i) for i in range(path.elementCount())]
            xs |= {round(p.x) for p, q in zip(pts, pts[1:])
                   if abs(p.x - q.x) < 0.5 and p.x > MAIN.right()}
        return xs

    assert verticals(calls) and verticals(imports)
    assert min(abs(c - i) for c in verticals(calls) for i in verticals(imports)) >= 6


def test_compile_step_shows_the_bytes_going_to_the_host(view):
    trace = show(view, "expr", "compiled")
    size = len(trace[view.player.index].module.data)
    (arrow,) = arrows(view, "compile")
    assert f"{size} B → wasmtime" in texts(view)
    path = arrow.path()
    start, end = path.pointAtPercent(0.0), path.pointAtPercent(1.0)
    jit = view._pic.regions["jit"].sceneBoundingRect()
    assert jit.adjusted(-1, -1, 1, 1).contains(start)          # from the JIT buffer...
    assert HOST.adjusted(-1, -1, 1, 1).contains(end)           # ...to the host
    assert arrow.progress == 1.0   # drawn at rest: a still frame tells the story
    view.player.go(view.player.index + 1)   # link: the bytes are the host's now
    assert arrows(view, "compile") == []


def test_compile_arrow_and_packet_animate(view, qtbot):
    trace = show(view, "expr", "complete")
    view.player.animation_ms = 200
    view.player.forward()
    assert trace[view.player.index].kind == "compiled"
    (arrow,) = arrows(view, "compile")
    assert arrow.progress < 1.0
    qtbot.waitUntil(lambda: arrow.progress == 1.0, timeout=3000)


def test_a_callback_is_drawn_from_jit_code_through_the_entry_slot(view):
    trace = show(view, "callback", "callback", nth=1)   # in the first call run by JIT code
    d = trace[view.player.index].detail
    legs = arrows(view, "callback")
    assert len(legs) == 2 and all(a.color == colors.CALL and not a.dashed for a in legs)
    slot = view.slot_item(d["slot"])
    assert slot.label_text() == "main.enter1" and slot.ring == colors.CALL
    # From the caller's row in its module box, into the slot; then up to the interpreter.
    box = view.module_box(1)
    row = box.keys.index("sum")
    assert legs[0].path().pointAtPercent(0.0) == box.anchor("sum") and row in box.row_marks
    assert legs[0].path().pointAtPercent(1.0).x() == pytest.approx(slot.rect().center().x())
    interp = view._pic.boxes["interpreter"]
    assert interp.row_marks and legs[1].path().pointAtPercent(1.0).y() == \
        pytest.approx(interp.rect().bottom())
    assert "finish(55) → interpreter" in texts(view)
    assert view.call_path() == ["main", "slot 6", "m1.sum"]   # the call it happens in


def test_bad_signature_callout_names_both_types(view):
    trace = show(view, "bad-signature", "trap")
    marker = view.trap_marker()
    d = trace[-1].detail
    assert marker is not None and marker.code == "BAD_SIGNATURE"
    assert d["expected_type"] in marker.text and d["actual_type"] in marker.text


def _labels(view: DiagramView, marker: TrapMarker) -> tuple[list[QRectF], list[QRectF]]:
    """(text rects, panel rects) in the scene, the callout's own leader excluded."""
    rects, panels = [], []
    for item in view.scene().items():
        if item is marker:
            continue
        if isinstance(item, Note):
            r = item.sceneBoundingRect()
            (rects if item.text or item.heading else panels if item.border else []).append(r)
        elif isinstance(item, Box):
            r = item.sceneBoundingRect()
            if r.contains(QRectF(TABLE)):   # the main module: its title, and its border
                rects.append(QRectF(r.left(), r.top(), r.width(), Box.TITLE_H))
                panels.append(r)
            else:
                rects.append(r)
        elif isinstance(item, (SlotItem, RegionItem)):
            rects.append(item.sceneBoundingRect())
    return rects, panels


@pytest.mark.parametrize("fault", FAULTS)
def test_trap_callout_covers_no_other_label(view, fault):
    trace = trace_of(fault)
    view.player.set_trace(trace)
    trapped = [s.index for s in trace if s.trap is not None]
    for index in trapped:
        view.player.go(index)
        marker = view.trap_marker()
        assert marker is not None
        box = marker.sceneBoundingRect()
        rects, panels = _labels(view, marker)
        for r in rects:
            assert not box.intersects(r), (fault, r)
        for p in panels:   # wholly inside a panel or wholly outside it, never on its border
            assert p.contains(box) or not p.intersects(box), (fault, p)
        assert view.sceneRect().contains(box)
    if not trapped:   # a fault that only keeps the function interpreted: no callout at all
        view.player.to_end()
        assert view.trap_marker() is None


def test_trap_callout_has_a_leader_to_the_slot(view):
    show(view, "null-slot", "trap")
    marker = view.trap_marker()
    slot = view.slot_item(6).rect()
    leaders = [i for i in view.scene().items() if isinstance(i, Arrow)
               and i.color == colors.TRAP and i.dashed]
    assert leaders
    end = leaders[0].path().pointAtPercent(1.0)
    assert slot.adjusted(-1, -1, 1, 1).contains(end)
    start = leaders[0].path().pointAtPercent(0.0)
    assert marker.rect().adjusted(-1, -1, 1, 1).contains(QPointF(start))

"""What flows between modules: each module's imports (main's table and memory, the host's note),
the host's call to patch, the call path through a table slot, JIT code calling back into the
interpreter, and where a trap stopped the run.

Two kinds of arrow, told apart at a glance: imports are thin, dashed, in the module's colour
and labelled with what they import; the call path is thick, solid, in the call colour. They keep
to different lanes of the channel between the main module and the module column.
"""

from __future__ import annotations

import math
from dataclasses import replace

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QPainterPath

from ...engine.trace import Step
from .. import colors
from .draw_compile import (GAP, LABEL_PT, free_spot, label_width, lane,
                           leader_points, place)
from .draw_table import slot_number
from .history import LINK_FUNCTIONS
from .items import Arrow, Box, Note, TrapMarker
from .picture import COLUMN, HOST, MAIN, MEMORY, TABLE, Picture, routed

#: Traps raised by call_indirect's own checks: they happen at the slot, not in the callee.
AT_CALL_INDIRECT = ("INDIRECT_CALL_TO_NULL", "BAD_SIGNATURE", "TABLE_OUT_OF_BOUNDS")

#: Shares of the channel's width (see draw_compile.lane): imports keep to the left (one lane
#: each; pic's two base globals next), the host's call to the link function and the compile
#: arrow to the middle, callbacks and the call path to the right.
IMPORT_LANES, PATCH_LANE, CALLBACK_LANE, CALL_LANE = (0.08, 0.18, 0.28, 0.35, 0.41), 0.55, \
    0.7, 0.85
#: What each import is called on its arrow. The base globals (pic) are named by the rows of
#: the module card they leave from, which also give their values.
IMPORT_NAMES = {"main.table": "table", "main.memory": "memory", "host.note": "note",
                "env.__table_base": "__table_base", "env.__memory_base": "__memory_base"}
GLOBALS = ("env.__table_base", "env.__memory_base")
CALL_WIDTH, IMPORT_WIDTH = 3.5, 1.6
#: What the host calls after instantiating, by the export's name (a start function is not
#: called by the host at all: wasm runs it inside instantiation, so the trace has no edge).
HOST_CALL_TIPS = {
    "patch": "The host calls the new module's patch once, right after instantiating it.",
    "__wasm_apply_data_relocs": "The host calls the new module's __wasm_apply_data_relocs "
                                "once, right after instantiating it, as a dynamic loader "
                                "does: it stores each function's slot into its code slot.",
}


def _import_tip(source: str, target: str, name: str) -> str:
    if name == "note":
        return (f"{source} imports {target}: the host's note function, so its link code can "
                f"report each step.")
    if target == "env.__table_base":
        return (f"{source} imports {target}: an immutable i32 global, the first table slot "
                f"main reserved before instantiating. Its active element segment is placed "
                f"at it, and its relocations add it to each function's index: the module was "
                f"written without knowing it.")
    if target == "env.__memory_base":
        return (f"{source} imports {target}: an immutable i32 global, where main reserved the "
                f"module's memory (its dylink.0 asks for none: it has no data, so no code "
                f"reads it yet).")
    return f"{source} imports {target}: the new module uses the main module's own {name}, " \
           f"not a copy."


def _frame_around(pic: Picture, inner: QRectF) -> QRectF:
    """The titled panel drawn around ``inner`` (the table's or memory's), else ``inner``."""
    for item in pic.scene.items():
        if isinstance(item, Note) and not item.text and item.border is not None:
            r = item.mapRectToScene(item.rect())
            if r.contains(inner) and not r.contains(QRectF(MAIN)):
                return r
    return QRectF(inner)


def draw_imports(pic: Picture, step: Step) -> None:
    """Each linked module's imports, labelled; the host's call to patch."""
    ink = pic.ink
    linking = step.detail.get("module") if step.phase == "link" else None
    called = {e.target.split(".")[0] for e in step.edges if e.kind in ("call", "callback")}
    frames = {"main.table": _frame_around(pic, QRectF(TABLE)),
              "main.memory": _frame_around(pic, QRectF(MEMORY))}
    newest = max((b.number or 0 for b in pic.modules), default=0)
    for e in step.edges:
        box = pic.module_box(int(e.source[1:])) if e.source[1:].isdigit() else None
        shown_as = None   # the import's own name, where it is not main's (a module of yours)
        if e.kind == "import" and e.target not in IMPORT_NAMES and box is not None:
            owner = pic.history.get(box.number or 0)
            bound = owner.bindings.get(e.target) if owner is not None else None
            if bound in IMPORT_NAMES and bound not in GLOBALS:
                e, shown_as = replace(e, target=bound), e.target
        if e.kind == "import" and e.target in IMPORT_NAMES and box is not None:
            k = (box.number or 0) % 3
            # The imports leave the module's title bar one above the other, each in its lane;
            # a base global leaves the card's row that names it (and its value).
            order = list(IMPORT_NAMES).index(e.target)
            start = QPointF(box.rect().left(), box.rect().top() + 8 + 7 * order + k)
            if e.target in GLOBALS and e.target in box.keys[: len(box.lines)]:
                start = box.anchor(e.target)
            x = lane(IMPORT_LANES[order]) + 2 * k
            if e.target in frames:
                f = frames[e.target]
                end = QPointF(f.right(), f.top() + 14 + 3 * k)
            elif e.target in GLOBALS:   # the host made them: into the host's upper half
                end = QPointF(HOST.right(), HOST.top() + 5 + 6 * (order - 3) + k)
            else:   # host.note: the host box
                end = QPointF(HOST.right(), HOST.center().y() + 8 + 2 * k)
            # Only the module in focus gets a strong arrow and labels: many modules stay
            # readable.
            focus = box.number in (linking, newest) or f"m{box.number}" in called
            color = colors.module_color(box.number)
            color.setAlphaF(1.0 if focus else 0.4)
            name = shown_as or IMPORT_NAMES[e.target]
            tip = _import_tip(e.source, e.target, IMPORT_NAMES[e.target])
            if shown_as:
                tip = f"{e.source} imports {shown_as}; the host bound it to {e.target}. " + tip
            arrow = pic.add(Arrow(routed([start, QPointF(x, start.y()), QPointF(x, end.y()),
                                          end]), color, ink, IMPORT_WIDTH, dashed=True,
                                  tip=tip), 4)
            pic.imports.append((e.source, e.target))
            pic.arrows.setdefault("import", []).append(arrow)
            if linking == box.number:
                pic.tween(arrow.set_progress, 0.0, 0.7)
            if focus and e.target not in GLOBALS:
                _import_label(pic, name, end, frames.get(e.target), color, tip, linking)
        elif e.kind == "call" and e.source == "host" and (end := pic.anchor(e.target)):
            start = QPointF(HOST.right(), HOST.center().y() - 4)
            x = lane(PATCH_LANE)
            called_name = e.target.partition(".")[2]
            arrow = pic.add(Arrow(routed([start, QPointF(x, start.y()), QPointF(x, end.y()),
                                          end]), colors.HOST, ink, 2.5, dashed=True,
                                  tip=HOST_CALL_TIPS.get(called_name, f"The host calls "
                                                         f"{e.target} after instantiating "
                                                         f"the module.")), 4)
            pic.arrows.setdefault("patch", []).append(arrow)
            pic.tween(arrow.set_progress, 0.4, 1.0)


def _import_label(pic: Picture, name: str, end: QPointF, frame: QRectF | None,
                  color: QColor, tip: str, linking: object) -> None:
    """A small label by the arrow's end: inside the panel it points at, else nearby."""
    w, h = label_width(name, LABEL_PT, False, pad=20), 22.0   # Note pads 6 a side
    # In the panel's title row just left of the arrow head, else in the channel by the head.
    candidates = [QRectF(end.x() - 10 - w, end.y() - h / 2 + dy, w, h)
                  for dy in (0, 4, -4, 8, -8)] if frame is not None else []
    candidates += [QRectF(MAIN.right() + GAP, end.y() + dy, w, h)
                   for dy in (-h - 2, 2, -h - 10, 10, -h / 2)]
    rect = place(pic, w, h, end, candidates)
    label = pic.add(Note(rect, name, pic.ink, fill=pic.ink.bg, border=color, pt=LABEL_PT,
                         radius=h / 2, tip=tip), 7)
    if linking is not None:
        pic.tween(label.setOpacity, 0.5, 0.9)


def draw_call(pic: Picture, step: Step) -> None:
    """The call path: invoke → slot N → the function in it (or the interpreter) → result; and
    JIT code calling back through an interpreter entry."""
    calls = {e.source: e.target for e in step.edges if e.kind == "call" and e.source != "host"}
    callback = [e for e in step.edges if e.kind == "callback"]
    node = "main"
    while node in calls and len(pic.path) < 4:
        pic.path.append(node)
        node = calls[node]
    pic.path += [node] if pic.path else []
    if len(pic.path) >= 2:
        _draw_path(pic, step, bool(callback))
    if callback:
        _draw_callback(pic, step, callback[0].source, slot_number(callback[0].target))


def _draw_path(pic: Picture, step: Step, context: bool) -> None:
    """``context``: the call is the background of a callback step, drawn without its leg to
    the function (the callback's leg leaves that function's row instead)."""
    invoke, color = pic.boxes["invoke"].rect(), colors.TRAP if step.trap else colors.CALL
    number = slot_number(pic.path[1])
    slot = pic.slots.get(number) if number is not None else None
    # The result step repeats the call step's path: draw it at once, animate the result.
    prev = pic.trace[pic.index - 1] if pic.index > 0 else None
    again = prev is not None and \
        [e for e in prev.edges if e.kind == "call"] == [e for e in step.edges
                                                       if e.kind == "call"]
    legs: list[QPainterPath] = []
    if pic.path[1] == "main.interpreter":
        interp = pic.boxes["interpreter"]
        y = interp.rect().top() + Box.TITLE_H + Box.ROW_H / 2   # its first row
        legs.append(routed([QPointF(invoke.left(), y),
                            QPointF(interp.rect().right(), y)]))
        interp.row_marks[0] = color
    elif slot is not None:
        r = slot.rect()
        sx = min(max(r.center().x(), invoke.left() + 30), invoke.right() - 30)
        leg = QPainterPath(QPointF(sx, invoke.bottom()))
        leg.cubicTo(sx, invoke.bottom() + 20, r.left() + 12, r.top() - 40, r.left() + 12,
                    r.top())
        legs.append(leg)
        slot.ring = color
        if not again:
            pic.tween(lambda t: slot.set_glow(math.sin(math.pi * t)), 0.3, 0.6)
        end = pic.anchor(pic.path[2]) if len(pic.path) > 2 else None
        if end is not None and not context:
            y, x = TABLE.bottom() + 12, lane(CALL_LANE)
            legs.append(routed([QPointF(r.center().x(), r.bottom()),
                                QPointF(r.center().x(), y), QPointF(x, y),
                                QPointF(x, end.y()), end]))
        owner, _, name = pic.path[2].partition(".") if len(pic.path) > 2 else ("", "", "")
        box = pic.module_box(int(owner[1:])) if owner[1:].isdigit() else None
        if box is not None and name in box.keys[: len(box.lines)]:
            box.row_marks[box.keys.index(name)] = color
    for leg, (a, b) in zip(legs, ((0.0, 0.4), (0.5, 0.85))):
        arrow = pic.add(Arrow(leg, color, pic.ink, CALL_WIDTH, tip="The call path: invoke "
                              "reads the code slot and call_indirect goes through that table "
                              "slot to the function it holds."), 6)
        pic.arrows.setdefault("call", []).append(arrow)
        if not again:
            pic.tween(arrow.set_progress, a, b)
    if step.result is not None:
        d = step.detail
        text = f"{d.get('function', 'f')}({', '.join(map(str, d.get('args', ())))}) = " \
               f"{step.result}"
        pill = pic.add(Note(QRectF(invoke.left() + 80, invoke.top() + 6, 160, 24), text,
                            pic.ink, fill=colors.CALL, pt=11, bold=True, radius=12,
                            tip="The result the call returned to the host."), 8)
        pic.tween(pill.setOpacity, 0.2 if again else 0.85, 1.0)


def _draw_callback(pic: Picture, step: Step, caller: str, number: int | None) -> None:
    """JIT code in mK → slot N (an interpreter entry) → main's interpreter."""
    slot = pic.slots.get(number) if number is not None else None
    interp = pic.boxes.get("interpreter")
    if slot is None or interp is None:
        return
    d, color, r = step.detail, colors.CALL, slot.rect()
    start = pic.anchor(caller)
    if start is None:   # callers unknown: from the newest module's title
        newest = pic.modules[-1].rect() if pic.modules else QRectF(COLUMN)
        start = QPointF(newest.left(), newest.top() + 20)
    x, y = lane(CALLBACK_LANE), TABLE.bottom() + 12
    who = caller if caller != "JIT code" else "JIT code"
    tip = (f"Callback: {who} called {d.get('function', 'a function')}, which is not compiled, "
           f"through table slot {number} ({d.get('entry', 'an interpreter entry')}); the "
           f"main module's interpreter runs it.")
    into = pic.add(Arrow(routed([start, QPointF(x, start.y()), QPointF(x, y),
                                 QPointF(r.center().x(), y),
                                 QPointF(r.center().x(), r.bottom())]), color, pic.ink,
                         CALL_WIDTH, tip=tip), 6)
    ir = interp.rect()
    top = QPointF(r.center().x(), r.top() - 22)   # above the slot's index
    up = pic.add(Arrow(routed([top, QPointF(top.x(), ir.bottom())]) if ir.left() <= top.x()
                       <= ir.right() else routed([top, QPointF(top.x(), ir.bottom() + 8),
                                                  QPointF(ir.center().x(), ir.bottom() + 8),
                                                  QPointF(ir.center().x(), ir.bottom())]),
                       color, pic.ink, CALL_WIDTH, tip=tip), 0.5)  # under the table's title
    pic.arrows.setdefault("callback", []).extend([into, up])
    # The call itself, by the arrow, so a still frame says what went back.
    args = ", ".join(map(str, d.get("args", ())))
    text = f"{d.get('function', '?')}({args}) → interpreter"
    w, h = label_width(text), 26.0
    mid = QPointF(x, (start.y() + y) / 2)
    rect = place(pic, w, h, mid, [QRectF(x + 8, mid.y() - h / 2 + dy, w, h)
                                  for dy in (0, -30, 30, -60, 60)])
    label = pic.add(Note(rect, text, pic.ink, fill=pic.ink.bg, border=color, pt=LABEL_PT,
                         bold=True, radius=h / 2, tip=tip), 7)
    pic.tween(label.setOpacity, 0.4, 0.7)
    slot.ring = color
    interp.row_marks[0] = color
    owner, _, name = caller.partition(".")
    box = pic.module_box(int(owner[1:])) if owner[1:].isdigit() else None
    if box is not None and name in box.keys[: len(box.lines)]:
        box.row_marks[box.keys.index(name)] = color
    pic.tween(into.set_progress, 0.0, 0.5)
    pic.tween(lambda t: slot.set_glow(math.sin(math.pi * t)), 0.45, 0.7)
    pic.tween(up.set_progress, 0.6, 0.9)


def _trap_reason(step: Step) -> str:
    """The callout's words: the types for a bad signature, else the caption's reason."""
    d, code = step.detail, step.trap.code if step.trap else ""
    if "expected_type" in d:
        return (f"call_indirect expected {d['expected_type']}, but slot {d['mismatch_slot']} "
                f"holds {d['mismatch_holds']} of type {d['actual_type']}.")
    if step.phase == "patch":   # "Module 1's patch trapped: <why>. The main module ..."
        return step.caption.split(" trapped: ", 1)[-1]
    return step.caption.split(f"{code}: ", 1)[-1].split(" wasmtime said", 1)[0]


def draw_trap(pic: Picture, step: Step) -> None:
    """Mark where the trap happened (the slot or ghost slot, patch, or the interpreter) with a
    callout put where it covers no other label, and a leader to the place."""
    if step.trap is None:
        return
    code, d = step.trap.code, step.detail
    reason = _trap_reason(step)
    slot = d.get("slot") if step.phase == "call" and d.get("via") == "jit" else None
    box = pic.module_box(d.get("module", -1)) if step.phase == "patch" else None
    wide = MAIN.width() - 24
    if slot in pic.slots:
        anchor, where = pic.slots[slot].rect(), f"slot {slot}"
        if code not in AT_CALL_INDIRECT and len(pic.path) > 2 and "." in pic.path[2]:
            where = pic.path[2]   # it got through the slot and trapped in the function
        pic.slots[slot].ring = colors.TRAP
        widths = (wide, 560.0, 420.0, COLUMN.width())
    elif box is not None:
        # The link function that trapped: patch, or pic's __wasm_apply_data_relocs.
        state = pic.history.get(box.number or 0)
        name = LINK_FUNCTIONS.get(state.link if state else "", "patch")
        anchor, where, box.failed = box.rect(), f"m{box.number}.{name}", True
        widths = (COLUMN.width(), 420.0)
    else:
        # The interpreter's row is already red; the words go where there is room.
        anchor, where = pic.boxes["interpreter"].rect(), "the interpreter"
        widths = (wide, 560.0, 420.0)
    # First choice: the room under the memory strip, inside the main module (the trap is
    # main's call); then anywhere free, nearest the place it marks; covering no arrow if that
    # can be helped, and never a label.
    under = QRectF(MAIN.left(), MEMORY.bottom(), MAIN.width(), MAIN.bottom() - MEMORY.bottom())
    zones = [under, None] if box is None else [None]
    marker: TrapMarker | None = None
    for zone, avoid in [(z, True) for z in zones] + [(z, False) for z in zones]:
        best: tuple[float, QRectF, float] | None = None
        for rank, width in enumerate(widths):
            height = TrapMarker(QRectF(0, 0, width, 60), code, reason, pic.ink,
                                where=where).rect().height()
            found = free_spot(pic, width, height, anchor.center(), within=zone, arrows=avoid,
                              step=6.0 if zone is not None else 10.0)
            if found is not None and (best is None or found[1] + 60 * rank < best[0]):
                best = (found[1] + 60 * rank, found[0], width)
        if best is not None:
            marker = TrapMarker(QRectF(best[1]), code, reason, pic.ink, slot=slot, where=where)
            break
    if marker is None:   # nowhere free: below the place, as before
        marker = TrapMarker(QRectF(anchor.left(), anchor.bottom() + 8, widths[0], 60), code,
                            reason, pic.ink, slot=slot, where=where)
    pic.trap = pic.add(marker, 9)
    a, b = leader_points(marker.rect(), anchor)
    if (a - b).manhattanLength() > 4:
        # Behind the memory regions and labels it may cross, so they stay legible.
        leader = pic.add(Arrow(routed([a, b]), colors.TRAP, pic.ink, 2.0, dashed=True), 0.5)
        pic.tween(leader.set_progress, 0.6, 0.8)
    pic.tween(pic.trap.setOpacity, 0.7, 1.0)

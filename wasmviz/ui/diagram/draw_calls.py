"""What flows between modules: imports of main's table and memory, the host's call to patch,
the call path through a table slot, and where a trap stopped the run."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QPainterPath

from ...engine.trace import Step
from .. import colors
from .draw_table import slot_number
from .items import Arrow, Box, Note, TrapMarker
from .picture import CHANNEL_X, COLUMN, HOST, MAIN, MEMORY, NOTES_Y, TABLE, Picture, routed

#: Traps raised by call_indirect's own checks: they happen at the slot, not in the callee.
AT_CALL_INDIRECT = ("INDIRECT_CALL_TO_NULL", "BAD_SIGNATURE", "TABLE_OUT_OF_BOUNDS")


def draw_imports(pic: Picture, step: Step) -> None:
    """Each linked module's imports of main's table and memory; the host's call to patch."""
    ink = pic.ink
    linking = step.detail.get("module") if step.phase == "link" else None
    called = {e.target.split(".")[0] for e in step.edges if e.kind == "call"}
    targets = {"main.table": QPointF(TABLE.right() + 8, TABLE.center().y()),
               "main.memory": QPointF(MEMORY.right() + 8, MEMORY.center().y())}
    newest = max((b.number or 0 for b in pic.modules), default=0)
    for e in step.edges:
        box = pic.module_box(int(e.source[1:])) if e.source[1:].isdigit() else None
        if e.kind == "import" and e.target in targets and box is not None:
            k = (box.number or 0) % 5
            start = QPointF(box.rect().left(), box.rect().top() + 14 + 3 * k)
            end = targets[e.target] + QPointF(0, 5 * (k % 3) - 5)
            lane = CHANNEL_X - 14 + 5 * k
            # Only the module in focus gets a bold arrow, so many modules stay readable.
            focus = box.number in (linking, newest) or f"m{box.number}" in called
            color = colors.module_color(box.number)
            color.setAlphaF(1.0 if focus else 0.45)
            arrow = pic.add(Arrow(routed([start, QPointF(lane, start.y()),
                                          QPointF(lane, end.y()), end]),
                                  color, ink, 2.0 if focus else 1.3,
                                  tip=f"{e.source} imports {e.target}: the new module "
                                      f"uses the main module's own "
                                      f"{e.target.split('.')[1]}, not a copy."), 4)
            pic.imports.append((e.source, e.target))
            pic.arrows.setdefault("import", []).append(arrow)
            if linking == box.number:
                pic.tween(arrow.set_progress, 0.0, 0.7)
        elif e.kind == "call" and e.source == "host" and (end := pic.anchor(e.target)):
            start = QPointF(HOST.right(), HOST.center().y())
            arrow = pic.add(Arrow(routed([
                start, QPointF(CHANNEL_X + 14, start.y()), QPointF(CHANNEL_X + 14, end.y()),
                end]), colors.HOST, ink, 2.5, dashed=True, tip="The host calls the new "
                "module's patch once, right after instantiating it."), 4)
            pic.tween(arrow.set_progress, 0.4, 1.0)


def draw_call(pic: Picture, step: Step) -> None:
    """The call path: invoke → slot N → the function in it (or the interpreter) → result."""
    calls = {e.source: e.target for e in step.edges if e.kind == "call" and e.source != "host"}
    node = "main"
    while node in calls and len(pic.path) < 4:
        pic.path.append(node)
        node = calls[node]
    pic.path += [node] if pic.path else []
    if len(pic.path) < 2:
        return
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
        if end is not None:
            y = TABLE.bottom() + 12
            legs.append(routed([QPointF(r.center().x(), r.bottom()),
                                QPointF(r.center().x(), y), QPointF(CHANNEL_X + 24, y),
                                QPointF(CHANNEL_X + 24, end.y()), end]))
            owner, _, name = pic.path[2].partition(".")
            box = pic.module_box(int(owner[1:])) if owner[1:].isdigit() else None
            if box is not None and name in box.keys[: len(box.lines)]:
                box.row_marks[box.keys.index(name)] = color
    for leg, (a, b) in zip(legs, ((0.0, 0.4), (0.5, 0.85))):
        arrow = pic.add(Arrow(leg, color, pic.ink, 3.5, tip="The call path: invoke reads "
                              "the code slot and call_indirect goes through that table "
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


def draw_trap(pic: Picture, step: Step) -> None:
    """Mark where the trap happened: the slot (or ghost slot), patch, or the interpreter."""
    if step.trap is None:
        return
    code, d = step.trap.code, step.detail
    reason = step.caption.split(f"{code}: ", 1)[-1].split(" wasmtime said", 1)[0]
    slot = d.get("slot") if step.phase == "call" and d.get("via") == "jit" else None
    box = pic.module_box(d.get("module", -1)) if step.phase == "patch" else None
    if slot in pic.slots:
        # Below the memory strip, where there is room, with a leader up to the slot.
        anchor, where = pic.slots[slot].rect(), f"slot {slot}"
        if code not in AT_CALL_INDIRECT and len(pic.path) > 2 and "." in pic.path[2]:
            where = pic.path[2]   # it got through the slot and trapped in the function
        rect = QRectF(min(max(anchor.center().x() - 210, 40.0), MAIN.right() - 440),
                      NOTES_Y - 8, 420, 60)
        pic.slots[slot].ring = colors.TRAP
    elif box is not None:
        anchor, where, box.failed = box.rect(), f"m{box.number}.patch", True
        rect = QRectF(COLUMN.left(), anchor.bottom() + 8, COLUMN.width(), 60)
    else:
        # The interpreter's row is already red; the words go where there is room.
        anchor, where = pic.boxes["interpreter"].rect(), "the interpreter"
        rect = QRectF(MEMORY.left(), NOTES_Y - 8, 420, 60)
    pic.trap = pic.add(TrapMarker(rect, code, reason, pic.ink, slot=slot, where=where), 9)
    r = pic.trap.rect()
    if box is None and r.bottom() > MAIN.bottom() - 6:   # long reasons: stay inside main
        pic.trap.setRect(r.translated(0, MAIN.bottom() - 6 - r.bottom()))
        rect = pic.trap.rect()
    if slot in pic.slots:   # behind the memory regions, so their labels stay legible
        leader = pic.add(Arrow(routed([QPointF(anchor.center().x(), rect.top()),
                                       QPointF(anchor.center().x(), anchor.bottom())]),
                               colors.TRAP, pic.ink, 2.0, dashed=True), 0.5)
        pic.tween(leader.set_progress, 0.6, 0.8)
    pic.tween(pic.trap.setOpacity, 0.7, 1.0)

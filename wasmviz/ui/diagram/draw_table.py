"""The funcref table strip: its slots (a window of them when there are many), slots growing,
and the arrow from each installed function to the slot it now fills: one table.set (patch), one
table.init (a start function) or an active segment placed by instantiation (pic)."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF

from ...engine.trace import Step
from .. import colors
from .items import Arrow, Note
from .picture import CHANNEL_X, TABLE, Picture, routed
from .strips import SlotItem

MAX_SLOTS = 12                         # more than this and the table shows a window
MAX_INSTALL_ARROWS = 4                 # a big batch fills many slots: arrows to the first few

#: How a generated function got into its slot, by its module's link style.
HOW_PLACED = {"patch": "by its patch, with table.set",
              "start": "by its start function, with table.init from a passive segment",
              "pic": "by instantiation itself: its active element segment at __table_base"}


def slot_number(node: str) -> int | None:
    """``'slot 6'`` -> 6 (call edges name table slots this way)."""
    word = node.split()
    return int(word[1]) if len(word) == 2 and word[0] == "slot" and word[1].isdigit() else None


def visible_slots(step: Step, focus: list[int]) -> list[int | None]:
    """Slot indices to draw, None for a "…" gap: all of them, or when there are many the
    first six (null and the interpreter entries), the slots this step is about, the last."""
    n = len(step.table)
    beyond = [f for f in focus if f >= n][:1]   # a call past the end: drawn as a ghost
    if n <= MAX_SLOTS:
        return list(range(n)) + beyond
    keep, around = set(range(6)) | {n - 1}, [f for f in focus if f < n] or [n - 1]
    for radius in range(n):
        if len(keep) >= MAX_SLOTS - 1:
            break
        for i in (j for f in around for j in (f - radius, f + radius)):
            if len(keep) < MAX_SLOTS - 1 and 0 <= i < n:
                keep.add(i)
    out: list[int | None] = []
    for i in sorted(keep):
        out += [None, i] if out and i != out[-1] + 1 else [i]  # type: ignore[operator]
    return out + beyond


def filled_slots(pic: Picture, step: Step) -> list[int]:
    """The slots this step put a function into, as the step says and the table confirms (a
    slot the step names that holds the same as before was not filled by it): table.set's
    slot, table.init's range, or the slots an active segment was placed at (``placed``)."""
    d = step.detail
    if step.kind == "table.set":
        named = [d.get("slot")]
    elif step.kind == "table.init":
        named = list(range(d.get("base", 0), d.get("base", 0) + d.get("count", 0)))
    elif step.kind == "linked" and "placed" in d:
        named = [p.get("slot") for p in d.get("placed", ())]
    elif step.kind in ("linked", "effect"):
        # A module of your own may change the table while it is instantiated (a start
        # function, a segment) and send no note: the table before and after says which.
        named = [i for i, s in enumerate(step.table) if s.kind != "null"]
    else:
        return []
    prev = pic.trace[pic.index - 1].table if pic.index > 0 else ()
    return [i for i in named if isinstance(i, int) and 0 <= i < len(step.table)
            and (i >= len(prev) or prev[i] != step.table[i])]


def draw_table(pic: Picture, step: Step) -> None:
    d, ink = step.detail, pic.ink
    focus = [s for e in step.edges if e.kind == "call" and (s := slot_number(e.source))
             is not None]
    focus += [d["slot"]] if isinstance(d.get("slot"), int) and d["slot"] > 0 else []
    grown = range(d["base"], d["base"] + d["delta"]) if step.kind == "table.grow" else ()
    pic.filled = filled_slots(pic, step)
    order = visible_slots(step, focus + list(grown) + pic.filled)
    arrows = 0
    # pic: slots main reserved for a module, still null until its instantiation fills them.
    reserved = {i: n for n, m in pic.history.items() if m.reserved
                for i in range(m.reserved[0], m.reserved[0] + m.reserved[1])}
    gaps = order.count(None)
    pitch = min(84.0, (TABLE.width() - gaps * 34) / max(1, len(order) - gaps))
    x = TABLE.left()
    for i in order:
        if i is None:
            pic.add(Note(QRectF(x, TABLE.top(), 30, TABLE.height()), "…", ink, pt=14,
                         bold=True, tip="Slots left out so the ones that matter now stay "
                                        "legible; the title gives the table's size."), 2)
            x += 34
            continue
        slot = step.table[i] if i < len(step.table) else None
        owner = pic.history.get(slot.module) if slot and slot.kind == "generated" and \
            slot.module is not None else None
        item = SlotItem(QRectF(x + 2, TABLE.top(), pitch - 4, TABLE.height()), i, slot, ink,
                        HOW_PLACED.get(owner.link if owner else "", ""),
                        reserved.get(i) if slot is not None and slot.kind == "null" else None)
        pic.slots[i] = pic.add(item, 2)
        x += pitch
        if i in grown:   # the table visibly gains its new slots
            item.ring = colors.CHANGE
            item.setTransformOriginPoint(item.rect().left(), item.rect().center().y())
            pic.tween(lambda t, it=item: (it.setOpacity(t), it.setScale(0.2 + 0.8 * t)))
        if i in pic.filled and slot is not None:
            item.ring = colors.CHANGE   # orange, like memory: changed by this step
            pic.tween(lambda t, it=item: it.set_glow(math.sin(math.pi * t)), 0.5, 1.0)
            if arrows < MAX_INSTALL_ARROWS:
                arrows += 1
                kind = "linked-own" if step.kind == "linked" and "placed" not in d \
                    else step.kind
                draw_install(pic, item, INSTALL_TIPS.get(kind, INSTALL_TIPS["table.set"]))


INSTALL_TIPS = {
    "table.set": "patch ran table.set: slot {i} now holds this function, so call_indirect can "
                 "reach it.",
    "table.init": "The start function's table.init copied this function from the passive "
                  "element segment into slot {i}.",
    "linked": "Instantiation placed the active element segment at __table_base: slot {i} now "
              "holds this function, before any code of the module ran.",
    "effect": "Your module put this function into slot {i}: the host read the table before "
              "and after and found it changed.",
    "linked-own": "Your module put this function into slot {i} while it was instantiated: "
                  "the table read before and after says so.",
}


def draw_install(pic: Picture, item: SlotItem, tip: str = INSTALL_TIPS["table.set"]) -> None:
    """An arrow from the function's row in its module to the slot it now fills."""
    start = pic.anchor(item.label_text())
    if start is None:
        return
    r, y = item.rect(), TABLE.bottom() + 12
    arrow = pic.add(Arrow(routed([start, QPointF(CHANNEL_X + 24, start.y()),
                                  QPointF(CHANNEL_X + 24, y),
                                  QPointF(r.center().x(), y),
                                  QPointF(r.center().x(), r.bottom())]),
                          colors.module_color(item.slot.module if item.slot else None),
                          pic.ink, 3.0, tip=tip.format(i=item.index)), 6)
    pic.tween(arrow.set_progress, 0.0, 0.6)

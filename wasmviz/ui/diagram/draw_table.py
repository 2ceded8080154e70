"""The funcref table strip: its slots (a window of them when there are many), slots growing,
and table.set's arrow from the installed function to its slot."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF

from ...engine.trace import Step
from .. import colors
from .items import Arrow, Note
from .picture import CHANNEL_X, TABLE, Picture, routed
from .strips import SlotItem

MAX_SLOTS = 12                         # more than this and the table shows a window


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


def draw_table(pic: Picture, step: Step) -> None:
    d, ink = step.detail, pic.ink
    focus = [s for e in step.edges if e.kind == "call" and (s := slot_number(e.source))
             is not None]
    focus += [d["slot"]] if isinstance(d.get("slot"), int) and d["slot"] > 0 else []
    grown = range(d["base"], d["base"] + d["delta"]) if step.kind == "table.grow" else ()
    order = visible_slots(step, focus + list(grown))
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
        item = SlotItem(QRectF(x + 2, TABLE.top(), pitch - 4, TABLE.height()), i, slot, ink)
        pic.slots[i] = pic.add(item, 2)
        x += pitch
        if i in grown:   # the table visibly gains its new slots
            item.setTransformOriginPoint(item.rect().left(), item.rect().center().y())
            pic.tween(lambda t, it=item: (it.setOpacity(t), it.setScale(0.2 + 0.8 * t)))
        if step.kind == "table.set" and i == d.get("slot") and slot is not None:
            item.ring = colors.CHANGE   # orange, like memory: changed by this step
            pic.tween(lambda t, it=item: it.set_glow(math.sin(math.pi * t)), 0.5, 1.0)
            draw_install(pic, item)


def draw_install(pic: Picture, item: SlotItem) -> None:
    """table.set: an arrow from the function's row in its module to the slot it now fills."""
    start = pic.anchor(item.label_text())
    if start is None:
        return
    r, y = item.rect(), TABLE.bottom() + 12
    arrow = pic.add(Arrow(routed([start, QPointF(CHANNEL_X + 24, start.y()),
                                  QPointF(CHANNEL_X + 24, y),
                                  QPointF(r.center().x(), y),
                                  QPointF(r.center().x(), r.bottom())]),
                          colors.module_color(item.slot.module if item.slot else None),
                          pic.ink, 3.0, tip=f"patch ran table.set: slot {item.index} "
                          "now holds this function, so call_indirect can reach it."), 6)
    pic.tween(arrow.set_progress, 0.0, 0.6)

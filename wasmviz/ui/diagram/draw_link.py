"""Who did this step's work on the table, said in words by the table.

The three link styles differ in who grows the table and who fills its slots: the module's
exported patch (after instantiation), its start function (inside instantiation), or main
itself, reserving room before it asks the host, with instantiation placing an active segment.
The picture alone shows *that* slots appeared; this label says who made them appear, read from
the step (its kind, phase and ``by``) and the modules the trace has recorded so far.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF

from ...engine.trace import Step
from .. import colors
from .draw_compile import GAP, LABEL_PT, first_free, label_width, place
from .items import Note
from .picture import MEMORY, NOTES_Y, TABLE, Picture

#: The table panel's title row (draw_frame draws the panel 50 above the slots).
TITLE_ROW_Y = TABLE.top() - 50 + 4
LABEL_H = 22.0


def _span(base: int, count: int) -> str:
    return f"slot {base}" if count == 1 else f"slots {base}–{base + count - 1}"


def actor_text(pic: Picture, step: Step) -> str:
    """Who changed the table in ``step`` and how, in a few words; "" if the step did not."""
    d = step.detail
    number = d.get("module") if isinstance(d.get("module"), int) else max(pic.history,
                                                                           default=None)
    m = f"m{number}" if number is not None else "the module"
    if step.kind == "table.grow" and "base" in d:
        where = _span(d["base"], d.get("delta", 1))
        if d.get("by") == "main":
            ask = (d.get("dylink") or {}).get("tablesize")
            return f"main's table.grow reserved {where} for {m}" + \
                (f" (its dylink.0 asks for {ask})" if ask is not None else "")
        who = f"{m}'s start function" if step.phase == "link" else f"{m}'s patch"
        return f"{who}: table.grow added {where}"
    if step.kind == "table.init" and "base" in d:
        return f"{m}'s start function: one table.init filled {_span(d['base'], d['count'])}"
    if step.kind == "table.set" and "slot" in d and d.get("by") == "main":
        # Main frees the slot of a function that was redefined (or that called one directly).
        held = f" (it held {d['held']})" if d.get("held") else ""
        why = {"redefined": "was redefined", "calls-redefined": "calls a redefined function"}
        reason = f": {d.get('function', '?')} {why[d['why']]}" if d.get("why") in why else ""
        return f"main's table.set freed slot {d['slot']}{held}{reason}"
    if step.kind == "table.set" and "slot" in d:
        return f"{m}'s patch: table.set filled slot {d['slot']}"
    if step.kind == "reuse" and "slot" in d:
        return f"main reuses free slot {d['slot']} for {d.get('function', '?')}"
    if step.kind == "linked" and "table_base" in d:
        return f"instantiation placed {m}'s segment at __table_base = {d['table_base']}"
    if step.kind == "no-room":
        return f"main's table.grow returned -1: no room for {m}"
    return ""


def draw_actor(pic: Picture, step: Step) -> None:
    """The actor label: in the table panel's title row, beside the title, else under memory."""
    text = actor_text(pic, step)
    pic.actor = text
    if not text:
        return
    by_main = step.detail.get("by") == "main" or step.kind == "no-room"
    number = max(pic.history, default=None)
    color = colors.MAIN if by_main else colors.module_color(number)
    w, h = label_width(text, LABEL_PT, False, pad=24), LABEL_H
    anchor = QPointF(TABLE.center().x(), TITLE_ROW_Y + h / 2)
    # The slots' bounding boxes reach up over their index numbers into the title row's
    # margin; the row itself is free, so the slots are not obstacles for this first try.
    xs = [TABLE.right() - w - 8 - dx for dx in range(0, int(TABLE.width()), 24)]
    rect = first_free(pic, [QRectF(x, TITLE_ROW_Y, w, h) for x in xs if x >= TABLE.left()],
                      arrows=True, ignore=pic.slots.values())
    if rect is None:
        below = [QRectF(MEMORY.left() + dx, NOTES_Y + dy, w, h)
                 for dy in (GAP, 26 + GAP) for dx in (0, 200, 400)]
        rect = place(pic, w, h, anchor, below)
    tip = ("Who changed the table in this step, and with what: " + text + ". The link styles "
           "differ exactly here (docs/abi.md, Link styles).")
    label = pic.add(Note(rect, text, pic.ink, fill=pic.ink.bg, border=color, pt=LABEL_PT,
                         radius=h / 2, tip=tip), 7)
    pic.tween(label.setOpacity, 0.3, 0.7)

"""The linear-memory strip: its regions, the bytes this step changed, the JIT buffer filling
with a module's sections, and the relocation callout."""

from __future__ import annotations

import math
from typing import NamedTuple

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFontMetricsF, QPainterPath

from ...engine.trace import MemoryChange, Step
from .. import colors
from .history import JitFill
from .items import Arrow, Note
from .paint import LEFT_TOP, font, mix, text_height
from .picture import MEMORY, NOTES_Y, Picture
from .strips import REGION_TITLE_PT, RegionItem


class Band(NamedTuple):
    """How the strip shows a region: its share of the width, how many bytes from its start the
    band spans, and a shorter title where the region's name would not fit."""

    weight: float
    span: int
    title: str = ""


#: Display only, keyed by region key: where each region is and what it holds come from the
#: trace's layout (engine/layout.py).
BANDS = {"state": Band(0.9, 0x30), "args": Band(0.85, 0x10), "queue": Band(1.0, 0x40),
         "free": Band(0.7, 0x40), "module_of": Band(0.7, 0x40),
         "functions": Band(1.6, 0x200), "heap": Band(0.8, 0x200),
         "stack": Band(1.25, 0x200, "interp. stack"), "jit": Band(1.6, 0x200)}
_UNKNOWN = Band(1.0, 0x200)   # a region a later main module might add
#: Shorter titles for when the regions' full titles do not fit side by side (the main module
#: has more regions than the strip has room for at full length); each box's tooltip keeps
#: the full name, and addresses then drop their leading zeros.
COMPACT = {"state": "VM state", "queue": "queue", "free": "free", "module_of": "owner",
           "functions": "objects", "stack": "stack"}


def _address(start: int, compact: bool = False) -> str:
    return f"0x{start:x}" if compact else f"0x{start:05x}"


def _label_width(title: str, start: int, compact: bool = False) -> float:
    """The width a region box needs to show its title and its address in full."""
    return max(QFontMetricsF(font(REGION_TITLE_PT, True)).horizontalAdvance(title),
               QFontMetricsF(font(REGION_TITLE_PT)).horizontalAdvance(
                   _address(start, compact))) + 20


def _i32(data: bytes) -> int:
    return int.from_bytes(data[:4], "little", signed=True)


def _change_text(c: MemoryChange) -> str:
    """One memory change in a few words: a 4-byte field as old → new, else its size.

    Only a named field (``f.code_slot``, ``state.heap_ptr``) is a number; four bytes of a
    module being written are bytes, shown as such (``\0asm`` is not the number 0x16d7361).
    """
    if len(c.new) != 4 or c.label is None or c.label.startswith("module "):
        what = c.label or "bytes"
        return f"{what}: {c.new.hex(' ')}" if len(c.new) <= 8 else f"{what} ({len(c.new)} B)"
    old, new = _i32(c.old), _i32(c.new)
    fmt = (lambda v: f"0x{v:05x}") if max(abs(old), abs(new)) >= 0x1000 else str
    return f"{c.label} {fmt(old)} → {fmt(new)}"


def draw_memory(pic: Picture, step: Step, jit: JitFill | None) -> None:
    layout = pic.trace.layout
    regions = layout.regions()
    bands = [BANDS.get(r.key, _UNKNOWN) for r in regions]
    ink, total, x = pic.ink, sum(b.weight for b in bands), MEMORY.left()
    # Every region first gets the room its title and address need (labels are never elided
    # when they can fit); what is left is shared by weight.
    titles = [band.title or region.name for region, band in zip(regions, bands)]
    needs = [_label_width(t, region.start) for region, t in zip(regions, titles)]
    compact = sum(needs) > MEMORY.width()
    if compact:
        titles = [COMPACT.get(region.key, t) for region, t in zip(regions, titles)]
        needs = [_label_width(t, region.start, True) for region, t in zip(regions, titles)]
    spare = MEMORY.width() - sum(needs)
    if spare < 0:
        needs, spare = [0.0] * len(needs), MEMORY.width()
    for region, band, need, title in zip(regions, bands, needs, titles):
        width = need + spare * band.weight / total
        span = max(0x200, -(-(jit.end - jit.start) // 0x80) * 0x80) \
            if region.key == "jit" and jit is not None else band.span
        pic.regions[region.key] = pic.add(RegionItem(
            QRectF(x + 2, MEMORY.top(), width - 4, MEMORY.height()), region, ink, span,
            title, _address(region.start, compact)), 2)
        x += width
    if jit is not None:
        _draw_jit(pic, step, jit)
    for c in step.memory_changes:
        pic.highlights.append((c.address, c.address + len(c.new)))
        region = layout.region_at(c.address)
        if region is None or region.key == "jit":   # JIT bytes: the section segments
            continue
        cell = Note(pic.regions[region.key].cell_rect(c.address, len(c.new)), "", ink,
                    fill=colors.CHANGE, border=mix(colors.CHANGE, ink.text, 0.4), radius=2,
                    tip=f"{c.label or 'bytes'} at 0x{c.address:05x} ({len(c.new)} B) "
                        f"changed this step: {c.old[:8].hex(' ')} → {c.new[:8].hex(' ')}")
        pic.add(cell, 3)
        pic.tween(cell.setOpacity, 0.0, 0.5)
        if step.kind == "relocation" and c.address == step.detail.get("address"):
            _draw_relocation(pic, step, c, cell)
    if step.memory_changes and pic.callout is None and step.trap is None:
        parts = [_change_text(c) for c in step.memory_changes[:6]]
        more = len(step.memory_changes) - len(parts)
        text = "changed: " + "  ·  ".join(parts) + (f"  · +{more} more" * bool(more))
        # As tall as its wrapped lines (Note insets wrapped text 10 a side, 4 above/below).
        height = max(44.0, text_height(text, 10, MEMORY.width() - 20) + 10)
        pic.add(Note(QRectF(MEMORY.left(), NOTES_Y, MEMORY.width(), height), text,
                     ink, pt=10, wrap=True, align=LEFT_TOP,
                     tip="The bytes this step changed in main's memory, old → new "
                         "(4-byte fields read as little-endian i32)."), 3)


def _draw_jit(pic: Picture, step: Step, jit: JitFill) -> None:
    """The JIT buffer fills with the module's sections, in its colour, as they are written."""
    item, ink, color = pic.regions["jit"], pic.ink, colors.module_color(jit.module)
    band, pic.jit_bytes = item.band(), jit.end - jit.start
    sections = jit.sections or ([("module", jit.start, jit.end)] * (jit.end > jit.start))
    for k, (name, lo, hi) in enumerate(sections):
        rect = QRectF(item.x_of(lo), band.top(), max(2.0, item.x_of(hi) - item.x_of(lo)),
                      band.height())
        new = step.phase == "generate" and step.detail.get("start") == lo
        seg = pic.add(Note(rect, "", ink, fill=mix(color, ink.bg, 0.3 * (k % 2)), radius=0,
                           border=ink.text if new else None,
                           tip=f"m{jit.module}'s {name} section: 0x{lo:05x}–0x{hi - 1:05x}"
                               f" ({hi - lo} B), written by the template JIT."), 3)
        if new:   # the bytes flow from the JIT into the buffer
            pic.boxes["jit"].row_marks[0] = color
            pic.tween(lambda t, s=seg, r=QRectF(rect): s.setRect(
                QRectF(r.left(), r.top(), max(1.0, r.width() * t), r.height())), 0.35, 1.0)
            chip = pic.add(Note(QRectF(-32, -11, 64, 22), f"{hi - lo} B", ink, fill=color,
                                pt=10, bold=True, radius=11), 6)
            a, b = pic.boxes["jit"].rect().center(), rect.center()
            pic.tween(lambda t, c=chip, a=a, b=b: (
                c.setPos(a + (b - a) * t), c.setOpacity(float(t < 0.9))), 0.0, 0.6)
    r = item.rect()
    # Right-aligned under the buffer, free to extend left: the count must never be elided.
    pic.add(Note(QRectF(r.right() - 220, r.bottom() + 2, 220, 20),
                 f"m{jit.module} · {pic.jit_bytes} B" if pic.jit_bytes else
                 f"m{jit.module} · starting", ink=pic.ink, pt=10, bold=True,
                 align=Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                 tip="How much of the new module the JIT has written so far."), 1)


def relocator(pic: Picture, step: Step) -> str:
    """Which code ran the relocation: in the link phase the start function (inside
    instantiation); after it, the link function the newest module exports."""
    if step.phase == "link":
        return "the start function"
    newest = pic.history.get(max(pic.history, default=-1))
    return "__wasm_apply_data_relocs" if newest is not None and newest.link == "pic" \
        else "patch"


def _draw_relocation(pic: Picture, step: Step, c: MemoryChange, cell: Note) -> None:
    old, new = _i32(c.old), _i32(c.new)
    pic.callout = f"{c.label}  {old} → {new}"
    anchor = cell.rect().center()
    text = f"calls to {step.detail.get('function', 'it')} now go through table slot {new}"
    problem = step.detail.get("problem")
    if problem:   # the recorder read the slot: say what is wrong with it, not only the plan
        text += f"; but {problem}"
    # Sized to its text (heading row + wrapped lines), so nothing is cut at any font size.
    box = QRectF(max(40.0, anchor.x() - 150), NOTES_Y, 380, 0)
    box.setHeight(text_height(text, 10.5, box.width() - 20) + 36)
    note = pic.add(Note(box, text, pic.ink, fill=pic.ink.bg,
                        border=colors.CHANGE, pt=10.5, align=LEFT_TOP, wrap=True,
                        heading=pic.callout, tip=f"Relocation: {relocator(pic, step)} "
                        "stored the new table index in the function object's code slot, in "
                        "main's memory."), 7)
    line = QPainterPath(QPointF(box.center().x(), box.top()))
    line.lineTo(anchor.x(), cell.rect().bottom())
    leader = pic.add(Arrow(line, colors.CHANGE, pic.ink, 2.0), 7)
    pic.tween(lambda t: (note.setOpacity(t), leader.set_progress(t)), 0.0, 0.4)
    pic.tween(lambda t: cell.setOpacity(0.3 + 0.7 * abs(math.cos(3 * math.pi * t))))

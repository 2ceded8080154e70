"""The fixed frame of the picture (phases, host, main module, strip titles) and the column of
generated modules, each with its functions, the slots they went into and how far it got."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFontMetricsF

from ...engine.trace import PHASES, Slot, Step
from .. import colors
from .draw_compile import label_width
from ..phase_tips import phase_tip
from .history import LINK_FUNCTIONS, ModuleState, trace_link
from .items import Box, Note
from .paint import font, mix
from .picture import COLUMN, HOST, MAIN, MEMORY, SCENE, SUBS, TABLE, Picture

STATUS = {"writing": "being written…", "written": "written, not compiled yet",
          "compiled": "compiled", "linked": "linked", "patched": "linked + patched"}
#: A module whose link function is not called patch is not "patched".
STATUS_BY_LINK = {("patched", "pic"): "linked + relocated"}
#: What the host does with the bytes main hands it, by link style ("" before any module).
HOST_LINES = {
    "": "compiles + instantiates the bytes main hands it",
    "patch": "compiles + instantiates the bytes main hands it, then calls patch",
    "start": "compiles + instantiates the bytes; their start function links them",
    "pic": "instantiates at main's bases, then calls __wasm_apply_data_relocs",
}
HOST_TIPS = {
    "": "The host (Python embedding wasmtime) plays the browser's part: it compiles the "
        "bytes main hands it and instantiates them.",
    "patch": "The host (Python embedding wasmtime) plays the browser's part: it compiles "
             "the bytes main hands it, instantiates them and calls their patch.",
    "start": "The host (Python embedding wasmtime) plays the browser's part: it compiles "
             "the bytes main hands it and instantiates them. It calls nothing after: the "
             "module's start function links it in during that instantiation.",
    "pic": "The host (Python embedding wasmtime) plays a dynamic loader's part: main has "
           "already reserved the table slots; the host instantiates the bytes with the "
           "bases as imported globals env.__table_base and env.__memory_base, then calls "
           "their __wasm_apply_data_relocs.",
}
#: The link function's row on a module card: (row key, text).
LINK_ROWS = {"patch": "· patch (the host calls it once)",
             "start": "· start function (runs in instantiate)",
             "pic": "· __wasm_apply_data_relocs (host)"}


def draw_frame(pic: Picture, step: Step) -> None:
    """The phase badges, the host, the main module and its three parts, strip titles."""
    ink, x = pic.ink, 20.0
    link = trace_link(pic.trace)   # what the recorded modules are, not a setting
    for phase in PHASES:
        on = phase == step.phase
        width = QFontMetricsF(font(11, True)).horizontalAdvance(phase) + 24
        # Neutral chips (ink on background): no module or change colour means "phase".
        pic.add(Note(QRectF(x, 10, width, 28), phase, ink, pt=11, bold=on, radius=14,
                     fill=ink.text if on else None,
                     border=None if on else mix(ink.bg, ink.text, 0.3),
                     tip=phase_tip(phase, link)))
        x += width + 10
    pic.add(Note(QRectF(x, 10, SCENE.right() - 20 - x, 28),
                 f"Step {step.index + 1} of {len(pic.trace)} · {step.kind}", ink,
                 align=Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                 tip="Where you are in the recorded run, and what kind of event this is."))
    # Which engine recorded the run: its first step says so when it was not wasmtime.
    host = "host · Node.js + V8" if pic.trace.engine.get("name") == "node" \
        else "host · Python + wasmtime"
    pic.boxes["host"] = pic.add(Box(HOST, host, colors.HOST, ink,
                                    title_pt=11.5, tip=HOST_TIPS[link]))
    pic.host_line = HOST_LINES[link]
    pic.label(QRectF(HOST.left() + 260, HOST.top() + 8, 530, 30), pic.host_line, 10.5, False,
              tip=HOST_TIPS[link])
    pic.add(Box(MAIN, "main.wat: owns the table and the memory", colors.MAIN, ink,
                pill="main module",
                tip="The main module: a hand-written wasm program with a bytecode "
                    "interpreter and a template JIT. It exports its table and memory, "
                    "so new modules can import them."))
    parts = {
        "interpreter": ("interpreter", "runs bytecode (slots 1–5)",
                        "The bytecode interpreter runs functions that are not compiled; "
                        "its entries enter0–enter4 sit in table slots 1–5."),
        "invoke": ("invoke", "code slot ≠ 0 → call_indirect",
                   "invoke, the top-level call, reads the function's code slot and, if "
                   "it is not 0, calls through that table slot with call_indirect."),
        "jit": ("template JIT", "writes new modules' bytes",
                "The template JIT translates hot functions' bytecode op by op into the "
                "bytes of a new wasm module, written into the JIT buffer below."),
    }
    for key, (title, line, tip) in parts.items():
        pic.boxes[key] = pic.add(Box(SUBS[key], title, colors.MAIN, ink, lines=[line],
                                     title_pt=11, tip=tip), 1)
    table_tip = ("The funcref table: call_indirect picks a function from it by index at "
                 "run time. Slot 0 stays null; slots 1–5 are the interpreter's entries; "
                 "a slot's colour is the module owning its function.")
    memory_tip = ("Main's linear memory, which every generated module imports: cells light "
                  "up where this step changed bytes (hover one for old → new).")
    for rect, title, tip in (
            (QRectF(32, TABLE.top() - 50, 776, TABLE.height() + 58),
             f"TABLE · funcref · {len(step.table)} slots", table_tip),
            (MEMORY.adjusted(-8, -32, 8, 26),
             f"LINEAR MEMORY · {step.memory_pages} pages", memory_tip)):
        pic.add(Note(rect, "", ink, border=ink.frame(), tip=tip), 1)
        # As wide as the title: the rest of the title row is room for a step's labels.
        width = label_width(title, 11.5, True, pad=24)
        pic.label(QRectF(rect.left() + 16, rect.top() + 2, width, 24), title, tip=tip)


def draw_modules(pic: Picture, step: Step, modules: dict[int, ModuleState]) -> None:
    ink, col = pic.ink, COLUMN
    pic.label(QRectF(col.left(), col.top(), col.width(), 22), "GENERATED MODULES",
              tip="Modules the JIT wrote at run time, each compiled and linked by the "
                  "host; their colours match their table slots.")
    if not modules:
        pic.add(Note(QRectF(col.left(), col.top() + 30, col.width(), 56), "none yet: "
                     "functions run in main's interpreter until they are hot", ink,
                     pt=10.5, wrap=True, fill=ink.panel))
        return
    slots = generated_slots(step.table)
    shown = [modules[n] for n in sorted(modules)]
    # The instances the store holds at this step (recorded by the engine): a module no slot
    # refers to any more is still there, with its compiled code, until the store is dropped.
    held = {i.module: i for i in step.instances if i.linked}

    def unreferenced(m: ModuleState) -> bool:
        """Linked in full (patch has run, or the start function or the segment filled its
        slots) and yet no slot holds any of its functions now."""
        record = held.get(m.number)
        done = m.status == "patched" or m.status == "linked" and m.link in ("start", "pic")
        return done and record is not None and not record.in_table

    def rows(m: ModuleState) -> list[tuple[str, str]]:
        out = [(f, f"{f}  → slot {slots[(m.number, f)]}" if (m.number, f) in slots else f)
               for f in m.functions[:5]]
        out += [("…", f"· … {len(m.functions) - 5} more")] if len(m.functions) > 5 else []
        if m.status == "failed":
            return out + [("", "· not installed: they stay interpreted")]
        if unreferenced(m):
            return out + [("store", f"· kept: {held[m.number].code_bytes:,} B of code")]
        if m.link == "pic":   # the two imported globals, with the values the host passed
            out += [(f"env.{g}", f"· {g}" + ("" if v is None else f" = {v:#07x}"
                                            if g == "__memory_base" else f" = {v}"))
                    for g, v in (("__table_base", m.table_base),
                                 ("__memory_base", m.memory_base))]
        return out + [(LINK_FUNCTIONS[m.link], LINK_ROWS[m.link])] if m.link else out

    # Older modules fold to a title bar when the column is full; then the oldest drop off.
    heights = [40 + Box.ROW_H * len(rows(m)) for m in shown]
    room, folded = col.height() - 30, 0
    while sum(heights) + 8 * len(heights) > room and folded < len(shown) - 1:
        heights[folded], folded = 34.0, folded + 1
    while sum(heights) + 8 * len(heights) > room - 22 and len(shown) > 1:
        shown, heights, folded = shown[1:], heights[1:], max(0, folded - 1)
    y = col.top() + 30
    if len(shown) < len(modules):
        pic.label(QRectF(col.left(), y - 4, col.width(), 20),
                  f"… {len(modules) - len(shown)} earlier module(s)", 10, False)
        y += 22
    for i, (m, height) in enumerate(zip(shown, heights)):
        keys, lines = zip(*rows(m))
        failed, full = m.status == "failed", i >= folded
        title = m.problem if failed else STATUS_BY_LINK.get((m.status, m.link),
                                                            STATUS[m.status])
        if unreferenced(m):
            title = "kept, unreferenced"
        if m.link == "start" and not failed and runs_link_function(step, m):
            title = "instantiating: start runs"   # the link steps happen inside instantiate
        box = Box(QRectF(col.left(), y, col.width(), height),
                  title if full else ", ".join(m.functions) or title,
                  colors.module_color(m.number), ink, lines=lines if full else [],
                  pill=f"m{m.number}", dashed=failed or m.status == "writing",
                  failed=failed, title_pt=11,
                  tip=f"Generated module {m.number} ({title}): "
                      f"{', '.join(m.functions) or 'its functions'}"
                      + MODULE_TIPS.get(m.link, ".")
                      + (f" wasmtime said: {step.error}" if failed and step.error else "")
                      + (" No table slot refers to it any more, yet the store keeps the "
                         "instance and its compiled code until the store itself is dropped."
                         if unreferenced(m) else ""))
        box.number, box.keys = m.number, list(keys)
        running = LINK_FUNCTIONS.get(m.link)
        if full and running in box.keys and runs_link_function(step, m):
            box.row_marks[box.keys.index(running)] = colors.module_color(m.number)
        pic.add(box, 2)
        pic.modules.append(box)
        if step.kind == "begin" and m.status == "writing" or step.kind == "complete" \
                and step.module is not None and step.module.number == m.number:
            pic.tween(box.setOpacity, 0.0, 0.5)
        y += height + 8


MODULE_TIPS = {
    "patch": ", plus patch, which the host calls once. It imports main's table and memory, and "
             "the host's note.",
    "start": ", plus a start function that wasm runs inside instantiation. It imports main's "
             "table and memory, and the host's note.",
    "pic": ", plus __wasm_apply_data_relocs, which the host calls after instantiating it. It "
           "imports main's table and memory, the host's note, and the two bases main "
           "reserved (env.__table_base, env.__memory_base).",
}


def runs_link_function(step: Step, m: ModuleState) -> bool:
    """Whether ``step`` is the work of ``m``'s link function: patch's and
    __wasm_apply_data_relocs' steps come after the link (``m`` is linked), the start
    function's inside it (``m`` is compiled, not linked yet); main's own reservation is
    main's."""
    if step.kind not in ("table.grow", "table.set", "table.init", "relocation") or \
            step.detail.get("by") == "main":
        return False
    return m.status == ("compiled" if step.phase == "link" else "linked")


_last_slots: list[object] = [None, {}]


def generated_slots(table: tuple[Slot, ...]) -> dict[tuple[int | None, str | None], int]:
    """Return {(module, function): slot} for ``table``.

    Steps that leave the table alone share the same tuple, so the last answer is kept: with
    10,000 slots, walking the table on every step would cost a good part of a frame.
    """
    if _last_slots[0] is not table:
        _last_slots[:] = [table, {(s.module, s.function): s.index for s in table
                                  if s.kind == "generated"}]
    return _last_slots[1]  # type: ignore[return-value]

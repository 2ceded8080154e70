"""The generated module of the current step: its WAT, its annotated binary and its raw bytes.

Pointing at a section in the list highlights its bytes in the raw dump and its lines in the
annotated binary (whose lines start with the module offset), so the learner can match the
JIT's ``section`` steps to real bytes.

The dock is often only ~380 px wide: the list then sits above the text, the WAT and the
annotated binary wrap, and the raw dump shows as many bytes per line as fit (16, 8 or 4).
"""

from __future__ import annotations

import bisect
import re

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QColor, QResizeEvent, QTextCharFormat, QTextCursor, QTextDocument
from PySide6.QtWidgets import (QHeaderView, QLabel, QPlainTextEdit, QSplitter, QTabWidget,
                               QTextEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from ..engine.trace import ModuleInfo, Section
from . import colors
from .editor import Highlighter
from .lazy import WhenShown
from .memory_view import read_only_code
from .player import Player

ROW = 16
ROWS = (16, 8, 4)  # bytes per raw-dump line, widest first; the view uses the widest that fits
_HEX_COLUMN = 10  # "00000000  " precedes the first byte of a raw-dump line
WIDE = 700  # from this width the section list sits beside the text instead of above it
TABS = (("WAT", "WebAssembly text format (wasm-tools print)"),
        ("Annotated", "The binary annotated by wasm-tools dump: offset | bytes | meaning"),
        ("Bytes", "Hex dump of the module's bytes, with offsets"))
_DUMP_OFFSET = re.compile(r"^\s*0x([0-9a-fA-F]+) \|")
_SECTION_TIPS = {
    "header": "the magic bytes \\0asm and version 1",
    "type": "one function type per arity, plus patch's and note's",
    "import": "host.note, and the main module's table and memory",
    "function": "the type of each new function, then patch",
    "export": "patch and each function under its source name",
    "element": "declares the new functions for ref.func (exporting them does too)",
    "code": "each function body translated from bytecode, then patch",
}


# Mid-lightness hues (as editor.py uses) read on light and dark bases alike.
_WAT_RULES = (
    (re.compile(r"\((module|type|func|import|export|elem|table|memory|param|result|local)\b"),
     "#7950F2", True),
    (re.compile(r'"[^"]*"'), "#2F9E44", False),
    (re.compile(r"\b(call_indirect|call|table\.\w+|ref\.\w+|i32\.store|unreachable)\b"),
     "#E8590C", True),
    (re.compile(r";;.*$|\(;\d+;\)"), "#868E96", False),
)


def WatHighlighter(document: QTextDocument) -> Highlighter:  # noqa: N802 - reads as a class
    """Colours WAT forms, strings, the instructions of late linking, and comments."""
    return Highlighter(document, _WAT_RULES)


def hex_dump(data: bytes, row: int = ROW) -> str:
    """Return ``data`` as lines of offset, ``row`` hex bytes (gap after 8) and printable text."""
    lines = []
    for lo in range(0, len(data), row):
        chunk = data[lo:lo + row]
        cells = [f"{b:02x}" for b in chunk] + ["  "] * (row - len(chunk))
        groups = "  ".join(" ".join(cells[g:g + 8]) for g in range(0, row, 8))
        text = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
        lines.append(f"{lo:08x}  {groups}  |{text}|")
    return "\n".join(lines)


def _hex_column(k: int) -> int:
    """Character column of byte ``k`` (0..row-1) within a raw-dump line."""
    return _HEX_COLUMN + 3 * k + (1 if k >= 8 else 0)


def dump_width(row: int) -> int:
    """Characters in a raw-dump line of ``row`` bytes."""
    return _hex_column(row - 1) + 2 + 2 + row + 2


def dump_line_offsets(dump: str) -> list[int]:
    """Module offset of each line of a ``wasm-tools dump`` (continuations take the one above)."""
    out, current = [], 0
    for line in dump.splitlines():
        m = _DUMP_OFFSET.match(line)
        if m:
            current = int(m.group(1), 16)
        out.append(current)
    return out


class ModuleView(QWidget):
    """The latest generated module at or before the current step."""

    def __init__(self, player: Player, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.player = player
        self.module: ModuleInfo | None = None
        self._module_steps: list[int] = []
        self._dump_offsets: list[int] = []
        #: (start, end) module offsets highlighted now, or None.
        self.highlighted_range: tuple[int, int] | None = None

        self._row = ROW  # bytes per raw-dump line, chosen by _fit_raw from the width
        self._orientation: Qt.Orientation | None = None  # the splitter's, set by resizeEvent
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setToolTip("The generated module shown: the most recent one at or before "
                              "the current step")
        self.sections = QTreeWidget()
        self.sections.setHeaderLabels(["Section", "Bytes", "Size"])
        self.sections.setRootIsDecorated(False)
        self.sections.setMouseTracking(True)  # hovering a section previews its bytes
        self.sections.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.sections.setToolTip("Hover or select a section to highlight its bytes")
        self.sections.setAccessibleName("Sections of the module")
        self.sections.header().setAccessibleName("Section columns")
        self.wat = read_only_code("Module as WebAssembly text", wrap=True)
        self.wat.setToolTip("The module as WebAssembly text (wasm-tools print)")
        self._wat_highlighter = WatHighlighter(self.wat.document())
        self.dump = read_only_code("Annotated binary of the module", wrap=True)
        self.dump.setToolTip("Each byte range and what it encodes (wasm-tools dump); offsets are "
                             "from the start of the module")
        self.raw = read_only_code("Module bytes as a hex dump", wrap=False)
        self.raw.setPlaceholderText("No bytes yet.")
        self.raw.setToolTip("The module's bytes as the JIT wrote them into main memory; the "
                            "left column is the offset in the module")
        self.tabs = QTabWidget()
        # Short titles, no scroll arrows: all three stay visible in a narrow dock.
        self.tabs.setUsesScrollButtons(False)
        self.tabs.tabBar().setExpanding(False)
        for i, (edit, (title, tip)) in enumerate(zip((self.wat, self.dump, self.raw), TABS)):
            self.tabs.addTab(edit, title)
            self.tabs.setTabToolTip(i, tip)
        self.tabs.setAccessibleName("Module views")
        self.tabs.setToolTip("The module as text, annotated binary, or raw bytes")
        self.tabs.tabBar().setAccessibleName("Module view tabs")
        self.tabs.tabBar().setToolTip("WAT: text · Annotated: bytes explained · Bytes: hex dump")

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.sections)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.splitter, 1)

        self.sections.itemEntered.connect(self._on_section_hovered)
        self.sections.currentItemChanged.connect(self._on_section_selected)
        self.sections.viewport().installEventFilter(self)
        self.raw.viewport().installEventFilter(self)
        self._when_shown = WhenShown(self, player, self._on_step_changed)
        player.trace_changed.connect(self._on_trace_changed)
        self._on_trace_changed()

    # ------------------------------------------------------------ public
    def highlight_section(self, section: Section | None) -> None:
        """Highlight ``section``'s bytes in the raw and annotated tabs (None clears)."""
        self.highlighted_range = (section.start, section.end) if section else None
        color = colors.module_color(self.module.number if self.module else None)
        self._highlight_raw(color)
        self._highlight_dump(color)

    def select_section(self, name: str) -> None:
        """Select the section called ``name`` in the list (highlighting it)."""
        self._when_shown.flush()   # a dock behind its tabs may be steps behind
        for row in range(self.sections.topLevelItemCount()):
            item = self.sections.topLevelItem(row)
            if item.text(0) == name:
                self.sections.setCurrentItem(item)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        # The list sits beside the text only when there is room for both.
        orientation = (Qt.Orientation.Horizontal if self.width() >= WIDE
                       else Qt.Orientation.Vertical)
        if orientation == self._orientation:
            return
        self._orientation = orientation
        self.splitter.setOrientation(orientation)
        if orientation == Qt.Orientation.Horizontal:
            self.splitter.setSizes([260, max(self.width() - 260, 200)])
        else:  # eight rows: the seven sections fit without scrolling, the rest is text
            rows = self.sections.header().sizeHint().height() \
                + 8 * max(self.sections.fontMetrics().height() + 4, 18)
            self.splitter.setSizes([rows, max(self.height() - rows, 200)])

    def _fit_raw(self) -> None:
        """Dump as many bytes a line (16, 8 or 4) as fit the Bytes tab without scrolling."""
        char = self.raw.fontMetrics().horizontalAdvance("0")
        room = self.raw.viewport().width() - 2 * int(self.raw.document().documentMargin()) - 4
        row = next((r for r in ROWS if dump_width(r) * char <= room), ROWS[-1])
        if row != self._row:
            self._row = row
            if self.module is not None:
                self.raw.setPlainText(hex_dump(self.module.data, row))
                self.highlight_section(self._section_of(self.sections.currentItem()))

    @property
    def bytes_per_line(self) -> int:
        """Bytes on each line of the raw dump (16, or fewer in a narrow dock)."""
        return self._row

    # ------------------------------------------------------------ highlighting
    def _selections(self, edit: QPlainTextEdit, spans: list[tuple[int, int]],
                    color: QColor) -> None:
        fmt = QTextCharFormat()
        tint = QColor(color)
        tint.setAlpha(150)
        fmt.setBackground(tint)
        selections = []
        for start, end in spans:
            sel = QTextEdit.ExtraSelection()
            sel.cursor = QTextCursor(edit.document())
            sel.cursor.setPosition(start)
            sel.cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
            sel.format = fmt
            selections.append(sel)
        edit.setExtraSelections(selections)
        if spans:  # bring the start into view without moving the user's text cursor for good
            cursor = QTextCursor(edit.document())
            cursor.setPosition(spans[0][0])
            edit.setTextCursor(cursor)
            edit.centerCursor()

    def _highlight_raw(self, color: QColor) -> None:
        spans: list[tuple[int, int]] = []
        if self.highlighted_range and self.module:
            start, end = self.highlighted_range
            doc = self.raw.document()
            row = self._row
            for line in range(start // row, (end - 1) // row + 1):
                first, last = max(start, line * row) % row, (min(end, line * row + row) - 1) % row
                block = doc.findBlockByNumber(line).position()
                spans.append((block + _hex_column(first), block + _hex_column(last) + 2))
        self._selections(self.raw, spans, color)

    def _highlight_dump(self, color: QColor) -> None:
        spans: list[tuple[int, int]] = []
        if self.highlighted_range and self._dump_offsets:
            start, end = self.highlighted_range
            doc = self.dump.document()
            for line, offset in enumerate(self._dump_offsets):
                if start <= offset < end:
                    block = doc.findBlockByNumber(line)
                    spans.append((block.position(), block.position() + block.length() - 1))
        self._selections(self.dump, spans, color)

    # ------------------------------------------------------------ handlers
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        # Leaving the list ends the hover preview: show the selected section again.
        if watched is self.sections.viewport() and event.type() == QEvent.Type.Leave:
            self._on_section_selected(self.sections.currentItem(), None)
        elif watched is self.raw.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_raw()
        return False

    def _section_of(self, item: QTreeWidgetItem | None) -> Section | None:
        if item is None or self.module is None:
            return None
        return self.module.sections[item.data(0, Qt.ItemDataRole.UserRole)]

    def _on_section_hovered(self, item: QTreeWidgetItem, column: int) -> None:
        self.highlight_section(self._section_of(item))

    def _on_section_selected(self, current: QTreeWidgetItem | None,
                             previous: QTreeWidgetItem | None) -> None:
        self.highlight_section(self._section_of(current))

    def _on_trace_changed(self) -> None:
        self._module_steps = [s.index for s in self.player.trace if s.module is not None]
        self.module = None
        self._show(None, -1)
        if self.player.current is not None:
            self._on_step_changed(self.player.index, -1)

    def _on_step_changed(self, index: int, previous: int) -> None:
        partial = self._partial_module(index)
        if partial is not None:
            self._show(partial, index, partial=True)
            if partial.sections:  # point at what this very step wrote
                self.select_section(partial.sections[-1].name)
            return
        k = bisect.bisect_right(self._module_steps, index) - 1
        at = self._module_steps[k] if k >= 0 else -1
        module = self.player.trace[at].module if at >= 0 else None
        if module is not self.module:  # texts are big: rebuild only when the module changes
            self._show(module, at)
        elif module is not None:
            self._set_title(module, at)

    def _partial_module(self, index: int) -> ModuleInfo | None:
        """While the JIT is still writing a module, rebuild what exists of it from memory."""
        trace = self.player.trace
        if not 0 <= index < len(trace) or trace[index].phase != "generate" \
                or trace[index].module is not None:
            return None
        begin = index
        while begin > 0 and trace[begin].kind != "begin" and trace[begin - 1].phase == "generate":
            begin -= 1
        address = int(trace[begin].detail.get("address", trace.layout.jit_buf))
        sections = []
        for step in trace.steps[begin:index + 1]:
            d = step.detail
            if "start" in d and "end" in d:
                name = str(d.get("section", "header"))
                sections.append(Section(int(d.get("id", 0)), name, int(d["start"]) - address,
                                        int(d["end"]) - address))
        end = max((sec.end for sec in sections), default=0)
        memory = self.player.memory_at(index)
        # The modules generated so far, from the step's state record (the engine decoded it).
        vm = trace[index].vm
        done = vm.modules if vm is not None else 0
        return ModuleInfo(done + 1, address, memory[address:address + end], tuple(sections),
                          tuple(trace[begin].detail.get("functions", ())))

    def _set_title(self, module: ModuleInfo, at: int, partial: bool = False) -> None:
        functions = ", ".join(module.functions) or "—"
        if partial:
            self.title.setText(f"<b>Module {module.number}, being written</b> · "
                               f"{len(module.data)} bytes so far at 0x{module.address:05X} in "
                               f"main memory · functions: {functions}")
            return
        # 1-based, as the transport counts ("Step N of M").
        when = "this step" if at == self.player.index else f"step {at + 1}"
        self.title.setText(f"<b>Module {module.number}</b> · {len(module.data)} bytes at "
                           f"0x{module.address:05X} in main memory · functions: "
                           f"{functions} · from {when}")

    def _show(self, module: ModuleInfo | None, at: int, partial: bool = False) -> None:
        self.module = module
        self.highlighted_range = None
        self.sections.blockSignals(True)
        self.sections.clear()
        self.sections.blockSignals(False)
        if module is None:
            self.title.setText("No module generated yet: the JIT writes one when a function "
                               "gets hot (or is JIT-compiled at once).")
            for edit in (self.wat, self.dump, self.raw):
                edit.setPlainText("")
            self._dump_offsets = []
            return
        self._set_title(module, at, partial)
        color = colors.module_color(module.number)
        for i, s in enumerate(module.sections):
            item = QTreeWidgetItem([s.name, f"0x{s.start:x}..0x{s.end:x}", f"{s.end - s.start}"])
            item.setData(0, Qt.ItemDataRole.UserRole, i)
            item.setData(0, Qt.ItemDataRole.DecorationRole, color)
            item.setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            tip = (f"{s.name} section (id {s.id}): module bytes 0x{s.start:x}..0x{s.end - 1:x}, "
                   f"{s.end - s.start} B, at 0x{module.address + s.start:05X} in main memory\n"
                   f"{_SECTION_TIPS.get(s.name, '')}")
            for col in range(3):
                item.setToolTip(col, tip.strip())
            self.sections.addTopLevelItem(item)
        missing = ("The JIT is still writing this module; wasm-tools disassembles it once it is "
                   "complete. The bytes so far are in the Bytes tab." if partial
                   else "disassembly not recorded")
        self.wat.setPlainText(module.wat or missing)
        self.dump.setPlainText(module.dump or missing)
        self._dump_offsets = dump_line_offsets(module.dump) if module.dump else []
        self.raw.setPlainText(hex_dump(module.data, self._row))
        for edit in (self.wat, self.dump, self.raw):
            edit.setExtraSelections([])

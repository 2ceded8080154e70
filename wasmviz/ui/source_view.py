"""The functions as the main module sees them: its function objects and their bytecode.

The host's FunctionInfo is not in the trace, and need not be: everything the interpreter and the
JIT know about a function is in its 32-byte object in main memory (docs/abi.md), which the engine
decodes into each step's records (Step.functions, Step.vm). This view shows those records, so
call counts and states change on screen exactly when the main module changes them, and it
decodes no memory itself.

The count in an object is of *interpreted* calls: main's interpreter adds one on entry, and
JIT code never passes through it (a compiled function's calls, recursive ones included, run
as wasm). Nothing in the trace counts those, so the column says "Interpreted calls" and does
not pretend to be a total.
"""

from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont, QResizeEvent
from PySide6.QtWidgets import (QHeaderView, QLabel, QPlainTextEdit, QSplitter, QStyle,
                               QStyledItemDelegate, QStyleOptionViewItem, QTabWidget,
                               QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from ..engine.bytecode import HAS_IMMEDIATE, Op, disassemble
from ..engine.layout import FUNC_FIELDS
from ..engine.trace import FunctionRecord, Step, VmState
from . import colors
from .editor import Highlighter
from .lazy import WhenShown
from .memory_view import read_only_code
from .player import Player

_Index = QModelIndex | QPersistentModelIndex

_STATE_TIPS = {
    "cold": "cold: interpreted; its call count is climbing towards the threshold",
    "hot": "hot: queued for the JIT; compiled at the next flush of the queue",
    "compiled": "compiled: its code slot names a table slot holding its JIT code",
    "failed": "failed: the generated module was rejected, so it stays interpreted",
}
COLUMNS = ("Function", "Params", "Interpreted\ncalls", "State", "Code slot")
PARAMS_COLUMN, CALLS_COLUMN = 1, 2
#: Below this width the Params column hides (the count is in the row's tooltip and the title
#: under the list), so the code slot, the column late linking changes, is not cut off.
NARROW = 420
_COLUMN_TIPS = (
    "The function's name (read from main memory through its name pointer)",
    "Number of i32 parameters (function object +12)",
    "Interpreted calls so far (function object +16): counted by main's interpreter on entry; "
    "at the threshold the function becomes hot.\nCalls that run as JIT code do not pass "
    "through the interpreter, so they are not counted here.",
    "Tier-up state (function object +20)",
    "Table slot its calls go through (function object +0); 0 = not compiled, so calls go to "
    "the interpreter entry for its arity",
)


#: What the views call a function object: the engine's record of it at a step.
FunctionObject = FunctionRecord


def changed_fields(step: Step | None, before: Step | None) -> set[tuple[int, str]]:
    """(object address, field name) for every function-object field ``step`` changed, from
    its records and those of the step ``before`` it (a new object counts from zero, as memory
    does). Steps that changed no object share their records: nothing to compare then."""
    if step is None:
        return set()
    old = before.functions if before is not None else ()
    if step.functions is old:
        return set()
    previous = {f.address: f for f in old}
    out: set[tuple[int, str]] = set()
    for f in step.functions:
        p = previous.get(f.address)
        if p is f:
            continue
        out.update((f.address, name) for name in FUNC_FIELDS
                   if (p.field(name) if p is not None else 0) != f.field(name))
    return out


def disassembly_text(fn: FunctionObject, names: dict[int, str]) -> str:
    """Return ``fn``'s bytecode as offset, raw bytes and instruction, indented by IF nesting."""
    try:
        instructions = disassemble(fn.code, names)
    except ValueError as exc:
        return f"cannot decode {fn.name}'s bytecode: {exc}\n\n{fn.code.hex(' ')}"
    lines, depth = [], 0
    for ins in instructions:
        size = 5 if ins.op in HAS_IMMEDIATE else 1
        raw = fn.code[ins.offset:ins.offset + size].hex(" ")
        if ins.op in (Op.ELSE, Op.END):
            depth -= 1
        lines.append(f"{ins.offset:4d}  {raw:<14}  {'  ' * max(depth, 0)}{ins.text}")
        if ins.op in (Op.IF, Op.ELSE):
            depth += 1
    return "\n".join(lines)


def jit_calls_from_host(steps: Sequence[Step]) -> dict[str, int]:
    """Count, per function, the host's top-level calls that went straight to JIT code.

    These are the recorded ``call`` steps whose slot reached a generated function
    (``reaches == "jit"``: the slot held JIT code, as the table showed when invoke read it);
    calls made *from* JIT code (recursion, calls between compiled functions) are not recorded,
    so this is no total.
    """
    out: dict[str, int] = {}
    for step in steps:
        if step.kind == "call" and step.detail.get("reaches", step.detail.get("via")) == "jit":
            name = str(step.detail.get("function", ""))
            out[name] = out.get(name, 0) + 1
    return out


def calls_tip(fn: FunctionObject, host_jit: int) -> str:
    """What the Interpreted calls cell counts for ``fn``, and what it leaves out."""
    lines = [f"{fn.calls} interpreted call(s) of {fn.name}: main's interpreter counts each "
             f"call it runs (function object +16, at 0x{fn.address + 16:05X})."]
    if host_jit:
        lines.append(f"The host also called {fn.name} {host_jit} time(s) straight into its JIT "
                     "code, which the interpreter never sees.")
    if fn.state_name == "compiled":
        lines.append("Now compiled: its calls run as JIT code and are not counted, "
                     "including calls from JIT code to it.")
    return "\n".join(lines)


def _state_color(fn: FunctionObject, step: Step | None) -> QColor:
    if fn.state_name == "hot":
        return QColor(colors.CHANGE)
    if fn.state_name == "failed":
        return QColor(colors.TRAP)
    if fn.state_name == "compiled" and step and 0 < fn.code_slot < len(step.table):
        return colors.module_color(step.table[fn.code_slot].module)
    return QColor(colors.NULL)


class _KeepColours(QStyledItemDelegate):
    """Paints the selection only on the name, so state badges and change tints stay visible."""

    def initStyleOption(self, option: QStyleOptionViewItem,  # noqa: N802 - Qt override
                        index: _Index) -> None:
        super().initStyleOption(option, index)
        if index.column() > 0:
            option.state &= ~QStyle.StateFlag.State_Selected


class SourceView(QWidget):
    """A table of the function objects over the bytecode of the selected one."""

    def __init__(self, player: Player, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.player = player
        self._selected = ""
        self._functions: list[FunctionObject] = []
        #: What the rows were built from (records, table, changes, host calls), or None.
        self._shown: tuple[object, ...] | None = None

        self.policy = QLabel()
        self.policy.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        for col, tip in enumerate(_COLUMN_TIPS):
            self.tree.headerItem().setToolTip(col, tip)
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setItemDelegate(_KeepColours(self.tree))
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.tree.header().setStretchLastSection(True)
        self.tree.setToolTip("The main module's function objects; fields written in this step "
                             "are highlighted")
        self.tree.setAccessibleName("Function objects")
        self.tree.header().setAccessibleName("Function object columns")
        self.title = QLabel()
        self.title.setWordWrap(True)  # never forces the dock wider than it is
        self.title.setToolTip("Where the selected function's object and bytecode live")
        self.code = read_only_code("Bytecode of the selected function")
        self.code.setToolTip("Bytecode of the selected function, read from main memory: offset, "
                             "bytes, instruction (CALL names its callee's object)")

        # The source as the host's front end received it (recorded in the define steps).
        self.source = read_only_code("Source of the program")
        # Source lines can be long (a one-line def); wrapped, the start stays in view.
        self.source.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.source.setToolTip("The source the host's front end compiled into this bytecode")
        self._source_highlighter = Highlighter(self.source.document())
        self.lower_tabs = QTabWidget()
        self.lower_tabs.addTab(self.code, "Bytecode")
        self.lower_tabs.addTab(self.source, "Source")
        self.lower_tabs.setUsesScrollButtons(False)  # two short titles: never hidden
        self.lower_tabs.setTabToolTip(0, "The selected function's bytecode, read from memory")
        self.lower_tabs.setTabToolTip(1, "The source the host compiled, from the define steps")
        self.lower_tabs.setAccessibleName("Bytecode or source")
        self.lower_tabs.setToolTip("The selected function's bytecode, or the program's source")
        self.lower_tabs.tabBar().setAccessibleName("Bytecode and source tabs")
        self.lower_tabs.tabBar().setToolTip("Bytecode: what main interprets · Source: what "
                                            "the host compiled")
        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addWidget(self.title)
        lower_layout.addWidget(self.lower_tabs, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.tree)
        splitter.addWidget(lower)
        splitter.setSizes([120, 300])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.policy)
        layout.addWidget(splitter, 1)

        self.tree.currentItemChanged.connect(self._on_current_item_changed)
        self._when_shown = WhenShown(self, player, self._on_step_changed)
        player.trace_changed.connect(self._on_trace_changed)
        self._on_step_changed(player.index, -1)

    # ------------------------------------------------------------ public
    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self.tree.setColumnHidden(PARAMS_COLUMN, self.width() < NARROW)

    def functions(self) -> list[FunctionObject]:
        """The function objects as of the current step."""
        return list(self._functions)

    def select_function(self, name: str) -> None:
        """Show the bytecode of the function called ``name`` (if it exists)."""
        self._when_shown.flush()   # a dock behind its tabs may be steps behind
        for row in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(row)
            if item.text(0) == name:
                self.tree.setCurrentItem(item)
                return

    # ------------------------------------------------------------ handlers
    def _sources(self) -> str:
        parts: list[str] = []
        for step in self.player.trace.steps[: self.player.index + 1]:
            text = step.detail.get("source") if step.kind == "define" else None
            if text and text.strip() not in parts:
                parts.append(text.strip())
        return "\n\n".join(parts)

    def _on_step_changed(self, index: int, previous: int) -> None:
        text = self._sources()
        if self.source.toPlainText() != text:
            self.source.setPlainText(text)
        step = self.player.current
        before = self.player.trace[self.player.index - 1] if step and self.player.index else None
        self._show_policy(step.vm if step else None)
        changed = changed_fields(step, before)
        host_jit_calls = jit_calls_from_host(self.player.trace.steps[: index + 1])
        # The records are shared between steps that did not change them: when nothing the
        # rows show is new (not even last step's highlights), keep the rows as they are.
        key = (step.functions if step else None, step.table if step else None,
               frozenset(changed), tuple(host_jit_calls.items()))
        if self._shown is not None and all(a is b or a == b for a, b in zip(key, self._shown)):
            return
        self._shown = key
        self._functions = list(step.functions) if step else []
        bold = QFont(self.tree.font())
        bold.setBold(True)
        self.tree.blockSignals(True)  # rebuilding must not look like the user picking a row
        self.tree.clear()
        current = None
        for fn in self._functions:
            slot = fn.code_slot
            target = (step.table[slot].label if step and 0 < slot < len(step.table)
                      else "past the table's end")
            slot_text = f"{slot} → {target}" if slot else "0 (interpreted)"
            item = QTreeWidgetItem([fn.name, str(fn.params), str(fn.calls), fn.state_name,
                                    slot_text])
            item.setData(0, Qt.ItemDataRole.UserRole, fn.address)
            tip = (f"{fn.name}: function object at 0x{fn.address:05X}, {fn.params} parameter(s), "
                   f"{fn.calls} interpreted call(s)")
            for col in range(len(COLUMNS)):
                item.setToolTip(col, tip)
            item.setToolTip(CALLS_COLUMN, calls_tip(fn, host_jit_calls.get(fn.name, 0)))
            for col in (1, 2):
                item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight |
                                      Qt.AlignmentFlag.AlignVCenter)
            badge = _state_color(fn, step)
            item.setBackground(3, badge)
            item.setForeground(3, colors.text_on(badge))
            item.setToolTip(3, _STATE_TIPS.get(fn.state_name, fn.state_name))
            item.setToolTip(4, f"calls to {fn.name} go through table slot {slot} ({target})"
                            if slot else f"not compiled: calls go to the interpreter entry in "
                            f"slot {1 + fn.params} (main.enter{fn.params})")
            for col, field in ((2, "calls"), (3, "state"), (4, "code_slot")):
                if (fn.address, field) in changed:
                    item.setFont(col, bold)
                    if col != 3:
                        tint = QColor(colors.CHANGE)
                        tint.setAlpha(110)
                        item.setBackground(col, tint)
                    item.setToolTip(col, item.toolTip(col) + "\n(changed in this step)")
            self.tree.addTopLevelItem(item)
            if fn.name == self._selected:
                current = item
        self.tree.blockSignals(False)
        if current is None and self.tree.topLevelItemCount():
            current = self.tree.topLevelItem(0)
        if current is not None:
            self.tree.setCurrentItem(current)
        self._show_code(current)

    def _show_policy(self, vm: VmState | None) -> None:
        base = self.player.trace.layout.state_base
        self.policy.setToolTip("The tier-up policy and queue, read from the VM state block at "
                               f"0x{base:05X}")
        if vm is None:
            self.policy.setText("No state yet.")
            return
        jit = "on" if vm.jit_enabled else "off"
        self.policy.setText(
            f"{vm.functions} function(s) · hot at {vm.threshold} calls · "
            f"batch window {vm.window} · queue {vm.queue_len} · countdown {vm.countdown} · "
            f"JIT {jit} · modules {vm.modules}")

    def _on_current_item_changed(self, current: QTreeWidgetItem | None,
                                 previous: QTreeWidgetItem | None) -> None:
        if current is not None:
            self._selected = current.text(0)
        self._show_code(current)

    def _show_code(self, item: QTreeWidgetItem | None) -> None:
        fn = next((f for f in self._functions if item is not None
                   and f.address == item.data(0, Qt.ItemDataRole.UserRole)), None)
        if fn is None:
            self.title.setText("No functions defined yet.")
            self.code.setPlainText("")
            return
        params = f"{fn.params} param{'' if fn.params == 1 else 's'}"
        self.title.setText(f"<b>{fn.name}</b> · {params} · object 0x{fn.address:05X} · "
                           f"bytecode at 0x{fn.bytecode:05X}, {fn.length} B")
        names = {f.address: f.name for f in self._functions}
        text = disassembly_text(fn, names)
        if text != self.code.toPlainText():  # keep the scroll position when nothing changed
            self.code.setPlainText(text)

    def _on_trace_changed(self) -> None:
        self._selected = ""
        self._functions = []
        self._shown = None
        self.tree.clear()

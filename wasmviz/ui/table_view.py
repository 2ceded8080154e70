"""The funcref table as wasmtime holds it, one row per slot, with this step's changes marked.

The table is the only way generated code and the main module reach each other's functions, so
each row also says which function objects currently route their calls through that slot (their
code slots, from the function records the engine decoded into each step).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (QAbstractTableModel, QEvent, QItemSelectionModel, QModelIndex, QObject,
                            QPersistentModelIndex, Qt)
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QTableView, QVBoxLayout,
                               QWidget)

from ..engine.trace import FunctionRecord, Slot
from . import colors
from .colors import legible, over
from .lazy import WhenShown
from .memory_view import mono_font
from .player import Player

_Index = QModelIndex | QPersistentModelIndex

COLUMNS = ("Slot", "Entry", "Module", "Used by")
_HEADER_TIPS = (
    "Index into the funcref table: what call_indirect and a code slot name",
    "The function the slot holds, as wasmtime reports it",
    "Which module that function belongs to",
    "Function objects whose calls currently go through this slot",
)
#: Item data role: True for a slot that changed since the previous step.
CHANGED_ROLE = Qt.ItemDataRole.UserRole + 1
#: How many changed slots the summary line names; it counts the rest.
SUMMARY_CHANGES = 8


def slot_color(slot: Slot) -> QColor:
    """Colour of the module owning ``slot``'s function (NULL grey for an empty slot)."""
    if slot.kind == "null":
        return QColor(colors.NULL)
    return colors.module_color(slot.module if slot.kind == "generated" else None)


#: How a generated function got into its slot, by its module's link style (read from the
#: module's own sections: diagram.history.module_link).
PLACED_BY = {
    "patch": "its patch put it here with table.set and wrote this index into the function's "
             "code slot.",
    "start": "its start function copied it here with a table.init from a passive element "
             "segment, during instantiation, and wrote this index into the function's code "
             "slot.",
    "pic": "instantiation placed its active element segment here, at __table_base; its "
           "__wasm_apply_data_relocs then wrote this index into the function's code slot.",
}
#: What the step that changed a slot did to it, by step kind (the summary line says it).
CHANGED_BY = {"table.set": "table.set", "table.init": "table.init",
              "linked": "the active segment", "table.grow": "table.grow"}


def explain(slot: Slot, link: str = "patch", reserved_for: int | None = None) -> str:
    """Say in one sentence what ``slot`` is for (``link``: its module's link style;
    ``reserved_for``: the module main reserved this null slot for, pic only)."""
    if slot.index == 0:
        return ("Slot 0 stays null forever, so a code slot of 0 can mean 'not compiled'; "
                "calling it would trap.")
    if slot.kind == "main" and (slot.function or "").startswith("enter"):
        k = (slot.function or "enter0")[5:]
        return (f"The interpreter entry for functions with {k} parameter(s): calls to a function "
                "not yet compiled land here and run its bytecode.")
    if slot.kind == "main":
        return f"A function of the main module ({slot.function})."
    if slot.kind == "null" and reserved_for is not None:
        return (f"Reserved: main grew the table for module {reserved_for} before asking the "
                "host to instantiate it (position-independent linking); the module's active "
                "element segment fills it at instantiation. Until then it is null, and "
                "call_indirect through it traps.")
    if slot.kind == "null":
        return ("Empty: table.grow added it and nothing has been put here (yet); "
                "call_indirect through it traps.")
    return (f"JIT code for {slot.function}, generated module {slot.module}; "
            + PLACED_BY.get(link, PLACED_BY["patch"]))


class TableModel(QAbstractTableModel):
    """Rows = table slots of the current step."""

    def __init__(self, player: Player, parent: Any = None) -> None:
        super().__init__(parent)
        self.player = player
        self._slots: tuple[Slot, ...] = ()
        self._before: tuple[Slot, ...] = ()
        #: The last few (table, records, users) worked out: steps that changed neither share
        #: the same tuples, so one step's users serve the next (held, so ids stay unique).
        self._users_cache: list[tuple[tuple[Slot, ...], tuple[FunctionRecord, ...],
                                      dict[int, list[str]]]] = []
        self._changed_rows: list[int] = []
        self._changed: set[int] = set()
        self._users: dict[int, list[str]] = {}
        self._old_users: dict[int, list[str]] = {}
        self._base = QColor("#FFFFFF")
        self._null_inks: dict[int, QColor] = {}
        #: Per trace: each module's link style, and main's reservations (pic): (step index,
        #: first slot, count, module), read from the recorded steps.
        self._links: dict[int, str] = {}
        self._reservations: list[tuple[int, int, int, int]] = []
        self._reserved: dict[int, int] = {}
        player.trace_changed.connect(self._on_trace_changed)
        self._on_trace_changed()
        self.set_palette(QGuiApplication.palette())
        player.step_changed.connect(self._on_step_changed)
        player.trace_changed.connect(self._on_step_changed)
        self._on_step_changed()

    def set_palette(self, palette: QPalette) -> None:
        """Take the colours rows are drawn on; call it whenever the view's palette changes."""
        self._base = QColor(palette.color(QPalette.ColorRole.Base))
        self._null_inks.clear()

    def _null_ink(self, background: QColor | None) -> QColor:
        # NULL's grey is only 2.1:1 on white: darken (or lighten) it just enough for AA.
        bg = over(background, self._base) if background is not None else self._base
        if bg.rgba() not in self._null_inks:
            self._null_inks[bg.rgba()] = legible(colors.NULL, bg)
        return self._null_inks[bg.rgba()]

    def _on_trace_changed(self) -> None:
        from .diagram.history import module_link  # noqa: PLC0415 - Qt-free, already loaded
        self._links, self._reservations, last = {}, [], None
        for step in self.player.trace.steps:
            if step.module is not None and step.module.data:
                last = step.module.number
                self._links.setdefault(last, module_link(step.module))
            d = step.detail
            if (step.phase, step.kind) == ("link", "table.grow") and d.get("by") == "main" \
                    and last is not None:
                self._reservations.append((step.index, d.get("base", 0), d.get("delta", 0),
                                           last))

    def reserved_for(self, row: int) -> int | None:
        """The module main reserved slot ``row`` for (pic), while it is still null."""
        return self._reserved.get(row)

    def link_of(self, slot: Slot) -> str:
        """How ``slot``'s generated function was put there: its module's link style."""
        return self._links.get(slot.module or 0, "patch")

    def slot(self, row: int) -> Slot:
        return self._slots[row]

    def is_changed(self, row: int) -> bool:
        """True if slot ``row`` is new, or holds something else, since the previous step."""
        return row >= len(self._before) or self._before[row] != self._slots[row]

    def changed_rows(self) -> list[int]:
        """The rows that changed in this step, ascending (found once per step)."""
        return list(self._changed_rows)

    def _find_changed_rows(self) -> list[int]:
        # Before the first step there is nothing to compare with: nothing "changed". A step
        # that did not touch the table shares the previous step's tuple.
        if not self._before or self._before is self._slots:
            return []
        # Unchanged steps share slot objects, so identity settles most rows cheaply (the
        # table may have thousands of slots).
        rows = [r for r, (a, b) in enumerate(zip(self._before, self._slots))
                if a is not b and a != b]
        return rows + list(range(len(self._before), len(self._slots)))

    def describe_change(self, row: int) -> str:
        """Say how slot ``row`` changed in this step, e.g. ``slot 6: null → m1.fib`` (and by
        what: ``by table.init``)."""
        if row >= len(self._before):
            if row in self._reserved:
                return f"slot {row} reserved by main for module {self._reserved[row]} (null)"
            return f"slot {row} added ({self._slots[row].label})"
        step = self.player.current
        how = CHANGED_BY.get(step.kind, "") if step is not None else ""
        return f"slot {row}: {self._before[row].label} → {self._slots[row].label}" + \
            (f" by {how}" if how else "")

    def users(self, row: int, before: bool = False) -> list[str]:
        """Names of the functions whose calls go through slot ``row`` now (or before the step)."""
        return list((self._old_users if before else self._users).get(row, ()))

    @staticmethod
    def _users_by_slot(slots: tuple[Slot, ...],
                       functions: tuple[FunctionRecord, ...]) -> dict[int, list[str]]:
        # Built once per step: a function's calls go through its code slot, or through the
        # interpreter entry for its arity while the code slot is 0.
        out: dict[int, list[str]] = {}
        for f in functions:
            if f.code_slot:
                out.setdefault(f.code_slot, []).append(f.name)
        for row, slot in enumerate(slots[:8]):
            if slot.kind == "main" and (slot.function or "").startswith("enter"):
                k = (slot.function or "enter0")[5:]
                names = [f"{f.name} (interpreted)" for f in functions
                         if not f.code_slot and k.isdigit() and f.params == int(k)]
                if names:
                    out.setdefault(row, []).extend(names)
        return {r: v for r, v in out.items() if 0 < r < len(slots)}

    def _users_for(self, slots: tuple[Slot, ...],
                   functions: tuple[FunctionRecord, ...]) -> dict[int, list[str]]:
        for cached_slots, cached_functions, users in self._users_cache:
            if cached_slots is slots and cached_functions is functions:
                return users
        users = self._users_by_slot(slots, functions)
        self._users_cache = (self._users_cache + [(slots, functions, users)])[-3:]
        return users

    def users_changed(self, row: int) -> bool:
        """True if a relocation (or a new function) changed who calls through slot ``row``."""
        return bool(self._before) and self._users.get(row) != self._old_users.get(row)

    def rows_with_changed_users(self) -> list[int]:
        if not self._before:
            return []
        rows = set(self._users) | set(self._old_users)
        return sorted(r for r in rows if self.users_changed(r))

    # ------------------------------------------------------------ Qt model
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._slots)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: _Index,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row, col = index.row(), index.column()
        if not 0 <= row < len(self._slots):
            return None
        slot, changed = self._slots[row], row in self._changed
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return str(slot.index)
            if col == 1:
                return slot.label
            if col == 2:
                if slot.kind == "null" and row in self._reserved:
                    return f"reserved for module {self._reserved[row]}"
                return {"null": "—", "main": "main"}.get(slot.kind, f"module {slot.module}")
            return ", ".join(self.users(row))
        if role == CHANGED_ROLE:
            return changed
        if role == Qt.ItemDataRole.DecorationRole and col == 2:
            if slot.kind == "null" and row in self._reserved:   # whose room it is
                return colors.module_color(self._reserved[row])
            return slot_color(slot)  # Qt draws a QColor decoration as a swatch
        if role == Qt.ItemDataRole.BackgroundRole and col == 3 and self.users_changed(row):
            tint = QColor(colors.CHANGE)
            tint.setAlpha(110)
            return tint
        if role == Qt.ItemDataRole.BackgroundRole and changed:
            tint = QColor(slot_color(slot) if slot.kind != "null" else colors.CHANGE)
            tint.setAlpha(90)
            return tint
        if role == Qt.ItemDataRole.FontRole and changed:
            font = QFont(mono_font())
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.FontRole and col == 1:
            return mono_font()
        if role == Qt.ItemDataRole.ForegroundRole and slot.kind == "null" and col == 1:
            return self._null_ink(self.data(index, Qt.ItemDataRole.BackgroundRole))
        if role == Qt.ItemDataRole.TextAlignmentRole and col == 0:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row)
        return None

    def _tooltip(self, row: int) -> str:
        slot = self._slots[row]
        lines = [f"Slot {slot.index}: {slot.label}",
                 explain(slot, self.link_of(slot), self._reserved.get(row))]
        if row in self._changed:
            was = self._before[row].label if row < len(self._before) else None
            lines.append(f"Changed in this step: {was} → {slot.label}" if was
                         else "New in this step: added by table.grow")
        users = self.users(row)
        if users:
            lines.append("Calls reach it from: " + ", ".join(users))
        if self.users_changed(row):
            lines.append("Changed in this step (a code slot was relocated): before, "
                         + (", ".join(self.users(row, before=True)) or "nobody"))
        return "\n".join(lines)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return _HEADER_TIPS[section]
        return None

    def _reserved_at(self, index: int) -> dict[int, int]:
        """{slot: module} for the slots main had reserved by step ``index`` that are still
        null then (a failed instantiation leaves them so: main does not give them back)."""
        table = self.player.trace[index].table
        return {i: module for at, base, count, module in self._reservations if at <= index
                for i in range(base, base + count)
                if i < len(table) and table[i].kind == "null"}

    def _on_step_changed(self, index: int = -1, previous: int = -1) -> None:
        player = self.player
        step = player.current
        new_slots = step.table if step else ()
        # Same number of slots: only cell contents change, so say that instead of resetting
        # (a reset re-measures the columns and relays out every row: with 10,000 slots on
        # screen, more than a frame).
        same_shape = len(new_slots) == len(self._slots) and len(new_slots) > 0
        if not same_shape:
            self.beginResetModel()
        self._slots = new_slots
        # "Changed" means changed by this step, as the memory view's highlight does.
        self._before = player.trace[player.index - 1].table if step and player.index > 0 else ()
        self._reserved = self._reserved_at(player.index) if step else {}
        self._changed_rows = self._find_changed_rows()
        self._changed = set(self._changed_rows)
        before = player.trace[player.index - 1] if step and player.index > 0 else None
        functions = step.functions if step else ()
        old_functions = before.functions if before is not None else ()
        self._users = self._users_for(self._slots, functions)
        self._old_users = self._users_for(self._before, old_functions)
        if not same_shape:
            self.endResetModel()
        else:
            self.dataChanged.emit(self.index(0, 0),
                                  self.index(len(self._slots) - 1, self.columnCount() - 1))


class TableView(QWidget):
    """The funcref table of the current step, changed slots highlighted."""

    def __init__(self, player: Player, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.player = player
        self.model = TableModel(player, self)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setToolTip("Size of the main module's funcref table, shared with every "
                                "generated module by import")
        self.summary.setAccessibleName("Table summary")
        self._row: int | None = None  # the keyboard's row, kept across steps (a reset drops it)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        # Reachable with Tab, and Tab leaves it again; arrow keys move between slots.
        self.table.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.table.setTabKeyNavigation(False)
        self.table.setAccessibleName("Funcref table slots")
        self.table.setAccessibleDescription("One row per table slot: its index, the function it "
                                            "holds, that function's module, and who calls "
                                            "through it")
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # Size columns from the first rows only: with thousands of slots, measuring every row
        # at every step would cost more than a frame.
        header.setResizeContentsPrecision(64)
        header.setStretchLastSection(True)
        header.setAccessibleName("Table columns")
        self.table.setToolTip("The funcref table, one row per slot")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        self.table.selectionModel().currentChanged.connect(self._on_current_changed)
        self.table.installEventFilter(self)
        # The model follows steps through this view: nothing to do while the dock is hidden.
        player.step_changed.disconnect(self.model._on_step_changed)
        self._when_shown = WhenShown(self, player, self.model._on_step_changed,
                                     self._on_step_changed)
        player.trace_changed.connect(self._on_step_changed)
        self._on_step_changed()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self.table and event.type() in (QEvent.Type.PaletteChange,
                                                      QEvent.Type.ApplicationPaletteChange):
            self.model.set_palette(self.table.palette())  # the theme switched: re-derive inks
        return super().eventFilter(watched, event)

    def _on_current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        if current.isValid():
            self._row = current.row()

    def _on_step_changed(self, index: int = -1, previous: int = -1) -> None:
        rows = self.model.changed_rows()
        size = self.model.rowCount()
        if not size:
            self.summary.setText("No table yet.")
            return
        if self._row is not None and self._row < size:
            # Back to the keyboard's slot, without selecting it over the change colours.
            self.table.selectionModel().setCurrentIndex(
                self.model.index(self._row, 0), QItemSelectionModel.SelectionFlag.NoUpdate)
        # Name a few changes: a label listing thousands of slots costs frames and says nothing.
        what = ", ".join(self.model.describe_change(r) for r in rows[:SUMMARY_CHANGES])
        if len(rows) > SUMMARY_CHANGES:
            what += f" and {len(rows) - SUMMARY_CHANGES:,} more changed slots"
        changed = set(rows)
        moved = [r for r in self.model.rows_with_changed_users() if r not in changed]
        what = ", ".join(filter(None, [what] + [f"calls to {', '.join(self.model.users(r))} now "
                                                f"go through slot {r}" for r in moved
                                                if self.model.users(r)]))
        what = what or "no change in this step"
        self.summary.setText(f"<b>{size} slots</b> · {what}")
        if rows:
            self.table.scrollTo(self.model.index(rows[-1], 0))

    def select_slot(self, slot: int) -> None:
        """Select and show table slot ``slot`` (a lesson points at it)."""
        self._when_shown.flush()   # a dock behind its tabs may be steps behind
        if 0 <= slot < self.model.rowCount():
            index = self.model.index(slot, 0)
            self.table.scrollTo(index)
            self.table.selectRow(slot)

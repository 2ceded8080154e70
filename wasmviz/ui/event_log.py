"""Every step of the trace as a list: the current one selected, a click jumps there.

A filter by phase lets a learner see, say, only the patch steps of every module in a long run.
Steps are numbered from 1, as the transport's "Step N of M" and the diagram count them; the
player's index is that number minus one.
"""

from __future__ import annotations

import textwrap
from typing import Any

from PySide6.QtCore import (QAbstractTableModel, QModelIndex, QPersistentModelIndex, QRectF,
                            QSortFilterProxyModel, Qt)
from PySide6.QtGui import QColor, QPainter, QPalette, QPen, QResizeEvent
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel,
                               QStyle, QStyledItemDelegate, QStyleOptionViewItem, QTableView,
                               QVBoxLayout, QWidget)

from ..engine.trace import PHASES, Step
from . import colors
from .diagram.history import trace_link
from .phase_tips import PHASE_TIPS, phase_tip
from .player import Player

_Index = QModelIndex | QPersistentModelIndex

# Phases are told by their names, drawn as neutral pills like the diagram's phase chips: every
# hue already means something (a module, the change highlight, the call path, a trap).
PHASE_COLORS = {phase: QColor(colors.HOST) for phase in PHASES}
#: What the count line calls each link style.
LINK_NAMES = {"patch": "exported patch", "start": "start function",
              "pic": "position-independent"}

COLUMNS = ("Step", "Phase", "Kind", "What happened")
PHASE_COLUMN = 1
KIND_COLUMN = 2
#: Below this width the Kind column hides (the kind stays in each row's tooltip), so that
#: the caption, which explains the step, keeps the room.
NARROW = 480


def step_number(step: Step) -> int:
    """The 1-based number a learner sees for ``step`` (the transport's "Step N of M")."""
    return step.index + 1


def short_caption(step: Step, width: int = 110) -> str:
    """First sentence of the caption, cut to ``width`` characters."""
    first = step.caption.split(". ")[0].rstrip(".")
    return first if len(first) <= width else first[: width - 1] + "…"


class StepListModel(QAbstractTableModel):
    """One row per step of the player's trace."""

    def __init__(self, player: Player, parent: Any = None) -> None:
        super().__init__(parent)
        self.player = player
        #: How the trace's generated modules link in, read from their bytes ("" if none).
        self.link = trace_link(player.trace)
        player.trace_changed.connect(self._on_trace_changed)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.player.trace)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: _Index,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.player.trace):
            return None
        step, col = self.player.trace[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (str(step_number(step)), step.phase, step.kind, short_caption(step))[col]
        if role == Qt.ItemDataRole.ToolTipRole:
            text = textwrap.fill(step.caption, 80)
            if col == PHASE_COLUMN:
                return phase_tip(step.phase, self.link) + "\n\n" + text
            return (f"Step {step_number(step)} of {len(self.player.trace)} · "
                    f"{step.phase}/{step.kind}\n\n{text}\n\nClick to go there")
        if role == Qt.ItemDataRole.ForegroundRole and col >= KIND_COLUMN \
                and (step.trap or step.error):
            return QColor(colors.TRAP)
        if role == Qt.ItemDataRole.TextAlignmentRole and col == 0:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return ("Step number, counted from 1 as in the transport's Step N of M",
                    "Phase of late linking", "What kind of event",
                    "The step's caption (hover for all of it)")[section]
        return None

    def _on_trace_changed(self) -> None:
        self.beginResetModel()
        self.link = trace_link(self.player.trace)
        self.endResetModel()


class PhaseBadgeDelegate(QStyledItemDelegate):
    """Draws the phase as a rounded, coloured pill."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: _Index) -> None:
        # Let the style draw the row background and selection first, then the pill on top.
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        phase = opt.text
        opt.text = ""
        style = opt.widget.style() if opt.widget else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        metrics = option.fontMetrics
        width = metrics.horizontalAdvance(phase) + 14
        rect = QRectF(option.rect.left() + 4, option.rect.center().y() - metrics.height() / 2,
                      width, metrics.height()).adjusted(0, -1, 0, 1)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        # An outlined pill in the text colour, as the diagram draws phase chips.
        text = opt.palette.color(QPalette.ColorRole.HighlightedText
                                 if opt.state & QStyle.StateFlag.State_Selected
                                 else QPalette.ColorRole.Text)
        painter.setPen(QPen(text, 1.2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(rect, rect.height() / 2, rect.height() / 2)
        painter.setPen(text)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, phase)
        painter.restore()


class EventLog(QWidget):
    """The list of steps, following the player; a click moves the player."""

    def __init__(self, player: Player, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.player = player
        self.model = StepListModel(player, self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(PHASE_COLUMN)

        self.phase_combo = QComboBox()
        self.phase_combo.addItem("All phases", "")
        for phase in PHASES:
            self.phase_combo.addItem(phase, phase)
            self.phase_combo.setItemData(self.phase_combo.count() - 1, PHASE_TIPS[phase],
                                         Qt.ItemDataRole.ToolTipRole)
            self.phase_combo.setItemData(self.phase_combo.count() - 1, PHASE_COLORS[phase],
                                         Qt.ItemDataRole.DecorationRole)
        self.phase_combo.setToolTip("Show only the steps of one phase")
        self.phase_combo.setAccessibleName("Phase filter")
        self.count = QLabel()
        self.count.setToolTip("Steps shown / steps in the trace")

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setItemDelegateForColumn(PHASE_COLUMN, PhaseBadgeDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.setColumnWidth(0, max(self.fontMetrics().horizontalAdvance(t)
                                         for t in ("Step", "00000")) + 16)
        self.table.setColumnWidth(PHASE_COLUMN, self.fontMetrics().horizontalAdvance("generate")
                                  + 26)
        self.table.setColumnWidth(KIND_COLUMN,
                                  self.fontMetrics().horizontalAdvance("relocation") + 16)
        self.table.setToolTip("Every recorded step; click one (or move with the arrow keys) to "
                              "go there")
        self.table.setAccessibleName("Event log: every recorded step")
        self.table.horizontalHeader().setAccessibleName("Event log columns")
        # Tab leaves the log instead of walking its cells, so the keyboard is never trapped.
        self.table.setTabKeyNavigation(False)
        self.table.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFocusProxy(self.table)  # focusing the dock focuses the list

        bar = QHBoxLayout()
        bar.addWidget(self.phase_combo)
        bar.addStretch(1)
        bar.addWidget(self.count)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)

        self._syncing = False
        self.phase_combo.currentIndexChanged.connect(self._on_phase_filter_changed)
        self.table.clicked.connect(self._on_row_clicked)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_row_changed)
        player.step_changed.connect(self._on_step_changed)
        player.trace_changed.connect(self._on_trace_changed)
        self._on_trace_changed()

    # ------------------------------------------------------------ public
    def set_phase_filter(self, phase: str) -> None:
        """Show only ``phase``'s steps ("" for all)."""
        self.phase_combo.setCurrentIndex(max(self.phase_combo.findData(phase), 0))

    def step_at(self, row: int) -> int:
        """The step index shown on (filtered) row ``row``."""
        return self.proxy.mapToSource(self.proxy.index(row, 0)).row()

    def row_of(self, step: int) -> int:
        """The visible row showing step ``step``, or -1 if the filter hides it."""
        return self.proxy.mapFromSource(self.model.index(step, 0)).row()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self.table.setColumnHidden(KIND_COLUMN, self.width() < NARROW)

    # ------------------------------------------------------------ handlers
    def _on_row_clicked(self, index: QModelIndex) -> None:
        self.player.go(self.proxy.mapToSource(index).row())

    def _on_current_row_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        # Keyboard navigation moves the player too; our own re-selection must not.
        if not self._syncing and current.isValid():
            self.player.go(self.proxy.mapToSource(current).row())

    def _on_step_changed(self, index: int, previous: int) -> None:
        row = self.row_of(index)
        self._syncing = True
        try:
            if row < 0:
                self.table.clearSelection()
            else:
                proxy_index = self.proxy.index(row, 0)
                self.table.setCurrentIndex(proxy_index)
                self.table.scrollTo(proxy_index, QAbstractItemView.ScrollHint.EnsureVisible)
        finally:
            self._syncing = False

    def _on_phase_filter_changed(self, combo_row: int) -> None:
        phase = self.phase_combo.itemData(combo_row) or ""
        self.proxy.setFilterRegularExpression(f"^{phase}$" if phase else "")
        self._update_count()
        self._on_step_changed(self.player.index, -1)

    def _on_trace_changed(self) -> None:
        self._update_count()
        if self.player.current is not None:
            self._on_step_changed(self.player.index, -1)

    def _update_count(self) -> None:
        link = LINK_NAMES.get(self.model.link, "")
        self.count.setText(f"{self.proxy.rowCount()} / {self.model.rowCount()} steps"
                           + (f" · linked by {link}" if link else ""))
        self.count.setToolTip("Steps shown / steps in the trace"
                              + (f"; its modules link in by {link} (read from their bytes)"
                                 if link else ""))

"""The player: a cursor over a recorded trace, and the signals every view listens to.

Views never run wasmtime: they draw ``player.current`` (and animate from ``player.previous``).
Stepping back is moving the cursor; nothing is re-executed.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from ..engine.trace import PHASES, Step, Trace

#: Full memory images are cached every this many steps, so any step's memory is a short replay.
CHECKPOINT_EVERY = 16


class Player(QObject):
    """Holds a Trace and the index of the step on screen."""

    #: (new index, previous index or -1): the step on screen changed.
    step_changed = Signal(int, int)
    #: A new trace was loaded (the cursor is then at step 0).
    trace_changed = Signal()
    playing_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.trace: Trace = Trace(())
        self.index = -1
        self.previous_index = -1
        #: Animation length in ms for views; tests set 0.
        self.animation_ms = 450
        self._checkpoints: dict[int, bytes] = {}
        self._recent: dict[int, bytes] = {}
        self._work = bytearray()
        self._work_index = -1
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._on_tick)
        self.set_speed(2.0)

    # ---------------------------------------------------------------- trace
    def set_trace(self, trace: Trace) -> None:
        """Show ``trace`` from its first step."""
        self.pause()
        self.trace = trace
        self._checkpoints = {}
        self._recent = {}
        self._work, self._work_index = bytearray(), -1
        self.index = -1
        self.previous_index = -1
        self.trace_changed.emit()
        if len(trace):
            self.go(0)

    @property
    def current(self) -> Step | None:
        return self.trace[self.index] if 0 <= self.index < len(self.trace) else None

    @property
    def previous(self) -> Step | None:
        i = self.previous_index
        return self.trace[i] if 0 <= i < len(self.trace) else None

    # ---------------------------------------------------------------- cursor
    def go(self, index: int) -> None:
        """Move to step ``index`` (clamped); emits step_changed if it moved."""
        if not len(self.trace):
            return
        index = max(0, min(index, len(self.trace) - 1))
        if index == self.index:
            return
        self.previous_index, self.index = self.index, index
        self.step_changed.emit(self.index, self.previous_index)

    def forward(self) -> None:
        self.go(self.index + 1)

    def back(self) -> None:
        self.go(self.index - 1)

    def reset(self) -> None:
        self.pause()
        self.go(0)

    def to_end(self) -> None:
        self.go(len(self.trace) - 1)

    def next_phase(self) -> None:
        """Jump to the first later step whose phase differs from the current one."""
        cur = self.current
        for i in range(self.index + 1, len(self.trace)):
            if cur is None or self.trace[i].phase != cur.phase:
                self.go(i)
                return
        self.to_end()

    def previous_phase(self) -> None:
        """Jump back to the start of the previous phase."""
        i = self.index - 1
        while i > 0 and self.trace[i].phase == self.trace[i - 1].phase:
            i -= 1
        self.go(max(i, 0))

    @property
    def at_end(self) -> bool:
        return self.index >= len(self.trace) - 1

    # ---------------------------------------------------------------- play
    def set_speed(self, steps_per_second: float) -> None:
        self.speed = max(0.25, min(steps_per_second, 60.0))
        self._timer.setInterval(int(1000 / self.speed))

    def play(self) -> None:
        if self.at_end:
            self.go(0)
        if not self._timer.isActive() and len(self.trace):
            self._timer.start()
            self.playing_changed.emit(True)

    def pause(self) -> None:
        if self._timer.isActive():
            self._timer.stop()
            self.playing_changed.emit(False)

    def toggle_play(self) -> None:
        self.pause() if self.playing else self.play()

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def _on_tick(self) -> None:
        self.forward()
        if self.at_end:
            self.pause()

    # ---------------------------------------------------------------- memory
    def memory_at(self, index: int | None = None) -> bytes:
        """Return the whole linear memory as it was after step ``index`` (default: current).

        Rebuilt from the recorded changes (the first step records the initial memory against
        zeros), from the nearest cached checkpoint.
        """
        index = self.index if index is None else index
        if index < 0 or not len(self.trace):
            return b""
        if index in self._recent:
            return self._recent[index]
        image = self._replay(index)
        # Several views ask for the same step's memory in one update: keep the last few.
        self._recent[index] = image
        while len(self._recent) > 4:
            del self._recent[next(iter(self._recent))]
        return image

    def _replay(self, index: int) -> bytes:
        # Stepping forward by one (the common case) applies one step's changes to a working
        # buffer; anything else restarts from the nearest checkpoint.
        if self._work_index < 0 or index < self._work_index:
            start = max((k for k in self._checkpoints if k <= index), default=-1)
            self._work = bytearray(self._checkpoints[start]) if start >= 0 else bytearray()
            self._work_index = start
        buf = self._work
        for i in range(self._work_index + 1, index + 1):
            step = self.trace[i]
            size = step.memory_pages * 65536
            if len(buf) < size:
                buf.extend(bytes(size - len(buf)))
            for c in step.memory_changes:
                buf[c.address:c.address + len(c.new)] = c.new
            if i % CHECKPOINT_EVERY == 0:
                self._checkpoints[i] = bytes(buf)
        self._work_index = index
        pages = self.trace[index].memory_pages
        return bytes(buf[: pages * 65536]) if len(buf) > pages * 65536 else bytes(buf)

def phase_of(step: Step | None) -> str:
    return step.phase if step else PHASES[0]

"""The player: a cursor over a recorded trace, and the signals every view listens to.

Views never run wasmtime: they draw ``player.current`` (and animate from ``player.previous``).
Stepping back is moving the cursor; nothing is re-executed.
"""

from __future__ import annotations

import itertools
import operator
from typing import Any, Iterable, Iterator

from PySide6.QtCore import QObject, QTimer, Signal

from ..engine.trace import PHASES, MemoryChange, Step, Trace

#: Memory images are kept every this many steps, so any step's memory is a short replay.
CHECKPOINT_EVERY = 16
#: How many recently shown steps' images the player keeps (Back is then a lookup).
RECENT_IMAGES = 8

# ---------------------------------------------------------------- memory images
#: A wasm page; memory images are made of these.
PAGE_SIZE = 65536
_ZERO_PAGE = bytes(PAGE_SIZE)


class MemoryImage:
    """An immutable linear-memory image made of 64 KiB pages (``bytes``), shared between images.

    Untouched pages are the same ``bytes`` objects in every image that holds them (all-zero
    pages are one shared page), so the image after a step shares everything but the pages the
    step wrote with the image before it: making one costs the pages written, not the memory
    size. Reads look like ``bytes``: ``len``, ``image[i]`` (an int), ``image[a:b]`` (bytes),
    iteration, ``bytes(image)`` and ``==`` with bytes or another image.
    """

    __slots__ = ("_pages",)

    def __init__(self, pages: tuple[bytes, ...] = ()) -> None:
        if any(len(p) != PAGE_SIZE for p in pages):
            raise ValueError("every page of a memory image is 64 KiB")
        self._pages = pages

    @property
    def pages(self) -> tuple[bytes, ...]:
        return self._pages

    def __len__(self) -> int:
        return len(self._pages) * PAGE_SIZE

    def __getitem__(self, key: int | slice) -> Any:
        if isinstance(key, slice):
            start, stop, stride = key.indices(len(self))
            if stride != 1:
                return bytes(self)[key]
            return self.read(start, stop - start)
        i = operator.index(key)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError("memory image index out of range")
        return self._pages[i // PAGE_SIZE][i % PAGE_SIZE]

    def read(self, address: int, length: int) -> bytes:
        """Return the bytes ``[address, address + length)``, clipped to the image like a slice."""
        if address < 0:
            raise ValueError(f"negative address {address}")
        end = min(address + length, len(self))
        if address >= end:
            return b""
        first, last = address // PAGE_SIZE, (end - 1) // PAGE_SIZE
        lo = address - first * PAGE_SIZE
        if first == last:
            return self._pages[first][lo:lo + end - address]
        parts = [self._pages[first][lo:], *self._pages[first + 1:last]]
        parts.append(self._pages[last][:end - last * PAGE_SIZE])
        return b"".join(parts)

    def __bytes__(self) -> bytes:
        return b"".join(self._pages)

    def __iter__(self) -> Iterator[int]:
        return itertools.chain.from_iterable(self._pages)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, MemoryImage):
            return len(self._pages) == len(other._pages) and all(
                a is b or a == b for a, b in zip(self._pages, other._pages))
        if isinstance(other, (bytes, bytearray, memoryview)):
            view = memoryview(other).cast("B")
            return len(view) == len(self) and all(
                view[k * PAGE_SIZE:(k + 1) * PAGE_SIZE] == p for k, p in enumerate(self._pages))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal to bytes, which hash differently

    def __repr__(self) -> str:
        return f"<MemoryImage {len(self._pages)} pages>"

    def apply(self, memory_pages: int, changes: Iterable[MemoryChange]) -> MemoryImage:
        """Return this image resized to ``memory_pages`` with ``changes`` written (new bytes)."""
        writer = _PageWriter(self)
        writer.step(memory_pages, changes)
        return writer.freeze()


EMPTY_IMAGE = MemoryImage()


class _PageWriter:
    """Writes steps into a copy of an image's page list, copying each page once until frozen."""

    def __init__(self, image: MemoryImage) -> None:
        self._pages: list[bytes | bytearray] = list(image.pages)
        self._dirty: set[int] = set()  # pages that are private bytearrays now

    def step(self, memory_pages: int, changes: Iterable[MemoryChange]) -> None:
        # The memory has the step's size: wasm memory only grows, and a recorded change never
        # lies outside it (one that did would be clipped to it).
        pages = self._pages
        if len(pages) > memory_pages:
            del pages[memory_pages:]
            self._dirty = {k for k in self._dirty if k < memory_pages}
        elif len(pages) < memory_pages:
            pages.extend([_ZERO_PAGE] * (memory_pages - len(pages)))
        size = memory_pages * PAGE_SIZE
        for c in changes:
            address, data = c.address, c.new
            end = min(address + len(data), size)
            while address < end:
                k, lo = divmod(address, PAGE_SIZE)
                n = min(end - address, PAGE_SIZE - lo)
                page = pages[k]
                if k not in self._dirty:
                    page = pages[k] = bytearray(page)
                    self._dirty.add(k)
                page[lo:lo + n] = data[address - c.address:address - c.address + n]
                address += n

    def freeze(self) -> MemoryImage:
        for k in self._dirty:
            self._pages[k] = bytes(self._pages[k])
        self._dirty.clear()
        return MemoryImage(tuple(self._pages))  # type: ignore[arg-type]  # all bytes now



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
        self._checkpoints: dict[int, MemoryImage] = {}
        self._recent: dict[int, MemoryImage] = {}
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
        """Jump back to the start of the phase before the current one (Page Up)."""
        start = self._phase_start(self.index)
        self.go(self._phase_start(start - 1) if start > 0 else 0)

    def _phase_start(self, i: int) -> int:
        """The first step of the run of same-phase steps that contains step ``i``."""
        while i > 0 and self.trace[i].phase == self.trace[i - 1].phase:
            i -= 1
        return max(i, 0)

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
    def memory_at(self, index: int | None = None) -> MemoryImage:
        """Return the whole linear memory as it was after step ``index`` (default: current).

        Exact for any step, in any order: replayed from the recorded changes (the first step
        records the initial memory against zeros) from the nearest earlier image the player
        holds, a checkpoint or a recently shown step. Images share unchanged pages, so one step
        forward costs the pages that step wrote, whatever the memory size.
        """
        index = self.index if index is None else index
        if index < 0 or not len(self.trace):
            return EMPTY_IMAGE
        image = self._recent.pop(index, None)
        if image is None:
            image = self._replay(index)
        # Several views ask for the same step's memory in one update, and Back asks for the
        # previous one: keep the last few, most recently used last.
        self._recent[index] = image
        while len(self._recent) > RECENT_IMAGES:
            del self._recent[next(iter(self._recent))]
        return image

    def _replay(self, index: int) -> MemoryImage:
        start = max((k for k in itertools.chain(self._checkpoints, self._recent) if k <= index),
                    default=-1)
        base = (self._checkpoints[start] if start in self._checkpoints
                else self._recent.get(start, EMPTY_IMAGE))
        writer = _PageWriter(base)
        for i in range(start + 1, index + 1):
            step = self.trace[i]
            writer.step(step.memory_pages, step.memory_changes)
            if i % CHECKPOINT_EVERY == 0 and i not in self._checkpoints:
                self._checkpoints[i] = writer.freeze()
        return writer.freeze()


def phase_of(step: Step | None) -> str:
    return step.phase if step else PHASES[0]

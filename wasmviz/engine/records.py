"""Decoding main memory into the typed records every step carries: done once, here.

The recorder calls ``RecordReader.update`` at each step with the live memory and the changes
it has just found; a trace saved before steps carried records gets them from ``with_records``,
which replays its memory. Captions, views and lesson checks read the records, so no other
layer knows how a function object or the state block is laid out (docs/abi.md).

Nothing here imports wasmtime: ``memory`` is anything sliceable into bytes (the recorder's
numpy view of the live memory, or a bytearray replayed from a trace).
"""

from __future__ import annotations

import struct
from dataclasses import replace
from typing import Any, Iterable, NamedTuple, Sequence

from .layout import FUNC_FIELDS, STATE_FIELDS, Layout
from .trace import FunctionRecord, MemoryChange, Step, Trace, VmState

_OBJECT = struct.Struct(f"<{len(FUNC_FIELDS)}i")
_STATE = struct.Struct(f"<{len(STATE_FIELDS)}i")


def _bytes(memory: Any, lo: int, hi: int) -> bytes:
    lo, hi = max(lo, 0), max(min(hi, len(memory)), 0)
    return bytes(memory[lo:hi]) if lo < hi else b""


def decode_vm(memory: Any, layout: Layout) -> VmState:
    """The state block as ``memory`` holds it (zeros where memory is too short)."""
    raw = _bytes(memory, layout.state_base, layout.state_base + _STATE.size)
    return VmState(*_STATE.unpack(raw.ljust(_STATE.size, b"\0")))


def decode_function(memory: Any, layout: Layout, address: int) -> FunctionRecord:
    """The function object at ``address``, with the name and bytecode it points at."""
    raw = _bytes(memory, address, address + layout.func_size)[:_OBJECT.size]
    slot, code_ptr, length, params, calls, state, name_ptr, name_len = \
        _OBJECT.unpack(raw.ljust(_OBJECT.size, b"\0"))
    try:
        name = _bytes(memory, name_ptr, name_ptr + name_len).decode("utf-8") if name_len > 0 \
            else ""
    except UnicodeDecodeError:
        name = ""
    code = _bytes(memory, code_ptr, code_ptr + length) if length > 0 else b""
    return FunctionRecord(address, name or f"object@{address:#x}", slot, code_ptr, length,
                          params, calls, state, name_ptr, name_len, code)


class Now(NamedTuple):
    """Main memory at one instant, as the recorder reads it for a step: its size in pages,
    what changed since the last step, and its records."""

    pages: int
    changes: tuple[MemoryChange, ...]
    functions: tuple[FunctionRecord, ...]
    vm: VmState

    def function(self, obj: int) -> FunctionRecord | None:
        """The record of the function object at ``obj`` (None if there is none)."""
        return next((f for f in self.functions if f.address == obj), None)

    def name(self, obj: int) -> str:
        f = self.function(obj)
        return f.name if f else f"object@{obj:#x}"


class RecordReader:
    """Decodes the records of one run step by step, sharing what did not change.

    A step whose memory changes touch neither the state block, the function objects nor the
    heap (their names and bytecode) gets the previous step's tuple and record; otherwise only
    the objects whose 32 bytes changed are decoded again (all of them if the heap changed),
    and every other function keeps its previous record object. The recorder runs this at
    every step, so it reads one slice of memory per region rather than one per field.
    """

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.functions: tuple[FunctionRecord, ...] = ()
        self.vm: VmState | None = None
        self._raw = b""  # the function objects' bytes the records were decoded from
        L = layout
        self._state = (L.state_base, L.state_base + _STATE.size)
        self._objects = (L.funcs_base, L.funcs_base + L.func_size * L.max_funcs)
        self._heap = (L.heap_base, L.heap_end)

    def _touched(self, changes: Iterable[MemoryChange]
                 ) -> tuple[bool, bool, list[tuple[int, int]]]:
        """Whether ``changes`` touch the state block, the objects, and the heap ranges
        they touch."""
        state = objects = False
        heap = []
        for c in changes:
            lo, hi = c.address, c.address + len(c.new)
            state = state or (lo < self._state[1] and self._state[0] < hi)
            objects = objects or (lo < self._objects[1] and self._objects[0] < hi)
            if lo < self._heap[1] and self._heap[0] < hi:
                heap.append((lo, hi))
        return state, objects, heap

    def update(self, memory: Any, changes: Sequence[MemoryChange] | None = None
               ) -> tuple[tuple[FunctionRecord, ...], VmState]:
        """Return (functions, vm) as ``memory`` holds them now. ``changes``: the memory
        changes since the previous call (None: unknown, decode everything)."""
        if self.vm is None or changes is None:
            state, objects, heap = True, True, [self._heap]
        else:
            state, objects, heap = self._touched(changes)
        if state:
            vm = decode_vm(memory, self.layout)
            if vm != self.vm:
                self.vm = vm
        assert self.vm is not None
        L = self.layout
        count = max(0, min(self.vm.functions, L.max_funcs))
        if (objects or heap or count != len(self.functions)):
            raw = _bytes(memory, L.funcs_base, L.funcs_base + count * L.func_size)
            size, records = L.func_size, []
            for i in range(count):
                chunk = raw[i * size:(i + 1) * size]
                if i < len(self.functions) and chunk == self._raw[i * size:(i + 1) * size] \
                        and not _points_into(self.functions[i], heap):
                    records.append(self.functions[i])  # the same bytes: the same record
                    continue
                record = decode_function(memory, L, L.funcs_base + i * size)
                prev = self.functions[i] if i < len(self.functions) else None
                records.append(prev if prev == record else record)
            self._raw = raw
            now = tuple(records)
            if now != self.functions:
                self.functions = now
        return self.functions, self.vm

    def function(self, memory: Any, address: int) -> FunctionRecord:
        """One function object read from ``memory`` now, outside any step."""
        return decode_function(memory, self.layout, address)


def _points_into(f: FunctionRecord, ranges: list[tuple[int, int]]) -> bool:
    """Whether ``f``'s name or bytecode overlaps one of ``ranges``."""
    return any(lo < f.name_ptr + f.name_len and f.name_ptr < hi
               or lo < f.bytecode + f.length and f.bytecode < hi for lo, hi in ranges)


def with_records(trace: Trace) -> Trace:
    """``trace`` with each step's records decoded from its own memory (a trace saved before
    steps carried them). Memory is replayed from the recorded changes, as Trace.memory_at does."""
    reader = RecordReader(trace.layout)
    memory = bytearray()
    steps: list[Step] = []
    for step in trace.steps:
        size = step.memory_pages * 65536
        if len(memory) < size:
            memory.extend(bytes(size - len(memory)))
        for c in step.memory_changes:
            end = c.address + len(c.new)
            if len(memory) < end:
                memory.extend(bytes(end - len(memory)))
            memory[c.address:end] = c.new
        functions, vm = reader.update(memory, step.memory_changes if steps else None)
        steps.append(replace(step, functions=functions, vm=vm))
    return replace(trace, steps=tuple(steps))

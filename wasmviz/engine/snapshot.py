"""Reading the real state out of wasmtime: memory changes and table snapshots.

Memory is compared against a shadow copy with numpy, eight bytes at a time, because the recorder
runs at every note the main module sends: a Python loop over half a megabyte would make
recording the slowest part of the JIT. Only the changed words are then refined byte by byte.
"""

from __future__ import annotations

import ctypes
from typing import Callable, Iterable

import numpy as np
import wasmtime

from .trace import MemoryChange, Slot

_NO_WORDS = np.zeros(0, dtype=np.intp)

#: Changed runs closer than this many bytes are reported as one change (fewer, readable rows).
MERGE_GAP = 8

#: Splits ``[lo, hi)`` into labelled pieces ``(lo, hi, label, whole)``; the recorder reports each
#: piece separately, trimmed to its changed bytes unless ``whole`` (an i32 field reads better
#: as all four bytes than as the one byte that changed).
Labeller = Callable[[int, int], list[tuple[int, int, str, bool]]]


def live_memory(memory: wasmtime.Memory, store: wasmtime.Storelike) -> np.ndarray:
    """Return a numpy view (no copy) of ``memory``'s current bytes.

    The view is only valid until the memory grows or the store runs again, so callers use it
    at once and never keep it.
    """
    length = memory.data_len(store)
    ptr = memory.data_ptr(store)
    address = ctypes.cast(ptr, ctypes.c_void_p).value or 0
    buf = (ctypes.c_ubyte * length).from_address(address)
    return np.frombuffer(buf, dtype=np.uint8)


class MemoryWatcher:
    """Reports what changed in a memory since the previous call."""

    def __init__(self) -> None:
        self._shadow = np.zeros(0, dtype=np.uint8)
        self._neq = np.zeros(0, dtype=bool)  # reused comparison buffer

    def changes(self, live: np.ndarray, labeller: Labeller | None = None) -> list[MemoryChange]:
        """Return the changes from the shadow copy to ``live`` and update the shadow."""
        if live.size > self._shadow.size:
            grown = np.zeros(live.size, dtype=np.uint8)
            grown[: self._shadow.size] = self._shadow
            self._shadow = grown
        n8 = live.size // 8 * 8
        if self._neq.size != n8 // 8:
            self._neq = np.empty(n8 // 8, dtype=bool)
        np.not_equal(live[:n8].view(np.uint64), self._shadow[:n8].view(np.uint64), out=self._neq)
        words = np.flatnonzero(self._neq) if self._neq.any() else _NO_WORDS
        tail = [n8 + i for i in range(live.size - n8) if live[n8 + i] != self._shadow[n8 + i]]
        if words.size == 0 and not tail:
            return []
        out: list[MemoryChange] = []
        for lo, hi in _runs(words, tail):
            pieces = labeller(lo, hi) if labeller else [(lo, hi, "", False)]
            for plo, phi, label, whole in pieces:
                change = _trimmed(self._shadow, live, plo, phi, label, whole)
                if change is not None:
                    out.append(change)
            self._shadow[lo:hi] = live[lo:hi]
        return out


def _runs(words: np.ndarray, tail: list[int]) -> Iterable[tuple[int, int]]:
    """Group changed word indices into byte ranges, merging runs closer than MERGE_GAP."""
    starts: list[int] = []
    ends: list[int] = []
    if words.size:
        byte_lo = words * 8
        breaks = np.flatnonzero(np.diff(byte_lo) > 8 + MERGE_GAP)
        starts = [int(byte_lo[0])] + [int(byte_lo[b + 1]) for b in breaks]
        ends = [int(byte_lo[b]) + 8 for b in breaks] + [int(byte_lo[-1]) + 8]
    for t in tail:
        if ends and t - ends[-1] <= MERGE_GAP:
            ends[-1] = t + 1
        else:
            starts.append(t)
            ends.append(t + 1)
    return zip(starts, ends)


def _trimmed(old: np.ndarray, new: np.ndarray, lo: int, hi: int, label: str,
             whole: bool) -> MemoryChange | None:
    """Return the change in ``[lo, hi)`` (without unchanged edges unless ``whole``), or None."""
    diff = np.flatnonzero(old[lo:hi] != new[lo:hi])
    if diff.size == 0:
        return None
    a, b = (lo, hi) if whole else (lo + int(diff[0]), lo + int(diff[-1]) + 1)
    return MemoryChange(a, old[a:b].tobytes(), new[a:b].tobytes(), label)


def func_key(func: wasmtime.Func) -> tuple[int, int]:
    """Return an identity for a function that is equal for equal functions.

    ``Table.get`` returns a new ``Func`` wrapper each time, so ``is`` and ``==`` cannot tell
    that two reads are the same function; the store id and wasmtime's private index can.
    """
    raw = func._func
    return (int(raw.store_id), int(getattr(raw, "__private")))


class TableReader:
    """Snapshots a funcref table, naming each function through a registry of known functions."""

    def __init__(self) -> None:
        self._known: dict[tuple[int, int], tuple[str, str, int | None]] = {}
        self._last_keys: list[tuple[int, int] | None] | None = None
        self._last_slots: tuple[Slot, ...] = ()

    def register(self, func: wasmtime.Func, kind: str, name: str, module: int | None) -> None:
        """Remember that ``func`` is ``name`` of ``kind`` (main/generated) from ``module``."""
        self._known[func_key(func)] = (kind, name, module)
        self._last_keys = None  # a name may have changed

    def snapshot(self, table: wasmtime.Table, store: wasmtime.Storelike) -> tuple[Slot, ...]:
        """Return every slot of ``table`` as wasmtime holds it now."""
        keys = _raw_funcref_keys(table, store)
        if keys == self._last_keys:
            return self._last_slots  # unchanged: share the tuple (steps are immutable)
        slots = []
        for i, key in enumerate(keys):
            if key is None:
                slots.append(Slot(i, "null"))
                continue
            kind, name, module = self._known.get(key, ("unknown", "?", None))
            slots.append(Slot(i, kind, name, module))
        self._last_keys, self._last_slots = keys, tuple(slots)
        return self._last_slots


def _raw_funcref_keys(table: wasmtime.Table,
                      store: wasmtime.Storelike) -> list[tuple[int, int] | None]:
    """Return each slot's function identity (None for null), straight from wasmtime's C API.

    ``Table.get`` builds a Python ``Val`` and ``Func`` per slot; the recorder snapshots the
    whole table at every step, and that wrapping dominated the cost of recording. This is the
    same C call (``wasmtime_table_get``) into one reused struct, without the wrapping.
    """
    size = table.size(store)
    try:
        bindings = wasmtime._bindings  # noqa: SLF001 - see docstring
        get = bindings._wasmtime_table_get  # noqa: SLF001
        unroot = bindings.wasmtime_val_unroot
        raw = wasmtime._ffi.wasmtime_val_t()  # noqa: SLF001
        funcref = wasmtime._ffi.WASMTIME_FUNCREF.value  # noqa: SLF001
        context = store._context()  # noqa: SLF001
        handle = ctypes.byref(table._table)  # noqa: SLF001
    except AttributeError:  # a wasmtime-py without these internals: the public, slower path
        return [func_key(v) if isinstance(v := table.get(store, i), wasmtime.Func) else None
                for i in range(size)]
    raw_ref = ctypes.byref(raw)
    of = raw.of
    keys: list[tuple[int, int] | None] = []
    for i in range(size):
        if not get(context, handle, i, raw_ref):
            keys.append(None)
        elif raw.kind != funcref:
            unroot(raw_ref)
            keys.append(None)
        else:
            f = of.funcref
            keys.append((f.store_id, getattr(f, "__private")) if f.store_id else None)
    return keys

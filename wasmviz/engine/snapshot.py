"""Reading the real state out of wasmtime: memory changes and table snapshots.

The recorder runs at every note the main module sends, so finding what changed in memory must
cost little more than one comparison of the live memory with a shadow copy: the two are compared
in place (a memcmp, no copy), only the halves that differ are split further, down to the changed
eight-byte words, and those are trimmed to their changed bytes. No numpy: importing it took a
quarter of the app's start-up (issue 11), and memcmp is as fast as its vector compare.
"""

from __future__ import annotations

import ctypes
from typing import Any, Callable, Iterable

import wasmtime

from .trace import MemoryChange, Slot

#: Changed runs closer than this many bytes are reported as one change (fewer, readable rows).
MERGE_GAP = 8

#: From this many bytes down, a differing range is compared word by word, not halved again.
LEAF_BYTES = 128

#: Splits ``[lo, hi)`` into labelled pieces ``(lo, hi, label, whole)``; the recorder reports each
#: piece separately, trimmed to its changed bytes unless ``whole`` (an i32 field reads better
#: as all four bytes than as the one byte that changed).
Labeller = Callable[[int, int], list[tuple[int, int, str, bool]]]


class LiveMemory:
    """A no-copy view of a wasmtime memory's bytes: ``len``, slicing (a memoryview),
    ``size`` and ``tobytes``, as the recorder and the record decoder read it.

    It is only valid until the memory grows or the store runs again, so callers use it at once
    and never keep it.
    """

    __slots__ = ("view",)

    def __init__(self, view: memoryview) -> None:
        self.view = view

    @property
    def size(self) -> int:
        return self.view.nbytes

    def __len__(self) -> int:
        return self.view.nbytes

    def __getitem__(self, key: Any) -> Any:
        return self.view[key]

    def __bytes__(self) -> bytes:
        return self.view.tobytes()

    def tobytes(self) -> bytes:
        return self.view.tobytes()


def live_memory(memory: wasmtime.Memory, store: wasmtime.Storelike) -> LiveMemory:
    """Return a view (no copy) of ``memory``'s current bytes."""
    length = memory.data_len(store)
    ptr = memory.data_ptr(store)
    address = ctypes.cast(ptr, ctypes.c_void_p).value or 0
    if length == 0 or not address:
        return LiveMemory(memoryview(b""))
    buf = (ctypes.c_ubyte * length).from_address(address)
    return LiveMemory(memoryview(buf).cast("B"))


class MemoryWatcher:
    """Reports what changed in a memory since the previous call."""

    def __init__(self) -> None:
        self._shadow = bytearray()

    def changes(self, live: Any, labeller: Labeller | None = None) -> list[MemoryChange]:
        """Return the changes from the shadow copy to ``live`` and update the shadow.

        ``live``: a LiveMemory or any buffer of bytes (a bytearray, a numpy array of uint8)."""
        view = live.view if isinstance(live, LiveMemory) else memoryview(live).cast("B")
        shadow = self._shadow
        if len(view) > len(shadow):
            shadow.extend(bytes(len(view) - len(shadow)))
        same = _Same(shadow, view)
        if same(0, len(view)):
            return []
        n8 = len(view) // 8 * 8
        words: list[int] = []
        _changed_words(same, 0, n8, words)
        tail = [i for i in range(n8, len(view)) if view[i] != shadow[i]]
        out: list[MemoryChange] = []
        for lo, hi in _runs(words, tail):
            pieces = labeller(lo, hi) if labeller else [(lo, hi, "", False)]
            for plo, phi, label, whole in pieces:
                change = _trimmed(same, plo, phi, label, whole)
                if change is not None:
                    out.append(change)
            shadow[lo:hi] = view[lo:hi]
        return out


class _Same:
    """``same(lo, hi)``: whether the shadow and the live bytes agree on [lo, hi).

    ``bytearray.startswith`` with a memoryview slice is a memcmp of the two buffers in place:
    neither side is copied, which matters for a memory of many megabytes."""

    __slots__ = ("shadow", "view")

    def __init__(self, shadow: bytearray, view: memoryview) -> None:
        self.shadow, self.view = shadow, view

    def __call__(self, lo: int, hi: int) -> bool:
        return self.shadow.startswith(self.view[lo:hi], lo)


def _changed_words(same: _Same, lo: int, hi: int, out: list[int]) -> None:
    """Append to ``out``, in order, the index of each 8-byte word that differs in [lo, hi).

    ``lo`` and ``hi`` are multiples of 8; an equal half is skipped with one memcmp."""
    if same(lo, hi):
        return
    if hi - lo <= LEAF_BYTES:
        out.extend(w // 8 for w in range(lo, hi, 8) if not same(w, w + 8))
        return
    mid = (lo + hi) // 16 * 8
    _changed_words(same, lo, mid, out)
    _changed_words(same, mid, hi, out)


def _runs(words: list[int], tail: list[int]) -> Iterable[tuple[int, int]]:
    """Group changed word indices into byte ranges, merging runs closer than MERGE_GAP."""
    starts: list[int] = []
    ends: list[int] = []
    if words:
        byte_lo = [w * 8 for w in words]
        breaks = [i for i in range(len(byte_lo) - 1)
                  if byte_lo[i + 1] - byte_lo[i] > 8 + MERGE_GAP]
        starts = [byte_lo[0]] + [byte_lo[b + 1] for b in breaks]
        ends = [byte_lo[b] + 8 for b in breaks] + [byte_lo[-1] + 8]
    for t in tail:
        if ends and t - ends[-1] <= MERGE_GAP:
            ends[-1] = t + 1
        else:
            starts.append(t)
            ends.append(t + 1)
    return zip(starts, ends)


def _trimmed(same: _Same, lo: int, hi: int, label: str, whole: bool) -> MemoryChange | None:
    """Return the change in ``[lo, hi)`` (without unchanged edges unless ``whole``), or None."""
    if same(lo, hi):
        return None
    if whole:
        a, b = lo, hi
    else:
        # Binary searches on prefix and suffix equality: a long changed range costs a few
        # memcmps, not a Python loop over its bytes.
        a_ok, a_bad = lo, hi      # [lo, a_ok) agrees; [lo, a_bad) does not
        while a_bad - a_ok > 1:
            mid = (a_ok + a_bad) // 2
            a_ok, a_bad = (mid, a_bad) if same(lo, mid) else (a_ok, mid)
        b_ok, b_bad = hi, lo      # [b_ok, hi) agrees; [b_bad, hi) does not
        while b_ok - b_bad > 1:
            mid = (b_ok + b_bad) // 2
            b_ok, b_bad = (mid, b_bad) if same(mid, hi) else (b_ok, mid)
        a, b = a_ok, b_ok
    return MemoryChange(a, bytes(same.shadow[a:b]), same.view[a:b].tobytes(), label)


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

"""What linking a foreign module changed, read from main's table and memory themselves.

A module from elsewhere may send no notes at all, so the host snapshots the table (each slot's
function identity), all of main memory and the notes so far before each link stage
(instantiation, then each link export) and records the difference as an "effect" step, with
labels for the memory it wrote. It also names the functions the module put in the table
without exporting them (a toolchain's JIT module exports nothing). A mixin of ForeignMachine
(foreign_machine.py), whose state it reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import wasmtime

from .foreign_captions import captions
from .snapshot import MemoryWatcher, func_key

if TYPE_CHECKING:
    from .events import Listener
    from .labels import MemoryLabels
    from .machine import FunctionInfo


class ForeignEffects:
    """ForeignMachine's snapshots, effect steps and names for unexported functions."""

    # Machine and ForeignMachine set these.
    store: wasmtime.Store
    table: wasmtime.Table
    memory: wasmtime.Memory
    recorder: Listener | None
    functions: dict[str, FunctionInfo]
    unexported: list[str]
    _labels: MemoryLabels
    _patch_notes: int
    _named_now: list[dict[str, Any]]

    if TYPE_CHECKING:  # Machine's and ForeignMachine's own methods
        def read_i32(self, address: int, store: wasmtime.Storelike | None = None) -> int: ...

        def _note_step(self, phase: str, kind: str, caption: str, **kw: Any) -> None: ...

    # ---------------------------------------------------------------- what it changed
    def _snapshot(self) -> tuple[tuple[Any, ...], bytes, int]:
        """The table (each slot's function identity), all of main memory and the notes the
        module has sent, now."""
        slots = tuple(func_key(f) if isinstance(f := self.table.get(self.store, i),
                                                wasmtime.Func) else None
                      for i in range(self.table.size(self.store)))
        memory = bytes(self.memory.read(self.store, 0, self.memory.data_len(self.store)))
        return slots, memory, self._patch_notes

    def _effect(self, number: int, stage: str,
                before: tuple[tuple[Any, ...], bytes, int]) -> None:
        """Record what ``stage`` (instantiation, patch, ...) changed in the table and memory,
        diffed from snapshots, so a module that sends no notes is seen all the same."""
        if self.recorder is None:
            return
        slots_before, mem_before, notes_before = before
        slots_after, mem_after, notes = self._snapshot()
        table = self.recorder.tables.snapshot(self.table, self.store)  # type: ignore[attr-defined]
        changed = [i for i in range(len(slots_after))
                   if i >= len(slots_before) or slots_before[i] != slots_after[i]]
        slots = [{"slot": i, "label": table[i].label if i < len(table) else "?"}
                 for i in changed]
        # The same diff as every step's (snapshot.MemoryWatcher), from the memory before.
        watcher = MemoryWatcher()
        watcher.changes(mem_before)
        memory: list[dict[str, Any]] = []
        for change in watcher.changes(mem_after, self._labels):
            whole = self._labels.field_at(change.address, change.address + 1)[2]
            memory.append({"address": change.address, "length": len(change.new),
                           "label": change.label,   # an i32 field (a code slot) gets its value
                           "value": int.from_bytes(change.new, "little", signed=True)
                           if whole else None})
        detail = {"module": number, "stage": stage, "table_before": len(slots_before),
                  "table_after": len(slots_after), "slots": slots, "memory": memory[:64],
                  "memory_changes": len(memory), "pages_before": len(mem_before) // 65536,
                  "pages_after": len(mem_after) // 65536, "notes": notes - notes_before,
                  "named": self._named_now}
        self._named_now = []
        phase = "link" if stage == "instantiation" else "patch"
        self._note_step(phase, "effect", captions.effect(number, stage, detail), detail=detail,
                        table=table)

    def _name_unexported(self, number: int, instance: wasmtime.Instance) -> None:
        """Name this module's functions in the table that it does not export (a toolchain's
        JIT module exports nothing): after the function object whose code slot reaches the
        slot, if one does, else ``func@slot``. Exports are named by the recorder."""
        rec = self.recorder
        if rec is None:
            return
        tables = rec.tables  # type: ignore[attr-defined]
        table = tables.snapshot(self.table, self.store)
        reached = {}
        for info in self.functions.values():
            reached.setdefault(self.read_i32(info.obj), info.name)
        for slot in table:
            # Unknown, or named func@N here before a relocation made it some object's code.
            if slot.kind == "unknown" or (slot.module == number and slot.function
                                          and slot.function.startswith("func@")):
                func = self.table.get(self.store, slot.index)
                name = reached.get(slot.index, f"func@{slot.index}")
                if isinstance(func, wasmtime.Func) and name != slot.function:
                    tables.register(func, "generated", name, number)
                    self.unexported.append(name)
                    self._named_now.append({"slot": slot.index, "label": f"m{number}.{name}",
                                            "reached_by": name if "@" not in name else None})

"""The life of generated code, for the recorder: freed slots, reused slots, live instances.

Main frees a function's table slot when the host redefines the function (note FREE, main.wat
section 13) and its JIT takes freed slots before it grows the table (note REUSE). Neither
frees any code: a wasm store keeps every instance it made until the store is dropped, so the
recorder also keeps, per step, the instances the store holds and which of their functions the
table still references (Step.instances). Kept apart from recorder.py, which turns the other
events into steps; LifeSteps is a mixin like call_steps.CallSteps, so its state lives on the
one Recorder (set up by ``_init_life``) and its captions are written here, from the records.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, Sequence

import wasmtime

from .slots import slot_label
from .trace import InstanceRecord, Slot, instances_in

if TYPE_CHECKING:
    from .machine import Machine
    from .records import Now
    from .snapshot import TableReader
    from .trace import Step

#: main's own note kinds for the slot allocator (docs/abi.md).
FREE, REUSE = 11, 12

#: The size of wasmtime's compiled code for the main module, which every Machine shares:
#: serialised once per process.
_MAIN_CODE_BYTES: dict[int, int] = {}


def code_bytes(module: wasmtime.Module, shared: bool = False) -> int:
    """The bytes of wasmtime's compiled artifact for ``module`` (``Module.serialize()``):
    the machine code and metadata an instance keeps alive. ``shared``: the process-wide
    main module, measured once."""
    serialize = getattr(module, "serialize", None)
    if serialize is None:  # not a wasmtime module (another engine's stand-in): not known
        return 0
    if not shared:
        return len(serialize())
    key = id(module)
    if key not in _MAIN_CODE_BYTES:
        _MAIN_CODE_BYTES[key] = len(serialize())
    return _MAIN_CODE_BYTES[key]


class LifeSteps:
    """Recorder's steps for freed and reused slots, and its record of live instances."""

    machine: Machine
    tables: TableReader
    _table: tuple[Slot, ...]
    _style: str

    if TYPE_CHECKING:  # Recorder's own methods
        def now(self, store: wasmtime.Storelike) -> Now: ...

        def record(self, store: wasmtime.Storelike, phase: str, kind: str, caption: str,
                   **kw: Any) -> Step: ...

    def _init_life(self) -> None:
        #: [module, functions, code bytes, linked] of each instance the store holds, in the
        #: order they were made; main is module 0.
        self._made: list[tuple[int, tuple[str, ...], int, bool]] = []
        self._made_version = 0                  # bumped whenever _made changes
        self._code: dict[int, int] = {}         # module number -> compiled code bytes
        self._held_before: dict[int, str] = {}  # freed slot -> what it held until freed
        self._alive: tuple[InstanceRecord, ...] = ()
        self._alive_key: tuple[tuple[Slot, ...], int] | None = None

    # ------------------------------------------------------------------ instances
    def _keeps(self) -> bool:
        """Whether the machine's store keeps every instance until it is dropped (wasmtime's
        does: Machine.KEEPS_INSTANCES). Another engine's machine that does not say so gets no
        instance list, rather than a claim that may be false (V8 collects garbage)."""
        m = self.machine
        return bool(getattr(m, "KEEPS_INSTANCES", False)) and \
            isinstance(getattr(m, "store", None), wasmtime.Store)

    def _instance_made(self, module: int, functions: Sequence[str], size: int) -> None:
        """The store now holds one more instance, of ``module`` (0: main)."""
        if not self._keeps():
            return
        self._made.append((module, tuple(functions), size, True))
        self._made_version += 1

    def _instance_failed(self, module: int, functions: Sequence[str], size: int) -> None:
        """Module ``module``'s instantiation trapped after wasmtime had made the instance: the
        store keeps it, failed. (Its start function may already have been seen running.)"""
        if not self._keeps():
            return
        last = self._made[-1] if self._made else None
        if last is not None and last[0] == module and module != 0 and last[3]:
            self._made[-1] = (module, last[1], last[2], False)
        else:
            self._made.append((module, tuple(functions), size, False))
        self._made_version += 1

    def _has_instance(self, module: int) -> bool:
        return bool(self._made) and self._made[-1][0] == module and self._made[-1][3]

    def _instances(self, table: tuple[Slot, ...]) -> tuple[InstanceRecord, ...]:
        """Step.instances for a step holding ``table``: shared while nothing changed."""
        if self._alive_key is not None and self._alive_key[0] is table \
                and self._alive_key[1] == self._made_version:
            return self._alive
        now = instances_in(tuple(InstanceRecord(number, fns, (), size, linked)
                                 for number, fns, size, linked in self._made), table)
        if now != self._alive:
            self._alive = now
        self._alive_key = (table, self._made_version)
        return self._alive

    # ------------------------------------------------------------------ notes
    def free_list(self, store: wasmtime.Storelike) -> list[int]:
        """The slots on main's free list now, bottom first (FREE_BASE, state.free_len)."""
        m = self.machine
        n = max(0, min(m.read_i32(m.layout.state_field("free_len"), store), m.layout.max_free))
        return [m.read_i32(m.layout.free_base + 4 * i, store) for i in range(n)]

    def _record_free(self, store: wasmtime.Caller, slot: int, obj: int) -> None:
        """main set ``slot`` to null and put it on its free list: ``obj``'s old code was
        there (it is redefined, or it calls a redefined batch-mate directly)."""
        m = self.machine
        held = slot_label(self._table, slot)  # the last step's table: before the free
        self._held_before[slot] = held
        now = self.now(store)
        table = self.tables.snapshot(m.table, store)
        name = now.name(obj)
        redefined = m.redefining.name if m.redefining is not None else None
        module = self._table[slot].module if 0 <= slot < len(self._table) else None
        free = self.free_list(store)
        alive = self._keeps() and any(number == module for number, *_ in self._made)
        detail = {"slot": slot, "label": slot_label(table, slot), "held": held, "by": "main",
                  "function": name, "object": obj, "redefined": redefined,
                  "why": "redefined" if name == redefined else "calls-redefined",
                  "free_list": free, "module": module, "module_alive": alive,
                  "instances": len(self._made)}
        self.record(store, "setup", "table.set", free_caption(detail), table=table, now=now,
                    detail=detail)

    def _record_reuse(self, store: wasmtime.Caller, slot: int, obj: int) -> None:
        """main took ``slot`` off its free list for batch member ``obj``."""
        now = self.now(store)
        name = now.name(obj)
        pic = self._style == "pic"
        detail = {"slot": slot, "function": name, "object": obj, "by": "main",
                  "held": self._held_before.get(slot), "free_list": self.free_list(store),
                  "style": self._style}
        self.record(store, "link" if pic else "generate", "reuse",
                    reuse_caption(detail, pic), now=now, detail=detail)


    def record_store(self, store: wasmtime.Storelike, measured: int) -> Step:
        """A last step: what the store holds when the run is over, ``measured`` by wasmtime
        (Machine.measure_instances) beside the instances the steps list."""
        step = self.record(store, "call", "store", "", detail={})
        if step.kind != "store":  # the trace was capped: its last step stays as it is
            return step
        alive = step.instances
        unused = [i for i in alive if not i.in_table]
        detail = {"instances": measured, "counted": len(alive),
                  "in_table": [i.name for i in alive if i.in_table],
                  "unreferenced": [i.name for i in unused],
                  "unreferenced_code_bytes": sum(i.code_bytes for i in unused),
                  "code_bytes": sum(i.code_bytes for i in alive)}
        last = replace(step, caption=store_caption(detail), detail=detail)
        self.steps[-1] = last  # type: ignore[attr-defined]
        return last


def store_caption(d: dict[str, Any]) -> str:
    """The caption of the last step of a run with redefinitions (``d``: its detail)."""
    n, unused = d["instances"], d["unreferenced"]
    head = (f"The run is over. wasmtime's store holds {n} instance(s), measured with the "
            f"store's own instance limit: at {n} it refuses one more instance, at {n + 1} it "
            f"admits it.")
    if not unused:
        return head + " The table still references a function of each."
    return (head + f" No table slot references {', '.join(unused)} any more, yet "
            f"{'it stays' if len(unused) == 1 else 'they stay'}, with "
            f"{d['unreferenced_code_bytes']:,} bytes of compiled code: a store frees an "
            f"instance only when the store itself is dropped.")


def free_caption(d: dict[str, Any]) -> str:
    """The caption of main's table.set to null (``d``: the step's detail)."""
    slot, held, name = d["slot"], d["held"], d["function"]
    free = d["free_list"]
    listed = (f"puts slot {slot} on its free list ({len(free)} free)" if slot in free else
              f"cannot list slot {slot}: its free list is full")
    if d["why"] == "redefined":
        head = (f"{name} is redefined. The main module sets table slot {slot} to null (it "
                f"held {held}, {name}'s old code) and {listed}. {name}'s code slot is 0 again: "
                f"its next calls are interpreted, with the new body.")
    else:
        head = (f"{name} was compiled in the same module as {d['redefined']} and calls it with "
                f"a plain call, which would still reach the old code. So main retires {name} "
                f"too: slot {slot} (it held {held}) is set to null and {listed}.")
    alive = (f" Module {d['module']}'s instance is not freed: the store keeps it, and "
             f"{d['instances']} instance(s) in all." if d.get("module_alive") else "")
    return head + alive


def reuse_caption(d: dict[str, Any], pic: bool) -> str:
    """The caption of main taking a free slot (``d``: the step's detail)."""
    slot, name = d["slot"], d["function"]
    was = f" (it held {d['held']} until it was freed)" if d.get("held") else ""
    if pic:
        return (f"Main, the loader, reserves slot {slot}{was} for {name} by taking it off its "
                f"free list instead of growing the table. __table_base will say so; the module "
                f"is position-independent and needs no change.")
    return (f"Slot {slot} is on main's free list{was}: the JIT takes it for {name} instead of "
            f"growing the table, and writes {slot} into the module's link code as a constant.")

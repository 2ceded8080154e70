"""The call half of the recorder: the steps of one top-level call, from invoke to its result.

A call is the one event that spans several notes: on_call_begin remembers the function, its
arguments and its call count; main's FLUSH and CALL notes, and each CALLBACK from JIT code into
the interpreter, add steps; on_call_end decides how the call ran (interpreted, tiered up, through
a bad slot) from that evidence and the records. Kept apart from recorder.py because this is
where the per-call state and the evidence rules live, while recorder.py turns single events
into single steps. CallSteps is a mixin: Recorder inherits it, so every name here is still a
Recorder method and all the state stays on the one Recorder object (set in Recorder.__init__).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import wasmtime

from .records import RecordReader
from .slots import compiled_callers, route, signature_mismatch, slot_label, slot_problem
from .snapshot import live_memory
from .trace import Edge, Slot

if TYPE_CHECKING:
    from .captions import Captions
    from .machine import FunctionInfo, Machine
    from .records import Now
    from .snapshot import TableReader
    from .trace import Step, TrapInfo


class CallSteps:
    """Recorder's handling of top-level calls (mixed into Recorder, which sets the state)."""

    # Recorder.__init__ sets these; its comments there say what each holds.
    machine: Machine
    tables: TableReader
    captions: Captions
    callback_budget: int
    _reader: RecordReader | None
    _call: tuple[FunctionInfo, list[int]] | None
    _calls_before: int
    _entry_slot: int | None
    _entry_via: str
    _fuel_before: int
    _flushed: bool
    _call_edges: tuple[Edge, ...]
    _callbacks: int

    if TYPE_CHECKING:  # Recorder's own methods, which the call steps use
        def now(self, store: wasmtime.Storelike) -> Now: ...

        def record(self, store: wasmtime.Storelike, phase: str, kind: str, caption: str,
                   **kw: Any) -> Step: ...

        def _queued_names(self, store: wasmtime.Storelike, count: int,
                          now: Now) -> list[str]: ...

    def on_call_begin(self, store: wasmtime.Store, f: FunctionInfo, args: list[int]) -> None:
        """The host is about to call main's invoke for ``f``: remember the call and f's call
        count. No step yet: main notes the call itself once it has read the code slot."""
        m = self.machine
        self._call = (f, args)
        if self._reader is None:
            self._reader = RecordReader(m.layout)
        self._calls_before = self._reader.function(live_memory(m.memory, store), f.obj).calls
        self._fuel_before = self.machine.fuel_used
        self._entry_slot, self._flushed = None, False
        self._call_edges, self._callbacks = (), 0

    def _record_flush(self, store: wasmtime.Caller, obj: int, queued: int) -> None:
        """invoke found hot functions queued (and the JIT on): it flushes before the call."""
        now = self.now(store)
        args = self._call[1] if self._call and self._call[0].obj == obj else []
        name = now.name(obj)
        names = self._queued_names(store, queued, now)
        self._flushed = True
        self.record(store, "call", "flush", self.captions.flush(name, args, names), now=now,
                    detail={"function": name, "args": args, "object": obj,
                            "queue_len": queued, "queued": names})

    def _record_call(self, store: wasmtime.Caller, obj: int, slot: int) -> None:
        """invoke read ``obj``'s code slot, ``slot``, after any flush: the call starts here."""
        m = self.machine
        now = self.now(store)
        args = self._call[1] if self._call and self._call[0].obj == obj else []
        f = now.function(obj)
        name = now.name(obj)
        table = self.tables.snapshot(m.table, store)
        target, edges = self._call_path(store, slot, table)
        problem = slot_problem(m, store, f, slot, table) if f and slot else None
        self._entry_slot, self._call_edges, self._callbacks = slot, edges, 0
        self._entry_via = route(slot, table)
        state_name = f.state_name if f else "cold"
        self.record(store, "call", "call",
                    self.captions.call(name, args, slot, target, problem, self._flushed,
                                       state_name),
                    table=table, edges=edges, now=now,
                    detail={"function": name, "args": args, "object": obj, "slot": slot,
                            "via": "jit" if slot else "interpreter",
                            "reaches": self._entry_via, "holds": slot_label(table, slot),
                            "problem": problem, "flushed": self._flushed,
                            "state": state_name})

    def on_call_end(self, store: wasmtime.Store, info: FunctionInfo, args: list[int],
                    value: int | None, trap: TrapInfo | None) -> None:
        m = self.machine
        now = self.now(store)
        f = now.function(info.obj)
        assert f is not None, f"no function object at {info.obj:#x}"
        slot, calls = f.code_slot, f.calls
        table = self.tables.snapshot(m.table, store)
        target, edges = self._call_path(store, slot, table)
        # main counted every callback down from the budget the host gave it (see $entered).
        callbacks = self.callback_budget - now.vm.callback_notes
        entry = self._entry_slot
        interpreted = calls - self._calls_before
        # How the call ran, decided from evidence only: the slot invoke used (main's CALL
        # note), and the interpreter's count of f's entries during the call.
        if entry is None:
            tier = "none"
        elif entry == 0:
            # A tier-up only if the slot it got now holds f's own JIT code, of the right type
            # (not null, not past the end, not another function).
            ok = slot != 0 and slot_problem(m, store, f, slot, table) is None
            tier = "tiered-up" if ok else "interpreted"
        else:
            tier = self._entry_via  # jit, or where a bad slot went: null, out-of-bounds, main
        detail: dict[str, Any] = {
            "function": f.name, "args": args, "object": f.address, "slot": slot, "calls": calls,
            "calls_before": self._calls_before, "interpreted": interpreted,
            "entry_slot": entry, "tier": tier,
            "table_size": len(table), "via": "jit" if slot else "interpreter",
            "reaches": route(slot, table), "holds": slot_label(table, slot),
            "callbacks": callbacks, "callbacks_shown": self._callbacks,
            # The whole top-level operation, invoke's flush included (the call step itself is
            # noted inside invoke, a few instructions after the host called it).
            "fuel_spent": m.fuel_used - self._fuel_before}
        self._call = None
        if trap is not None:
            why = None
            if trap.code == "BAD_SIGNATURE":
                mismatch = signature_mismatch(m, store, f, table, now.functions)
                detail.update(mismatch)
                if mismatch:
                    why = self.captions.bad_signature(**mismatch)
            elif trap.code == "OUT_OF_FUEL":
                why = self.captions.out_of_fuel(m.fuel_budget, entry is None and self._flushed)
                detail["fuel_budget"] = m.fuel_budget
            self.record(store, "call", "trap",
                        self.captions.trap(f.name, args, trap.code, trap.message, why)
                        + self.captions.callbacks(callbacks, self._callbacks),
                        trap=trap, edges=edges, detail=detail, table=table, now=now)
        else:
            entry_target = target if entry == slot else slot_label(table, entry or 0)
            problem = (slot_problem(m, store, f, slot, table) if entry == 0 and slot
                       else None)
            how = self.captions.how(f.name, entry, slot, interpreted,
                                    target if tier == "tiered-up" else entry_target, problem)
            self.record(store, "call", "result",
                        self.captions.result(f.name, args, value or 0, how)
                        + self.captions.callbacks(callbacks, self._callbacks),
                        result=value, edges=edges, detail=detail, table=table, now=now)

    def _call_path(self, store: wasmtime.Storelike, slot: int,
                   table: tuple[Slot, ...]) -> tuple[str, tuple[Edge, ...]]:
        if slot == 0:
            return "interpreter", (Edge("main", "main.interpreter", "call"),)
        target = slot_label(table, slot)
        return target, (Edge("main", f"slot {slot}", "call"), Edge(f"slot {slot}", target, "call"))

    def _record_callback(self, store: wasmtime.Caller, obj: int, slot: int) -> None:
        """JIT code called ``obj`` through interpreter entry ``slot``: main noted it from inside
        the entry, with the arguments already on the interpreter's stack."""
        m = self.machine
        now = self.now(store)
        f = now.function(obj)
        assert f is not None, f"no function object at {obj:#x}"
        table = self.tables.snapshot(m.table, store)
        entry = table[slot].label if 0 <= slot < len(table) else "out of bounds"
        # The arguments are on the interpreter's stack, not in the object: read them there.
        frame = int(m.vsp.value(store))  # type: ignore[call-overload]
        args = [m.read_i32(frame + 4 * i, store) for i in range(max(0, f.params))]
        callers = compiled_callers(obj, table, now.functions)
        self._callbacks += 1
        detail = {"function": f.name, "object": obj, "slot": slot, "entry": entry,
                  "args": args, "frame": frame, "code_slot": f.code_slot,
                  "state": f.state_name, "calls": f.calls, "callers": callers,
                  "nth": self._callbacks, "budget": self.callback_budget}
        caller = callers[0] if len(callers) == 1 else "JIT code"
        self.record(store, "call", "callback", self.captions.callback(detail), table=table,
                    now=now,
                    detail=detail, edges=self._call_edges + (
                        Edge(caller, f"slot {slot}", "callback"),
                        Edge(f"slot {slot}", "main.interpreter", "callback")))

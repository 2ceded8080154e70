"""The recorder: turns host-visible events into trace steps holding the real state.

Each event (a note from the main module or from a generated `patch`, or a host action such as
compiling) becomes a step with the whole table as wasmtime holds it and the memory changes since
the previous step, read from the live memory at that instant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import wasmtime

from . import bytecode
from .captions import SECTION_NAMES, Captions, type_text
from .layout import FUNC_FIELDS, FUNC_STATES, STATE_FIELDS
from .snapshot import MemoryWatcher, TableReader, live_memory
from .trace import Edge, ModuleInfo, Section, Slot, Step, Trace, TrapInfo

if TYPE_CHECKING:
    from .machine import FunctionInfo, Machine

# Note kinds (docs/abi.md).
JIT_BEGIN, SECTION, JIT_END, HOT, JIT_DONE, HEADER, CALLBACK = 1, 2, 3, 4, 5, 6, 7
GROW, SET, RELOC = 16, 17, 18

#: Callbacks from JIT code into the interpreter recorded as steps per top-level call. A
#: recursive or looping caller can call back thousands of times; the rest are only counted
#: (by main, see $entered) and the call's result step says how many were not shown.
CALLBACK_STEPS = 5

PAGE = 65536


class Recorder:
    """Collects the steps of one Machine's run."""

    def __init__(self, machine: Machine) -> None:
        self.machine = machine
        self.tables = TableReader()
        self.memory = MemoryWatcher()
        self.captions = Captions()
        self.steps: list[Step] = []
        self.edges: list[Edge] = []
        self._module_start = 0
        self._sections: list[Section] = []
        self._batch: list[str] = []
        self._modules: dict[int, ModuleInfo] = {}
        self._imports: dict[int, list[str]] = {}  # each compiled module's real imports
        self._call_slot = 0  # the code slot when the current top-level call began
        #: The budget of CALLBACK notes the host gives main for each top-level call.
        self.callback_budget = CALLBACK_STEPS
        self._call_edges: tuple[Edge, ...] = ()  # the current top-level call's path
        self._callbacks = 0                      # CALLBACK notes so far in that call

    # ------------------------------------------------------------------ core
    def record(self, store: wasmtime.Storelike, phase: str, kind: str, caption: str,
               *, module: ModuleInfo | None = None, result: int | None = None,
               trap: TrapInfo | None = None, error: str | None = None,
               detail: Mapping[str, Any] | None = None, edges: tuple[Edge, ...] = (),
               table: tuple[Slot, ...] | None = None) -> Step:
        """Read the table and memory now and append a step; return it.

        ``table`` is a snapshot the caller has just read at this same instant, if any.
        """
        m = self.machine
        live = live_memory(m.memory, store)
        changes = self.memory.changes(live, self._label)
        fuel = m.fuel_used
        if m.op_active:
            fuel += m.fuel_budget - wasmtime.Store.get_fuel(store)  # type: ignore[arg-type]
        step = Step(index=len(self.steps), phase=phase, kind=kind, caption=caption,
                    table=table if table is not None else self.tables.snapshot(m.table, store),
                    memory_pages=live.size // PAGE, memory_changes=tuple(changes),
                    module=module, edges=tuple(self.edges) + edges, result=result, trap=trap,
                    error=error, fuel_used=fuel, detail=dict(detail or {}))
        self.steps.append(step)
        return step

    def trace(self, result: int | None = None, trap: TrapInfo | None = None) -> Trace:
        """Return the steps so far as a Trace, with the memory map main exported."""
        return Trace(tuple(self.steps), result, trap, self.machine.layout)

    # ------------------------------------------------------------------ notes
    def on_note(self, store: wasmtime.Caller, kind: int, a: int, b: int) -> None:
        """Record the event the main module or a generated patch just announced."""
        m, c = self.machine, self.captions
        if kind == JIT_BEGIN:
            self._batch = self._queued_names(store, a)
            self._sections = []
            self.record(store, "generate", "begin", c.jit_begin(self._batch, b),
                        detail={"functions": list(self._batch), "address": b})
        elif kind == HEADER:
            self._module_start = a
            self._sections = [Section(0, "header", 0, b - a)]
            self.record(store, "generate", "header", c.header(a),
                        detail={"start": a, "end": b, "section": "header"})
        elif kind == SECTION:
            start = self._sections[-1].end if self._sections else 0
            end = b - self._module_start
            name = SECTION_NAMES.get(a, f"#{a}")
            self._sections.append(Section(a, name, start, end))
            self.record(store, "generate", "section", c.section(a, end - start),
                        detail={"section": name, "id": a, "start": start + self._module_start,
                                "end": b})
        elif kind == JIT_END:
            data = bytes(m.memory.read(store, a, a + b))
            info = ModuleInfo(len(m.modules) + 1, a, data, tuple(self._sections),
                              tuple(self._batch))
            self.record(store, "generate", "complete", c.jit_end(b, a), module=info,
                        detail={"address": a, "length": b})
        elif kind == HOT:
            f = m.function_at(a)
            name = f.name if f else f"object@{a:#x}"
            self.record(store, "call", "tier-up", c.hot(name, b),
                        detail={"function": name, "calls": b, "object": a})
        elif kind == CALLBACK:
            self._record_callback(store, a, b)
        elif kind == JIT_DONE:
            self.record(store, "patch", "jit-done", c.jit_done(a, b),
                        detail={"status": a, "functions": b})
        elif kind == GROW:
            self.record(store, "patch", "table.grow", c.grow(a, b),
                        detail={"base": a, "delta": b})
        elif kind == SET:
            table = self.tables.snapshot(m.table, store)
            label = table[a].label if a < len(table) else "?"
            self.record(store, "patch", "table.set", c.table_set(a, label), table=table,
                        detail={"slot": a, "label": label, "object": b})
        elif kind == RELOC:
            f = m.function_at(a)
            name = f.name if f else f"object@{a:#x}"
            self.record(store, "patch", "relocation", c.relocation(a, b, name),
                        detail={"address": a, "value": b, "function": name,
                                "field": f"{name}.code_slot"})
        else:
            self.record(store, "call", "note", f"The main module sent note {kind}({a}, {b}).",
                        detail={"kind": kind, "a": a, "b": b})

    def _queued_names(self, store: wasmtime.Storelike, count: int) -> list[str]:
        m = self.machine
        names = []
        for i in range(count):
            obj = m.read_i32(m.layout.queue_base + 4 * i, store)
            f = m.function_at(obj)
            names.append(f.name if f else f"object@{obj:#x}")
        return names

    # ------------------------------------------------------------------ host actions
    def record_invalid(self, store: wasmtime.Caller, number: int, ptr: int, data: bytes,
                       exc: Exception) -> None:
        message = _validation_message(exc)
        info = ModuleInfo(number, ptr, data, tuple(self._sections), tuple(self._batch))
        self.record(store, "compile", "invalid", self.captions.invalid(number, message),
                    module=info, error=message, detail={"module": number})

    def record_compiled(self, store: wasmtime.Caller, number: int, ptr: int, data: bytes,
                        module: wasmtime.Module) -> None:
        info = ModuleInfo(number, ptr, data, tuple(self._sections), tuple(self._batch))
        self._modules[number] = info
        imports = [f"{i.module}.{i.name}" for i in module.imports]
        self._imports[number] = imports
        exports = [e.name for e in module.exports]
        self.record(store, "compile", "compiled",
                    self.captions.compiled(number, len(data), self._batch), module=info,
                    detail={"module": number, "imports": imports, "exports": exports})

    def record_link_error(self, store: wasmtime.Caller, number: int, exc: Exception) -> None:
        message = _validation_message(exc)
        self.record(store, "link", "link-error", self.captions.link_error(number, message),
                    module=self._modules.get(number), error=message, detail={"module": number})

    def record_linked(self, store: wasmtime.Caller, number: int,
                      exports: tuple[str, ...] = ()) -> None:
        src = f"m{number}"
        # What wasmtime says the module imports, as it linked them (host.note, main.table,
        # main.memory for every module the JIT writes today).
        self.edges += [Edge(src, name, "import") for name in self._imports.get(number, ())]
        self.edges += [Edge(src, f"{src}.{name}", "export") for name in exports]
        self.record(store, "link", "linked", self.captions.linked(number),
                    module=self._modules.get(number), detail={"module": number},
                    edges=(Edge("host", f"{src}.patch", "call"),))

    def record_patch_trap(self, store: wasmtime.Caller, number: int, trap: TrapInfo) -> None:
        why = ("table.grow returned -1 because the store's table limit is reached"
               if trap.code == "UNREACHABLE" else trap.message)
        self.record(store, "patch", "trap", self.captions.patch_trap(number, why), trap=trap,
                    module=self._modules.get(number), detail={"module": number})

    def record_patched(self, store: wasmtime.Caller, number: int) -> None:
        self.record(store, "patch", "patched", self.captions.patched(number),
                    module=self._modules.get(number), detail={"module": number})

    # ------------------------------------------------------------------ calls
    def record_call(self, store: wasmtime.Storelike, f: FunctionInfo, args: list[int]) -> None:
        m = self.machine
        slot = m.read_i32(f.obj, store)
        target, edges = self._call_path(store, f, slot)
        self._call_slot, self._call_edges, self._callbacks = slot, edges, 0
        self.record(store, "call", "call", self.captions.call(f.name, args, slot, target),
                    edges=edges, detail={"function": f.name, "args": args, "slot": slot,
                                         "via": "jit" if slot else "interpreter"})

    def record_result(self, store: wasmtime.Storelike, f: FunctionInfo, args: list[int],
                      value: int | None, trap: TrapInfo | None) -> None:
        m = self.machine
        slot = m.read_i32(f.obj, store)
        calls = m.read_i32(f.obj + 16, store)
        target, edges = self._call_path(store, f, slot)
        # main counted every callback down from the budget the host gave it (see $entered).
        left = m.read_i32(m.layout.state_field("callback_notes"), store)
        callbacks = self.callback_budget - left
        detail: dict[str, Any] = {
            "function": f.name, "args": args, "slot": slot, "calls": calls,
            "table_size": m.table.size(store), "via": "jit" if slot else "interpreter",
            "callbacks": callbacks, "callbacks_shown": self._callbacks}
        if trap is not None:
            why = None
            if trap.code == "BAD_SIGNATURE":
                mismatch = self._signature_mismatch(store, f)
                detail.update(mismatch)
                if mismatch:
                    why = self.captions.bad_signature(**mismatch)
            self.record(store, "call", "trap",
                        self.captions.trap(f.name, args, trap.code, trap.message, why)
                        + self.captions.callbacks(callbacks, self._callbacks),
                        trap=trap, edges=edges, detail=detail)
        else:
            if slot and not self._call_slot:
                via = (f"it started in the interpreter and tiered up during the run: "
                       f"calls made after the batch ran JIT code via table slot {slot}")
            else:
                via = f"JIT code via table slot {slot}" if slot else "interpreted"
            self.record(store, "call", "result", self.captions.result(f.name, args, value or 0,
                                                                       via)
                        + self.captions.callbacks(callbacks, self._callbacks),
                        result=value, edges=edges, detail=detail)

    def _call_path(self, store: wasmtime.Storelike, f: FunctionInfo,
                   slot: int) -> tuple[str, tuple[Edge, ...]]:
        if slot == 0:
            return "interpreter", (Edge("main", "main.interpreter", "call"),)
        table = self.tables.snapshot(self.machine.table, store)
        target = table[slot].label if 0 <= slot < len(table) else "out of bounds"
        return target, (Edge("main", f"slot {slot}", "call"), Edge(f"slot {slot}", target, "call"))

    def _record_callback(self, store: wasmtime.Caller, obj: int, slot: int) -> None:
        """JIT code called ``obj`` through interpreter entry ``slot``: main noted it from inside
        the entry, with the arguments already on the interpreter's stack."""
        m = self.machine
        f = m.function_at(obj)
        name = f.name if f else f"object@{obj:#x}"
        table = self.tables.snapshot(m.table, store)
        entry = table[slot].label if 0 <= slot < len(table) else "out of bounds"
        nparams = m.read_i32(obj + 12, store)
        frame = int(m.vsp.value(store))  # type: ignore[call-overload]
        args = [m.read_i32(frame + 4 * i, store) for i in range(max(0, nparams))]
        state = m.read_i32(obj + 20, store)
        callers = self._compiled_callers(store, obj, table)
        self._callbacks += 1
        detail = {"function": name, "object": obj, "slot": slot, "entry": entry,
                  "args": args, "frame": frame, "code_slot": m.read_i32(obj, store),
                  "state": FUNC_STATES[state] if 0 <= state < len(FUNC_STATES) else str(state),
                  "calls": m.read_i32(obj + 16, store), "callers": callers,
                  "nth": self._callbacks, "budget": self.callback_budget}
        caller = callers[0] if len(callers) == 1 else "JIT code"
        self.record(store, "call", "callback", self.captions.callback(detail), table=table,
                    detail=detail, edges=self._call_edges + (
                        Edge(caller, f"slot {slot}", "callback"),
                        Edge(f"slot {slot}", "main.interpreter", "callback")))

    def _compiled_callers(self, store: wasmtime.Storelike, obj: int,
                          table: tuple[Slot, ...]) -> list[str]:
        """The JIT code that can have made a call to ``obj``: the compiled functions whose
        bytecode calls it (only their call templates reach an interpreter entry), as the
        table labels them, e.g. ``m1.sum``."""
        m, out = self.machine, []
        for info in m.functions.values():
            slot = m.read_i32(info.obj, store)
            if not 0 < slot < len(table) or table[slot].kind != "generated":
                continue
            if obj in _callees(info.code):
                out.append(table[slot].label)
        return out

    def _signature_mismatch(self, store: wasmtime.Storelike, f: FunctionInfo) -> dict[str, Any]:
        """Which code slot holds a function of another type than call_indirect names for it.

        A k-parameter function is always called with (type $sig_k), whose exact type main's
        interpreter entry enter_k has: that is the expected type. The actual one is the type
        wasmtime gives the function in the slot now. ``f`` (the top-level call) is checked
        first, then every other function a JIT caller may have called.
        """
        m = self.machine
        size = m.table.size(store)
        for info in [f] + [i for i in m.functions.values() if i is not f]:
            slot = m.read_i32(info.obj, store)
            k = m.read_i32(info.obj + 12, store)
            if not (0 < slot < size and 0 <= k < len(m.entries)):
                continue
            func = m.table.get(store, slot)
            if not isinstance(func, wasmtime.Func):
                continue
            expected, actual = type_text(m.entries[k].type(store)), type_text(func.type(store))
            if expected != actual:
                label = self.tables.snapshot(m.table, store)[slot].label
                return {"expected_type": expected, "actual_type": actual,
                        "mismatch_slot": slot, "mismatch_holds": label,
                        "mismatch_function": info.name}
        return {}

    # ------------------------------------------------------------------ labels
    def _label(self, lo: int, hi: int) -> list[tuple[int, int, str, bool]]:
        """Split ``[lo, hi)`` into pieces labelled with what the bytes are.

        i32 fields (state, arguments, queue, function objects) are kept whole.
        """
        pieces = []
        p = lo
        while p < hi:
            end, label, whole = self._field_at(p, hi)
            pieces.append((p, min(end, hi), label, whole))
            p = min(end, hi)
        return pieces

    def _field_at(self, p: int, hi: int) -> tuple[int, str, bool]:
        """Return where the labelled piece holding ``p`` ends, its label, and whether it is an
        i32 field (reported whole)."""
        m, L = self.machine, self.machine.layout
        region = L.region(p)
        if region == "state":
            i = (p - L.state_base) // 4
            return L.state_base + 4 * (i + 1), f"state.{STATE_FIELDS[i]}", True
        if region in ("args", "queue"):
            base = L.args_base if region == "args" else L.queue_base
            i = (p - base) // 4
            return base + 4 * (i + 1), f"{region}[{i}]", True
        if region == "functions":
            obj = L.funcs_base + (p - L.funcs_base) // L.func_size * L.func_size
            field = (p - obj) // 4
            f = m.function_at(obj)
            name = f.name if f else f"object@{obj:#x}"
            return obj + 4 * (field + 1), f"{name}.{FUNC_FIELDS[field]}", True
        if region == "heap":
            for f in m.functions.values():
                # Not "f.name"/"f.bytecode": those label the object's pointer fields.
                if f.name_ptr <= p < f.name_ptr + len(f.name.encode()):
                    return f.name_ptr + len(f.name.encode()), f"{f.name}'s name (text)", False
                if f.code_ptr <= p < f.code_ptr + len(f.code):
                    return f.code_ptr + len(f.code), f"{f.name}'s bytecode (bytes)", False
            return hi, "heap", False
        if region == "stack":
            return min(hi, L.vstack_end), "interpreter stack", False
        if region == "jit":
            return min(hi, L.jit_buf_end), f"module {len(m.modules) + 1} bytes", False
        return hi, "", False


def _callees(code: bytes) -> set[int]:
    """The function objects a function's bytecode calls (CALL immediates)."""
    try:
        return {i.immediate & 0xFFFFFFFF for i in bytecode.disassemble(code)
                if i.op is bytecode.Op.CALL and i.immediate is not None}
    except ValueError:
        return set()


def _validation_message(exc: Exception) -> str:
    """Return wasmtime's message without its backtrace, on one line."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    useful = [ln for ln in lines if not ln.startswith(("Caused by", "Stack backtrace"))]
    return "; ".join(useful[:3]) if useful else type(exc).__name__

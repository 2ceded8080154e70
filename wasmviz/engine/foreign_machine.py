"""The host that links a foreign module (issue 13): ForeignMachine, a Machine whose host can also
load the user's module into main's JIT buffer, bind its imports, instantiate it, run its link
export, and call a table slot directly.

Every outcome is a status and recorded steps (docs/foreign-modules.md), through the same
listeners main's own modules go through, so the ONE recorder records the link. What each stage
changed is recorded by ForeignEffects (foreign_effects.py); the imports are matched in
foreign_imports.py and the steps worded in foreign_captions.py. run_foreign (foreign.py) drives
it; every name here is still importable from wasmviz.engine.foreign.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

import wasmtime

from .foreign_captions import captions
from .foreign_effects import ForeignEffects
from .foreign_files import ForeignFileError, ForeignModule
from .foreign_imports import (Binding, ForeignImportError, describe_offers, match_imports,
                              module_sections)
from .instantiate import (INVALID_MODULE, LINK_ERROR, OK, PATCH_TRAPPED, read_dylink,
                          base_global, link_export_found, no_link_export, refuel_after,
                          trap_info, validation_message)
from .labels import MemoryLabels
from .reference import wrap_i32
from .machine import SETUP_FUEL, EngineError, Machine
from .trace import ModuleInfo, TrapInfo

#: The most arguments --call-slot passes (main's calling convention uses at most 5).
MAX_SLOT_ARGS = 8
#: The link exports the host calls after instantiating, in this order (a dynamic loader
#: applies relocations before anything else runs), and the recorder's name for each.
LINK_EXPORTS = (("__wasm_apply_data_relocs", "pic"), ("patch", "patch"))


@dataclass(frozen=True)
class ForeignLink:
    """How linking the user's module ended: an instantiate status (docs/abi.md), the bindings,
    and for a module the host would not link (refused or invalid) the reason."""

    number: int
    status: int
    bindings: tuple[Binding, ...] = ()
    refused: str | None = None
    invalid: str | None = None


class ForeignMachine(ForeignEffects, Machine):
    """A Machine whose host can also link a foreign module and call a table slot directly."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self._slot_caller: wasmtime.Instance | None = None
        self._labels = MemoryLabels(self)
        #: The names given to the foreign module's unexported functions (_name_unexported),
        #: and those given since the last effect step (which says so).
        self.unexported: list[str] = []
        self._named_now: list[dict[str, Any]] = []

    def instances_counted(self) -> int:
        # The host's slot caller (call_slot) is one more instance in the store.
        return super().instances_counted() + (self._slot_caller is not None)

    # ---------------------------------------------------------------- linking
    def link_foreign(self, fm: ForeignModule) -> ForeignLink:
        """Load ``fm`` into the JIT buffer, compile it, bind its imports, instantiate it, run
        its link export; every outcome is a status and recorded steps (docs/foreign-modules.md).
        Runs under the run's fuel, in the store's limits, like a generated module's link."""
        outcome: list[ForeignLink] = []
        try:
            _, trap = self._guarded(lambda: outcome.append(self._link(fm)), "generate")
        finally:
            self.host_modules += 1   # numbered: main's later modules come after it
        if trap is not None:  # the host's own steps never trap; say so if they ever do
            raise EngineError(f"linking {fm.name} trapped in the host: {trap.message}")
        return outcome[0]

    def _link(self, fm: ForeignModule) -> ForeignLink:
        store = self.store
        number = self.next_module_number(store)
        start = self.layout.jit_buf
        if len(fm.data) > self.layout.jit_buf_end - start:
            raise ForeignFileError(f"{fm.name}: {len(fm.data):,} bytes does not fit in main's "
                                   f"JIT buffer ({self.layout.jit_buf_end - start:,} bytes)")
        self.memory.write(store, fm.data, start)
        info = ModuleInfo(number, start, fm.data, module_sections(fm.data))
        self._note_step("generate", "load", captions.load(fm, number, start), module=info,
                        detail={"module": number, "address": start, "length": len(fm.data),
                                "file": fm.name, "text": fm.wat is not None})
        try:
            module = wasmtime.Module(self.engine, fm.data)
        except wasmtime.WasmtimeError as exc:
            for listener in self.listeners:
                listener.on_invalid(store, number, start, fm.data, exc)
            message = validation_message(exc)
            self._amend("invalid", captions.invalid(fm.name, number, message))
            return ForeignLink(number, INVALID_MODULE, invalid=message)
        for listener in self.listeners:
            listener.on_compiled(store, number, start, fm.data, module)
        self._amend("compiled", captions.compiled(fm.name, number, module))
        bindings = match_imports(self, module)
        providers = tuple(b.provider or "nothing" for b in bindings)
        refused = [b for b in bindings if b.provider is None]
        if refused:
            b = refused[0]
            message = (f"{b.name} ({b.kind} {b.type}) cannot be satisfied: {b.reason}. "
                       f"Main offers: {describe_offers(self, b.kind)}")
            for listener in self.listeners:
                listener.on_link_error(store, number, ForeignImportError(message), providers)
            self._amend("link-error", captions.refused(number, message),
                        refused={"import": b.name, "kind": b.kind, "type": b.type},
                        matched=[x.to_json() for x in bindings])
            return ForeignLink(number, LINK_ERROR, tuple(bindings), refused=message)
        given = self._externs(fm, bindings)
        if isinstance(given, str):   # the loader could not reserve what dylink.0 asks for
            for listener in self.listeners:
                listener.on_link_error(store, number, ForeignImportError(given), providers)
            self._amend("link-error", captions.refused(number, given))
            return ForeignLink(number, LINK_ERROR, tuple(bindings), refused=given)
        return self._instantiate(fm, number, module, bindings, providers, given)

    def _externs(self, fm: ForeignModule, bindings: Sequence[Binding]) -> list[Any] | str:
        """The extern for each binding, in import order; the bases a loader reserves first
        (from dylink.0, as main does in link style pic), recorded as a step. A str: no room."""
        wanted = {b.provider for b in bindings}
        bases = None
        if wanted & {"env.__table_base", "env.__memory_base"}:
            dylink = read_dylink(fm.data) or {"tablesize": 0, "memorysize": 0}
            try:
                table_base = self.table.grow(self.store, dylink["tablesize"], None)
            except wasmtime.WasmtimeError:
                return (f"the module's dylink.0 asks for {dylink['tablesize']} table slots, "
                        f"and the store's table limit has no room for them")
            self.store.set_fuel(SETUP_FUEL)  # main's allocator, as in Machine.load
            memory_base = int(self._fn["alloc"](self.store, dylink["memorysize"]))
            self.store.set_fuel(self.op_budget)
            if memory_base == 0:
                return (f"the module's dylink.0 asks for {dylink['memorysize']} bytes of "
                        "memory, and main's heap is full")
            bases = (table_base, memory_base)
            self._note_step("link", "reserve", captions.reserve(bases, dylink),
                            detail={"base": table_base, "delta": dylink["tablesize"],
                                    "memory_base": memory_base, "by": "host",
                                    "dylink": read_dylink(fm.data)})
        self.link_bases = bases
        ex = self.instance.exports(self.store)
        out: list[Any] = []
        for b in bindings:
            p = b.provider or ""
            if p == "host.note":
                out.append(self._note_func)
            elif p == "main.table":
                out.append(self.table)
            elif p == "main.memory":
                out.append(self.memory)
            elif p in ("env.__table_base", "env.__memory_base") and bases is not None:
                out.append(base_global(self.store, bases[0] if p == "env.__table_base"
                                        else bases[1]))
            else:   # main.<layout global>: main's own immutable export
                out.append(ex[p.removeprefix("main.")])
        return out

    def _instantiate(self, fm: ForeignModule, number: int, module: wasmtime.Module,
                     bindings: Sequence[Binding], providers: tuple[str, ...],
                     given: list[Any]) -> ForeignLink:
        store, listeners = self.store, self.listeners
        exports = {e.name: e.type for e in module.exports}
        link_exports = [(n, style) for n, style in LINK_EXPORTS if n in exports]
        saved_link = self.link
        # The recorder names link steps by the machine's link style: the module's own.
        self.link = link_exports[-1][1] if link_exports else "start"
        self._instantiating += 1
        self._patch_notes = 0
        result = ForeignLink(number, OK, tuple(bindings))
        try:
            before = self._snapshot()
            try:
                self.link_stage = "start"
                instance = wasmtime.Instance(store, module, given)
            except (wasmtime.WasmtimeError, wasmtime.Trap) as exc:
                if isinstance(exc, wasmtime.Trap):
                    self.failed_instances += 1
                refuel_after(self, store, trap_info(exc))  # type: ignore[arg-type]
                for listener in listeners:
                    listener.on_link_error(store, number, exc, providers)
                self.link_stage = None
                trapped = isinstance(exc, wasmtime.Trap)
                self._amend("link-error", captions.link_failed(
                    number, trap_info(exc).message if trapped else validation_message(exc), trapped))
                self._effect(number, "instantiation", before)
                return replace(result, status=LINK_ERROR)
            finally:
                self.link_stage = None
            self.modules.append(instance)
            self._name_unexported(number, instance)
            for listener in listeners:
                listener.on_linked(store, number, instance.exports(store), providers)
            self._amend("linked", captions.linked(number, bindings, self.link_bases,
                                        "start" in {s.name for s in module_sections(fm.data)}),
                        matched=[b.to_json() for b in bindings])
            self._effect(number, "instantiation", before)
            for name, _ in link_exports:
                status = self._call_link_export(number, instance, name)
                if status != OK:
                    return replace(result, status=status)
            return result
        finally:
            self._instantiating -= 1
            self.link = saved_link
            self.link_bases = None

    def _call_link_export(self, number: int, instance: wasmtime.Instance, name: str) -> int:
        store = self.store
        self.link = "pic" if name == "__wasm_apply_data_relocs" else "patch"
        func = instance.exports(store).get(name)
        found = link_export_found(func, store)
        if found is not None:
            trap = no_link_export(number, name, found)
            for listener in self.listeners:
                listener.on_patch_trapped(store, number, trap)
            self._amend("trap", captions.export_trapped(number, name, trap.message, ran=False))
            return PATCH_TRAPPED
        before = self._snapshot()
        try:
            self.link_stage = "export"
            func(store)
        except (wasmtime.Trap, wasmtime.WasmtimeError) as exc:
            trap = trap_info(exc)
            refuel_after(self, store, trap)  # type: ignore[arg-type]
            for listener in self.listeners:
                listener.on_patch_trapped(store, number, trap)
            self._amend("trap", captions.export_trapped(number, name, trap.message))
            self._effect(number, name, before)
            return PATCH_TRAPPED
        finally:
            self.link_stage = None
        self._name_unexported(number, instance)
        for listener in self.listeners:
            listener.on_patched(store, number)
        self._effect(number, name, before)
        return OK

    # ---------------------------------------------------------------- calls
    def call_slot(self, slot: int, args: Sequence[int]) -> tuple[int | None, TrapInfo | None]:
        """Call table slot ``slot`` with ``args`` through call_indirect, with the type their
        number implies: (param i32 x len(args)) (result i32). Recorded as two steps."""
        if len(args) > MAX_SLOT_ARGS:
            raise EngineError(f"--call-slot takes at most {MAX_SLOT_ARGS} arguments")
        store = self.store
        k = len(args)
        caller = self._slot_caller_func(k)
        table = self.recorder.tables.snapshot(self.table, store) if self.recorder else ()
        holds = table[slot].label if 0 <= slot < len(table) else "out of bounds"
        reaches = ("out-of-bounds" if not 0 <= slot < len(table) else
                   "jit" if table[slot].kind == "generated" else table[slot].kind)
        ty = "(" + " ".join(["i32"] * k) + ") -> (i32)"
        detail = {"slot": slot, "args": list(args), "type": ty, "holds": holds,
                  "reaches": reaches}
        # No callback notes: they belong to a call made through invoke (this step shows it).
        self.memory.write(store, (0).to_bytes(4, "little"),
                          self.layout.state_field("callback_notes"))
        self._note_step("call", "slot-call", captions.slot_call(slot, args, ty, holds),
                        detail=detail)
        values = [wrap_i32(a) for a in args]
        index = wrap_i32(slot)   # call_indirect's i32 operand
        result, trap = self._guarded(lambda: caller(store, *values, index), "call")
        value = None if result is None else int(result)  # type: ignore[call-overload]
        self._note_step("call", "slot-trap" if trap else "slot-result",
                        captions.slot_done(slot, value, trap), result=value, trap=trap,
                        detail=dict(detail, result=value, trap=trap.code if trap else None))
        return value, trap

    def _slot_caller_func(self, k: int) -> wasmtime.Func:
        """The host's slot caller: a module importing main's table whose export call<k> does
        call_indirect with (param i32 x k) (result i32). Made once, on first use."""
        if self._slot_caller is None:
            types = "".join(f"(type $t{i} (func (param{' i32' * i}) (result i32)))"
                            for i in range(MAX_SLOT_ARGS + 1))
            funcs = "".join(
                f"(func (export \"call{i}\") (param{' i32' * (i + 1)}) (result i32) "
                + "".join(f"local.get {j} " for j in range(i + 1))
                + f"call_indirect (type $t{i}))" for i in range(MAX_SLOT_ARGS + 1))
            wat = f'(module (import "main" "table" (table 0 funcref)) {types} {funcs})'
            module = wasmtime.Module(self.engine, wasmtime.wat2wasm(wat))
            self.store.set_fuel(SETUP_FUEL)
            self._slot_caller = wasmtime.Instance(self.store, module, [self.table])
        func = self._slot_caller.exports(self.store)[f"call{k}"]
        assert isinstance(func, wasmtime.Func)
        return func

    # ---------------------------------------------------------------- steps
    def _note_step(self, phase: str, kind: str, caption: str, **kw: Any) -> None:
        if self.recorder is not None:
            self.recorder.record(self.store, phase, kind, caption, **kw)  # type: ignore

    def _amend(self, kind: str, caption: str, **detail: Any) -> None:
        """Give the ``kind`` step a listener has just recorded the foreign module's own
        caption (the recorder's says "returns status N to the main module": here the host
        asked). Nothing if that step was not recorded (a trace at its step cap)."""
        rec = self.recorder
        steps = getattr(rec, "steps", None)
        if steps and steps[-1].kind == kind:
            steps[-1] = replace(steps[-1], caption=caption,
                                detail={**steps[-1].detail, **detail})

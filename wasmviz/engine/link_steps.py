"""The link half of the recorder: a generated module's steps from compiled to patched.

wasmtime compiling the bytes main wrote (or rejecting them), the host instantiating the module
with the imports it binds, the notes of its link code (a start function, patch or
__wasm_apply_data_relocs: table.grow, table.set, table.init, relocations; main's own RESERVE
in link style pic), and how the link ended. Kept apart from recorder.py, which turns the other
notes and host actions into steps, as call_steps.py is for calls; LinkSteps is a mixin like
CallSteps, so every name here is still a Recorder method and all the state stays on the one
Recorder object (set in Recorder.__init__).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Sequence

import wasmtime

from .instantiate import extern_kind, read_dylink, trap_info, validation_message
from .life_steps import code_bytes
from .slots import check_installed, slot_label, slot_problem
from .trace import Edge, ModuleInfo, Section, Slot

if TYPE_CHECKING:
    from .captions import Captions
    from .machine import Machine
    from .records import Now
    from .snapshot import TableReader
    from .trace import Step, TrapInfo

# Note kinds of a generated module's link code (docs/abi.md); recorder.py dispatches them here.
GROW, SET, RELOC, INIT = 16, 17, 18, 19


class LinkSteps:
    """Recorder's steps for compiling, linking and patching in a generated module (mixed into
    Recorder, which sets the state)."""

    # Recorder.__init__ (and LifeSteps._init_life, for _code) sets these; its comments there
    # say what each holds.
    machine: Machine
    tables: TableReader
    captions: Captions
    edges: list[Edge]
    _sections: list[Section]
    _batch: list[str]
    _modules: dict[int, ModuleInfo]
    _imports: dict[int, list[str]]
    _import_kinds: dict[int, list[str]]
    _exports: dict[int, list[str]]
    _table_at_compile: dict[int, tuple[Slot, ...]]
    _named: set[int]
    _style: str
    _written: bytes
    _code: dict[int, int]

    if TYPE_CHECKING:  # Recorder's and LifeSteps' own methods, which the link steps use
        def now(self, store: wasmtime.Storelike) -> Now: ...

        def record(self, store: wasmtime.Storelike, phase: str, kind: str, caption: str,
                   **kw: Any) -> Step: ...

        def _has_instance(self, module: int) -> bool: ...

        def _instance_made(self, module: int, functions: Sequence[str], size: int) -> None: ...

        def _instance_failed(self, module: int, functions: Sequence[str],
                             size: int) -> None: ...

    # ------------------------------------------------------------------ link-code notes
    def _link_who(self, number: int) -> tuple[str, str]:
        """(phase, who) for a note from module ``number``'s link code: a start function runs
        inside the instantiation (phase link); the link export the host calls afterwards
        (patch, __wasm_apply_data_relocs) in phase patch."""
        m = self.machine
        if m.link_stage == "start":
            return "link", f"module {number}'s start function"
        return "patch", m.LINK_EXPORTS.get(m.link) or "patch"

    def _name_functions(self, caller: wasmtime.Caller, number: int) -> None:
        """Teach the table reader module ``number``'s functions, from its live exports.

        A start function fills the table before wasmtime returns the instance; the caller
        it calls the host from is that instance, so its exports can be named already."""
        if number in self._named:
            return
        self._named.add(number)
        try:
            items = [(name, caller.get(name)) for name in self._exports.get(number, ())]
        except (AttributeError, wasmtime.WasmtimeError):
            return  # not a caller (a test's own store): on_linked names them
        self._register(number, items)

    def _register(self, number: int, exports: Iterable[tuple[str, object]]) -> None:
        """Name module ``number``'s exported functions for the table reader, all but its link
        export. A user function named like the link export is exported with a `$` (docs/abi.md,
        "Export names"): its slot shows the name the user wrote."""
        skip = self.machine.LINK_EXPORTS.get(self.machine.link)
        for name, item in exports:
            if isinstance(item, wasmtime.Func) and name != skip:
                self.tables.register(item, "generated", name.removeprefix("$"), number)

    def _record_reserve(self, store: wasmtime.Caller, base: int, n: int) -> None:
        """Link style pic: main reserved ``n`` slots from ``base`` (-1: no room) before it
        asks the host to instantiate; what the module asked for is in its dylink.0."""
        c, info = self.captions, read_dylink(self._written)
        if base == -1:
            self.record(store, "link", "no-room", c.no_room(n),
                        detail={"delta": n, "result": -1, "dylink": info})
            return
        self.record(store, "link", "table.grow", c.reserve(base, n, info),
                    detail={"base": base, "delta": n, "by": "main", "dylink": info})

    def _record_link_note(self, store: wasmtime.Caller, kind: int, a: int, b: int) -> None:
        """A note from a generated module's link code: GROW, SET, INIT or RELOC."""
        m, c = self.machine, self.captions
        number = m.next_module_number(store)
        phase, who = self._link_who(number)
        if m.link_stage == "start":
            self._name_functions(store, number)
            if not self._has_instance(number):  # its start function runs: it exists
                self._instance_made(number, self._linkable(number), self._code.get(number, 0))
        if kind == GROW:
            self.record(store, phase, "table.grow", c.grow(a, b, who),
                        detail={"base": a, "delta": b})
        elif kind == SET:
            table = self.tables.snapshot(m.table, store)
            label = table[a].label if a < len(table) else "?"
            self.record(store, phase, "table.set", c.table_set(a, label, who), table=table,
                        detail={"slot": a, "label": label, "object": b})
        elif kind == INIT:
            table = self.tables.snapshot(m.table, store)
            labels = [slot_label(table, i) for i in range(a, a + b)]
            self.record(store, phase, "table.init", c.table_init(a, b, labels, who),
                        table=table, detail={"base": a, "count": b, "labels": labels})
        else:
            now = self.now(store)
            f = now.function(a)
            name = now.name(a)
            table = self.tables.snapshot(m.table, store)
            problem = slot_problem(m, store, f, b, table) if f else None
            self.record(store, phase, "relocation", c.relocation(a, b, name, problem, who),
                        table=table, now=now,
                        detail={"address": a, "value": b, "function": name,
                                "field": f"{name}.code_slot", "table_size": len(table),
                                "in_bounds": 0 <= b < len(table),
                                "holds": slot_label(table, b), "problem": problem})

    def _linkable(self, number: int) -> list[str]:
        """Module ``number``'s functions a table slot can hold: its exports but the link
        export, under the names the user wrote."""
        skip = self.machine.LINK_EXPORTS.get(self.machine.link)
        return [n.removeprefix("$") for n in self._exports.get(number, ()) if n != skip]

    # ------------------------------------------------------------------ host actions
    def on_invalid(self, store: wasmtime.Caller, number: int, ptr: int, data: bytes,
                       exc: Exception) -> None:
        message = validation_message(exc)
        info = ModuleInfo(number, ptr, data, tuple(self._sections), tuple(self._batch))
        self.record(store, "compile", "invalid", self.captions.invalid(number, message),
                    module=info, error=message, detail={"module": number})

    def on_compiled(self, store: wasmtime.Caller, number: int, ptr: int, data: bytes,
                        module: wasmtime.Module) -> None:
        info = ModuleInfo(number, ptr, data, tuple(self._sections), tuple(self._batch))
        self._modules[number] = info
        self._code[number] = code_bytes(module)
        imports = [f"{i.module}.{i.name}" for i in module.imports]
        self._imports[number] = imports
        self._import_kinds[number] = [extern_kind(i.type) for i in module.imports]
        exports = [e.name for e in module.exports]
        self._exports[number] = exports
        step = self.record(store, "compile", "compiled",
                           self.captions.compiled(number, len(data), self._batch,
                                                  self._style),
                           module=info,
                           detail={"module": number, "imports": imports, "exports": exports})
        self._table_at_compile[number] = step.table

    def bindings(self, number: int, providers: tuple[str, ...]) -> list[dict[str, str]]:
        """Each import of module ``number`` in import order, with what the host gave it:
        ``providers[i]`` is the host's name for the i-th extern it passed to the linker."""
        names = self._imports.get(number, [])
        kinds = self._import_kinds.get(number, [])
        return [{"import": name, "kind": kind,
                 "provider": providers[i] if i < len(providers) else "nothing"}
                for i, (name, kind) in enumerate(zip(names, kinds))]

    def _table_change(self, number: int, store: wasmtime.Storelike
                      ) -> tuple[tuple[Slot, ...], tuple[Slot, ...], list[int]]:
        """(table at module ``number``'s compile step, table now, the slots that differ):
        what instantiating it did to main's table, as both snapshots show it."""
        now = self.tables.snapshot(self.machine.table, store)
        before = self._table_at_compile.get(number, now)
        changed = [i for i, slot in enumerate(now)
                   if i >= len(before) or slot.label != before[i].label]
        return before, now, changed

    def on_link_error(self, store: wasmtime.Caller, number: int, exc: Exception,
                      providers: tuple[str, ...] = ()) -> None:
        message = validation_message(exc)
        before, table, changed = self._table_change(number, store)
        detail: dict[str, Any] = {"module": number,
                                  "bindings": self.bindings(number, providers)}
        kept = ""
        if len(table) != len(before) or changed:
            # A start function trapped after it had grown (or filled) main's table: a failed
            # instantiation undoes nothing in an imported table. Said only when it happened.
            detail.update(table_before=len(before), table_after=len(table),
                          kept=[slot_label(table, i) for i in changed])
            kept = self.captions.kept_slots(len(before), len(table), detail["kept"])
        if isinstance(exc, wasmtime.Trap):  # made, then failed: the store keeps it
            self._instance_failed(number, self._linkable(number), self._code.get(number, 0))
            detail["instance_kept"] = True
        start_trap = isinstance(exc, wasmtime.Trap) and self.machine.link_stage == "start"
        if start_trap:  # wasmtime's reason, not its backtrace
            trap = trap_info(exc)
            message = _why(trap)
            detail["trap"] = trap.code
        self.record(store, "link", "link-error",
                    self.captions.link_error(number, message, start_trap) + kept, table=table,
                    module=self._modules.get(number), error=message, detail=detail)

    def on_linked(self, store: wasmtime.Caller, number: int,
                  exports: wasmtime.InstanceExports, providers: tuple[str, ...] = ()) -> None:
        m = self.machine
        skip = m.LINK_EXPORTS.get(m.link)
        if not self._has_instance(number):
            self._instance_made(number, self._linkable(number), self._code.get(number, 0))
        self._register(number, exports.items())
        self._named.add(number)
        src = f"m{number}"
        # What wasmtime says the module imports, as it linked them (host.note, main.table,
        # main.memory; in link style pic also env.__table_base and env.__memory_base).
        self.edges += [Edge(src, name, "import") for name in self._imports.get(number, ())]
        self.edges += [Edge(src, f"{src}.{name}", "export") for name in exports]
        bindings = self.bindings(number, providers)
        detail: dict[str, Any] = {"module": number, "bindings": bindings}
        caption = self.captions.linked(number, bindings, m.link_bases)
        now = self.now(store)
        _, table, changed = self._table_change(number, store)
        if m.link == "patch":  # the host calls patch next: the patched step says the rest
            self.record(store, "link", "linked", caption, module=self._modules.get(number),
                        detail=detail, edges=(Edge("host", f"{src}.{skip}", "call"),),
                        table=table, now=now)
            return
        installed, problems = check_installed(m, store, self._batch, table, now.functions)
        # A list of {slot, label}: JSON would turn int keys of a dict into text.
        detail.update(placed=[{"slot": i, "label": slot_label(table, i)} for i in changed],
                      installed=[n for n, _ in installed],
                      not_installed=[n for n, _ in problems])
        if m.link_bases is not None:
            detail.update(table_base=m.link_bases[0], memory_base=m.link_bases[1])
        caption += self.captions.link_done(m.link, detail["placed"], installed,
                                           [p for _, p in problems])
        edges = (Edge("host", f"{src}.{skip}", "call"),) if skip else ()
        self.record(store, "link", "linked", caption, module=self._modules.get(number),
                    detail=detail, edges=edges, table=table, now=now)

    def on_patch_trapped(self, store: wasmtime.Caller, number: int, trap: TrapInfo) -> None:
        why = _why(trap)
        self.record(store, "patch", "trap",
                    self.captions.patch_trap(number, why, self._link_who(number)[1]), trap=trap,
                    module=self._modules.get(number), detail={"module": number})

    def on_patched(self, store: wasmtime.Caller, number: int) -> None:
        now = self.now(store)
        table = self.tables.snapshot(self.machine.table, store)
        installed, problems = check_installed(self.machine, store, self._batch, table,
                                              now.functions)
        self.record(store, "patch", "patched",
                    self.captions.patched(number, installed, [p for _, p in problems],
                                          self._link_who(number)[1]),
                    table=table, module=self._modules.get(number), now=now,
                    detail={"module": number, "installed": [n for n, _ in installed],
                            "not_installed": [n for n, _ in problems]})


def _why(trap: TrapInfo) -> str:
    """Why link code trapped: main's template traps with unreachable only when table.grow
    returned -1 (the table-limit fault, docs/abi.md); anything else in wasmtime's words."""
    return ("table.grow returned -1 because the store's table limit is reached"
            if trap.code == "UNREACHABLE" else trap.message)

"""The wasmtime host: one main-module instance, the `instantiate` import, and program loading.

The host does what a browser's JavaScript does for a JIT inside WebAssembly: it compiles the
bytes the main module wrote, instantiates them with the main module's table and memory as
imports, and runs their `patch` (or, in the other link styles, lets their start function link
during instantiation, or passes the bases main reserved and runs `__wasm_apply_data_relocs`). (In a browser that happens after the JIT's export has
returned, asynchronously; wasmtime lets this host do it synchronously, inside `instantiate`.)
It never writes a generated module's bytes itself. It also owns the language front end
(source -> bytecode in main memory), as an embedder would. The instantiate path itself
(compile, link, patch, a status for every failure) is in instantiate.py; what the host is
set up with (fuel, store limits, link styles, fault modes, the shared engine) in machine_setup.py.
"""

from __future__ import annotations

import weakref
from typing import Callable, ClassVar, Sequence

import wasmtime

from .events import Listener
from .frontend import compile_program
from .instantiate import (INVALID_MODULE, LINK_ERROR, NO_ROOM, OK, PATCH_TRAPPED, first_line,
                          instantiate_module, trap_info)
from .layout import Layout
from .machine_setup import (DEFAULT_FUEL, FAULT_MODES, LINK_STYLES, MAIN_WAT, MAX_MEMORY_PAGES,
                            MAX_PATCH_NOTES, MAX_TABLE_ELEMENTS, NOTE_CALL, PATCH_NOTES,
                            SETUP_FUEL, EngineError, FunctionInfo, _engine_and_main,
                            count_instances)
from .reference import wrap_i32
from .trace import TrapInfo

# The instantiate statuses and trap helpers live in instantiate.py, the set-up constants, the
# errors and the shared engine in machine_setup.py; they stay importable from here, where
# tests, bench and lessons have always found them (bench and tests use _engine_and_main too).
__all__ = [
    "DEFAULT_FUEL", "FAULT_MODES", "INVALID_MODULE", "LINK_ERROR", "LINK_STYLES", "MAIN_WAT",
    "MAX_MEMORY_PAGES", "MAX_PATCH_NOTES", "MAX_TABLE_ELEMENTS", "NOTE_CALL", "NO_ROOM", "OK",
    "PATCH_NOTES", "PATCH_TRAPPED", "SETUP_FUEL", "EngineError", "FunctionInfo", "Machine",
    "first_line", "trap_info",
]


class Machine:
    """A main-module instance in its own store, optionally recording a trace.

    The machine reports each host-visible event to its ``listeners`` (events.Listener) and
    knows nothing more of them. ``record=True`` adds the listener ``recorder_factory`` makes,
    as ``self.recorder``: the package's ``recorder_for`` (wasmviz/engine/__init__.py) makes the
    Recorder, so this module never imports the recorder or the captions.
    """

    #: Makes the listener ``record=True`` attaches; None: the package's ``recorder_for``.
    recorder_factory: ClassVar[Callable[[Machine], Listener] | None] = None
    #: A wasmtime store keeps every instance it made until the store is dropped, whatever the
    #: table holds (measure_instances measures it): the recorder lists them per step.
    KEEPS_INSTANCES: ClassVar[bool] = True

    #: What the host passes to a generated module's instantiation, in order, by the name a
    #: learner knows it under (the link step records which import each one is bound to).
    PROVIDERS = ("host.note", "main.table", "main.memory")
    #: Link style pic adds the two bases main reserved, as immutable i32 globals.
    PIC_PROVIDERS = PROVIDERS + ("env.__table_base", "env.__memory_base")
    #: The export the host calls after instantiating, per link style (start: none, the
    #: module's start function has done the work during instantiation).
    LINK_EXPORTS = {"patch": "patch", "start": None, "pic": "__wasm_apply_data_relocs"}

    def __init__(self, *, record: bool = True, fuel: int = DEFAULT_FUEL,
                 threshold: int = 100, window: int = 100, jit: bool = True,
                 fault: str | None = None, direct_calls: bool = True,
                 link: str = "patch", listeners: Sequence[Listener] = ()) -> None:
        if link not in LINK_STYLES:
            raise EngineError(f"unknown link style {link!r}; one of {', '.join(LINK_STYLES)}")
        self.engine, main_module = _engine_and_main()
        self.store = wasmtime.Store(self.engine)
        self.store.set_limits(memory_size=MAX_MEMORY_PAGES * 65536,
                              table_elements=MAX_TABLE_ELEMENTS)
        self.fuel_budget = fuel
        #: The budget of the top-level operation running now (fuel_budget, or SETUP_FUEL).
        self.op_budget = fuel
        self.fuel_used = 0
        #: True while a top-level operation runs (fuel is then being spent).
        self.op_active = False
        self.store.set_fuel(SETUP_FUEL)
        i32 = wasmtime.ValType.i32()
        # wasmtime-py keeps every host callback in a process-wide registry until the store is
        # dropped; a bound method there kept this Machine, its Store and its whole recorded
        # trace alive for the life of the process (review D5: +0.19 MB per sandbox run). The
        # callbacks hold the Machine weakly, so it is freed when its run is over.
        this = weakref.ref(self)

        def on_note(caller: wasmtime.Caller, kind: int, a: int, b: int) -> None:
            machine = this()
            if machine is not None:
                machine._on_note(caller, kind, a, b)

        def on_instantiate(caller: wasmtime.Caller, ptr: int, length: int) -> int:
            machine = this()
            return INVALID_MODULE if machine is None else machine._on_instantiate(caller, ptr,
                                                                                   length)

        def on_instantiate_pic(caller: wasmtime.Caller, ptr: int, length: int,
                               table_base: int, memory_base: int) -> int:
            machine = this()
            return INVALID_MODULE if machine is None else instantiate_module(
                machine, caller, ptr, length, (table_base, memory_base))

        self._note_func = wasmtime.Func(self.store, wasmtime.FuncType([i32, i32, i32], []),
                                        on_note, access_caller=True)
        inst = wasmtime.Func(self.store, wasmtime.FuncType([i32, i32], [i32]),
                             on_instantiate, access_caller=True)
        inst_pic = wasmtime.Func(self.store, wasmtime.FuncType([i32] * 4, [i32]),
                                 on_instantiate_pic, access_caller=True)
        self.functions: dict[str, FunctionInfo] = {}
        self.modules: list[wasmtime.Instance] = []
        #: Modules the host linked itself, not main (a module of your own): numbered before
        #: main's later ones (next_module_number).
        self.host_modules = 0
        #: Generated modules whose instantiation trapped (a start function, an active
        #: segment): wasmtime had already made the instance, and its store keeps it
        #: (measure_instances shows it). Import mismatches are refused before that.
        self.failed_instances = 0
        #: While main's `redefine` runs (load): the function being redefined, so that a
        #: listener can tell its own slot from a batch-mate's (docs/abi.md, "Redefinition").
        self.redefining: FunctionInfo | None = None
        #: The names the last load redefined (same name, new body).
        self.redefined: tuple[str, ...] = ()
        self._table_limit = MAX_TABLE_ELEMENTS
        #: The main module (its compiled code stays in the store like every instance's).
        self.main_module = main_module
        #: >0 while the host instantiates a generated module (its notes are foreign input).
        self._instantiating = 0
        self._patch_notes = 0
        #: The link style main was told to use (LINK_STYLES); the recorder reads main's own
        #: exported `link` global to say what it really did.
        self.link = link
        #: What generated code is running now, for the recorder's steps: "start" while
        #: wasmtime instantiates a module (its start function, if any, runs then), "export"
        #: while the host runs its link export (patch, __wasm_apply_data_relocs), else None.
        self.link_stage: str | None = None
        #: The bases main passed for the pic module being instantiated (table, memory).
        self.link_bases: tuple[int, int] | None = None
        #: Who is told of each event; empty on the fast path, which then only tests it.
        self.listeners: list[Listener] = list(listeners)
        self.recorder: Listener | None = None
        if record:
            self._attach_recorder()
        self.instance = wasmtime.Instance(self.store, main_module,
                                          [self._note_func, inst, inst_pic])
        ex = self.instance.exports(self.store)
        self.memory: wasmtime.Memory = ex["memory"]  # type: ignore[assignment]
        self.table: wasmtime.Table = ex["table"]  # type: ignore[assignment]
        self.layout = Layout.read(ex, self.store)
        #: The value-stack pointer the interpreter publishes before it calls JIT code; an
        #: interpreter entry builds its frame there (the recorder reads a callback's arguments).
        self.vsp: wasmtime.Global = ex["vsp"]  # type: ignore[assignment]
        #: main's interpreter entries enter0..enter4: entry k has exactly the type $sig_k that
        #: every call_indirect for a k-parameter function names.
        self.entries: tuple[wasmtime.Func, ...] = tuple(
            ex[f"enter{k}"] for k in range(self.layout.max_params + 1))  # type: ignore[misc]
        self._fn = {name: ex[name] for name in ("alloc", "define", "set_code", "invoke",
                                                 "enqueue", "jit_flush", "configure", "set_fault",
                                                 "set_direct_calls", "set_link", "redefine")}
        self._configure(threshold, window, jit, link, direct_calls, fault)

    def _attach_recorder(self) -> None:
        """Make the recorder the first listener: the package's (engine/__init__.py, the
        composition root), unless ``recorder_factory`` names another."""
        factory = Machine.recorder_factory
        if factory is None:
            from . import recorder_for as factory  # noqa: PLC0415
        self.recorder = factory(self)
        self.listeners.insert(0, self.recorder)

    def _configure(self, threshold: int, window: int, jit: bool, link: str,
                   direct_calls: bool, fault: str | None) -> None:
        """Tell main its tier-up policy, link style and fault, then that it has started
        (NodeMachine, the same main under V8, configures it the same way)."""
        self._fn["configure"](self.store, threshold, window, 1 if jit else 0)
        self._fn["set_link"](self.store, LINK_STYLES[link])
        self._fn["set_direct_calls"](self.store, 1 if direct_calls else 0)
        if fault is not None:
            if fault not in FAULT_MODES:
                raise EngineError(f"unknown fault {fault!r}; one of {', '.join(FAULT_MODES)}")
            self._fn["set_fault"](self.store, FAULT_MODES[fault])
        for listener in self.listeners:
            listener.on_started(self.store)

    # ---------------------------------------------------------------- program loading
    def load(self, source: str, expr_name: str = "expr", *,
             redefine: bool = False) -> list[FunctionInfo]:
        """Compile ``source`` and define its functions in main memory; return them.

        With ``redefine``, a function already defined is redefined (same name, new body): main's
        `redefine` frees its old table slot and sends it back to the interpreter (main.wat
        section 13), and the new bytecode goes into the same function object, so every caller
        reaches the new body. Raises ``frontend.SourceError`` for bad source and EngineError
        for a name clash (without ``redefine``) or a redefinition with another arity.
        """
        program = compile_program(source, expr_name=expr_name)
        # Loading runs main's own allocator: set-up fuel, even if the last call spent it all.
        self.store.set_fuel(SETUP_FUEL)
        clash = [f.name for f in program.functions if f.name in self.functions]
        if clash and not redefine:
            raise EngineError(f"function {clash[0]!r} is already defined")
        for f in program.functions:
            old = self.functions.get(f.name)
            if old is not None and len(old.params) != len(f.params):
                # Callers compiled against the old arity pass that many arguments.
                raise EngineError(f"cannot redefine {f.name!r} with {len(f.params)} "
                                  f"parameter(s): it has {len(old.params)}, and its callers "
                                  "pass that many")
        self.redefined = tuple(clash)
        addresses: dict[str, int] = {n: i.obj for n, i in self.functions.items()}
        name_ptrs: dict[str, int] = {n: i.name_ptr for n, i in self.functions.items()}
        for f in program.functions:
            if f.name in self.functions:
                # main forgets the old code itself: the slot goes null and onto its free list
                self.redefining = self.functions[f.name]
                try:
                    self._fn["redefine"](self.store, addresses[f.name])
                finally:
                    self.redefining = None
                continue
            name = f.name.encode()
            ptr = self._alloc(len(name))
            self.memory.write(self.store, name, ptr)
            obj = int(self._fn["define"](self.store, len(f.params), ptr, len(name)))
            if obj == 0:
                raise EngineError(f"cannot define {f.name!r}: the main module is full")
            addresses[f.name] = obj
            name_ptrs[f.name] = ptr
        linked = program.link(addresses)
        added = []
        for f in program.functions:
            code = linked[f.name]
            ptr = self._alloc(len(code))
            self.memory.write(self.store, code, ptr)
            self._fn["set_code"](self.store, addresses[f.name], ptr, len(code))
            info = FunctionInfo(f.name, addresses[f.name], tuple(f.params), code, source,
                                name_ptrs[f.name], ptr)
            self.functions[f.name] = info
            added.append(info)
        for listener in self.listeners:
            listener.on_defined(self.store, added, source)
        return added

    def freeze_table(self) -> None:
        """Cap the store's table elements at the table's current size, so the next
        ``table.grow`` returns -1 (the table-limit fault)."""
        self._table_limit = self.table.size(self.store)
        self.store.set_limits(memory_size=MAX_MEMORY_PAGES * 65536,
                              table_elements=self._table_limit)

    def instances_counted(self) -> int:
        """The instances the host has made in this store: main, every generated module that
        linked, and every one whose instantiation trapped after wasmtime had made it."""
        return 1 + len(self.modules) + self.failed_instances

    def measure_instances(self) -> int:
        """How many instances the store holds, measured by wasmtime itself, with the store's
        instance limit: at a limit of n, wasmtime refuses one more instance exactly when the
        store holds n or more. A refused probe leaves nothing behind; the one admitted probe
        stays (a store frees nothing before it is dropped), so call this last, after the run.
        """
        return count_instances(self.store, self.instances_counted(), self._table_limit)

    def _alloc(self, size: int) -> int:
        ptr = int(self._fn["alloc"](self.store, size))
        if ptr == 0:
            raise EngineError("the main module's heap is full")
        return ptr

    # ---------------------------------------------------------------- JIT and calls
    def jit_now(self, names: Sequence[str] | None = None) -> int:
        """Queue ``names`` (default: every cold function) and compile them as one batch.

        Returns the instantiate status, or -1 when nothing was queued.
        """
        for name in names if names is not None else list(self.functions):
            self._fn["enqueue"](self.store, self.info(name).obj)
        # A JIT run the host asks for is set-up: SETUP_FUEL, not the run's (per-call) fuel.
        status, trap = self._guarded(lambda: self._fn["jit_flush"](self.store), "generate",
                                     SETUP_FUEL)
        if trap is not None:
            for listener in self.listeners:
                listener.on_jit_trapped(self.store, trap)
            raise EngineError(f"the JIT trapped: {trap.code}: {trap.message}")
        return int(status)  # type: ignore[call-overload]

    def call(self, name: str, args: Sequence[int]) -> tuple[int | None, TrapInfo | None]:
        """Invoke ``name`` through main's ``invoke``; return (result, None) or (None, trap)."""
        info = self.info(name)
        if len(args) != len(info.params):
            raise EngineError(f"{name} takes {len(info.params)} argument(s), got {len(args)}")
        for i, value in enumerate(args):
            self.memory.write(self.store, int(value & 0xFFFFFFFF).to_bytes(4, "little"),
                              self.layout.args_base + 4 * i)
        # How many callbacks from JIT code into the interpreter main may note during this
        # call: none unless recording, so the fast path never leaves wasm for them.
        listeners = self.listeners
        budget = max(li.callback_budget for li in listeners) if listeners else 0
        self.memory.write(self.store, budget.to_bytes(4, "little", signed=True),
                          self.layout.state_field("callback_notes"))
        for listener in listeners:
            # No step yet: main notes the call itself, with the code slot it really uses.
            listener.on_call_begin(self.store, info, list(args))
        result, trap = self._guarded(lambda: self._fn["invoke"](self.store, info.obj), "call")
        value = None if result is None else wrap_i32(int(result))
        for listener in listeners:
            listener.on_call_end(self.store, info, list(args), value, trap)
        return value, trap

    def _guarded(self, thunk: object, phase: str,
                 budget: int | None = None) -> tuple[object, TrapInfo | None]:
        """Run ``thunk`` as one top-level operation; return (value, None) or (None, trap)."""
        # Each top-level operation gets a fresh fuel budget, so a runaway one stops in time
        # and the next one still runs.
        self.op_budget = self.fuel_budget if budget is None else budget
        self.store.set_fuel(self.op_budget)
        self.op_active = True
        try:
            return thunk(), None  # type: ignore[operator]
        except wasmtime.Trap as exc:
            return None, trap_info(exc)
        except wasmtime.WasmtimeError as exc:
            return None, TrapInfo("ERROR", first_line(exc))
        finally:
            self.op_active = False
            self.fuel_used += self.op_budget - self.store.get_fuel()

    def info(self, name: str) -> FunctionInfo:
        """Return the function called ``name`` (EngineError if undefined)."""
        try:
            return self.functions[name]
        except KeyError:
            known = ", ".join(self.functions) or "none"
            raise EngineError(f"no function named {name!r} (defined: {known})") from None

    def next_module_number(self, store: wasmtime.Storelike | None = None) -> int:
        """The number of the module main is writing or the host is linking: main's own count
        of the modules it has handed over (``state.modules``), plus one. A module wasmtime
        rejected or could not link counts too, as main counts it (docs/abi.md), so no two
        modules of a run share a number. Modules of your own the host linked itself
        (``host_modules``, foreign_machine.py) come first."""
        return self.read_i32(self.layout.state_field("modules"), store) + 1 + self.host_modules

    def read_i32(self, address: int, store: wasmtime.Storelike | None = None) -> int:
        data = self.memory.read(store or self.store, address, address + 4)
        return int.from_bytes(data, "little", signed=True)

    def function_at(self, obj: int) -> FunctionInfo | None:
        for info in self.functions.values():
            if info.obj == obj:
                return info
        return None

    # ---------------------------------------------------------------- imports
    def _on_note(self, caller: wasmtime.Caller, kind: int, a: int, b: int) -> None:
        if kind == NOTE_CALL and self.op_active:
            # invoke has flushed any pending batch and taken the code slot: the call proper
            # starts here, with the whole budget (a flush before it had its own), so "the call
            # ran out of its N units" is exactly true. Fuel spent so far is kept in the total.
            # (A Caller shares its store's context: Store's methods work on it.)
            left = wasmtime.Store.get_fuel(caller)  # type: ignore[arg-type]
            self.fuel_used += self.fuel_budget - left
            wasmtime.Store.set_fuel(caller, self.fuel_budget)  # type: ignore[arg-type]
        if self._instantiating:
            # A note from a generated module's start or patch: foreign code may send anything.
            # A note the host cannot take becomes a trap of that module (status 3 and a
            # clear step), never a Python exception out of the JIT (review D11). Main's own
            # kinds (below PATCH_NOTES) are refused, so `note(JIT_BEGIN, 2**31-1)` cannot make
            # the recorder loop 2**31 times, and each patch may send a bounded number of notes,
            # so a flood cannot record 100,000 steps (review D10).
            self._patch_notes += 1
            if kind < PATCH_NOTES:
                raise wasmtime.Trap(f"a generated module sent note({kind}, {a}, {b}); kinds "
                                    f"below {PATCH_NOTES} are the main module's own")
            if self._patch_notes > MAX_PATCH_NOTES:
                raise wasmtime.Trap(f"a generated module sent more than {MAX_PATCH_NOTES:,} "
                                    "notes while it was patched in")
            try:
                for listener in self.listeners:
                    listener.on_note(caller, kind, a, b)
            except (IndexError, KeyError, ValueError, OverflowError, TypeError) as exc:
                raise wasmtime.Trap(f"the host refused note({kind}, {a}, {b}): "
                                    f"{type(exc).__name__}: {exc}") from None
            return
        for listener in self.listeners:
            listener.on_note(caller, kind, a, b)

    def _on_instantiate(self, caller: wasmtime.Caller, ptr: int, length: int) -> int:
        """Compile, link and patch the module main wrote; return its status (docs/abi.md).

        The path itself (and how every failure becomes a status) is instantiate.py's.
        """
        return instantiate_module(self, caller, ptr, length)

    def instantiate_bytes(self, data: bytes) -> int:
        """Push ``data`` through the host's instantiate path as if main had written it to its
        JIT buffer; return the status (docs/abi.md). For fuzzing: whatever the bytes, the
        answer is a status and recorded steps, never an exception."""
        start, end = self.layout.jit_buf, self.layout.jit_buf_end
        data = data[: end - start]
        self.memory.write(self.store, data, start)
        # In link style pic the bases are what main would pass without reserving anything:
        # the table's end and the heap pointer.
        bases = ((self.table.size(self.store),
                  self.read_i32(self.layout.state_field("heap_ptr")))
                 if self.link == "pic" else None)
        store: wasmtime.Caller = self.store  # type: ignore[assignment]  # a Store serves too
        status, trap = self._guarded(
            lambda: instantiate_module(self, store, start, len(data), bases), "generate")
        if trap is not None:
            raise EngineError(f"the instantiate path trapped: {trap.code}: {trap.message}")
        return int(status)  # type: ignore[call-overload]

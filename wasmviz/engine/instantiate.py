"""The host's instantiate path for generated modules: compile, link, patch, and a status.

When the main module's JIT calls its `instantiate` import (or `instantiate_pic`, link style
pic), the host (machine.Machine) hands the bytes to `instantiate_module` here: it compiles
them, links them against the providers the host gives every generated module
(Machine.PROVIDERS; in pic also the two bases main reserved, as globals), and calls the link
export of the machine's link style: `patch`, nothing for `start` (the module's start function
ran during instantiation), `__wasm_apply_data_relocs` for pic. Whatever the bytes do (fail to
compile, ask for the wrong imports, export no link function, trap, loop until the fuel runs
out) ends in one of the statuses of docs/abi.md and the listeners hear of it; it is never an
exception out of the JIT. Also here: how a wasmtime failure becomes a TrapInfo.

Split out of machine.py to keep that file a readable size. Like machine.py, this module
never imports the recorder or the captions: it only tells the machine's listeners.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import wasmtime

from .trace import TrapInfo

if TYPE_CHECKING:
    from .machine import Machine

#: Instantiate statuses returned to the main module (docs/abi.md). NO_ROOM is main's own, in
#: link style pic: its table.grow failed, so it never asked the host to instantiate.
OK, INVALID_MODULE, LINK_ERROR, PATCH_TRAPPED, NO_ROOM = 0, 1, 2, 3, 4


def trap_info(exc: BaseException) -> TrapInfo:
    """Return the trap code name, wasmtime's reason ("wasm trap: ...") and its backtrace."""
    code = "UNKNOWN"
    if isinstance(exc, wasmtime.Trap) and exc.trap_code is not None:
        code = exc.trap_code.name
    text = str(exc.message if isinstance(exc, wasmtime.Trap) else exc)
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    # wasmtime puts a generic line first, then the backtrace, then "Caused by:" and the reason.
    reason = next((ln for ln in lines if ln.startswith("wasm trap:")), None)
    if reason is None:
        after = [ln for ln in lines if not ln[:1].isdigit() and ln != "Caused by:"]
        reason = after[-1] if after else code
    frames = tuple(ln for ln in lines if ln[:1].isdigit() and ":" in ln)
    return TrapInfo(code, reason, frames)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def instantiate_module(machine: Machine, caller: wasmtime.Caller, ptr: int,
                       length: int, bases: tuple[int, int] | None = None) -> int:
    """Compile, link and patch the module main wrote; return its status (docs/abi.md).

    ``bases``: (table base, memory base) main reserved, for a pic module (link style pic).
    Whatever the bytes do (no link export, one of another kind or type, a trap, a
    runaway loop, a huge grow) ends in a status and a recorded step, never an exception.
    """
    # While this runs, the machine treats notes as a generated module's (foreign input).
    machine._instantiating += 1
    machine._patch_notes = 0
    machine.link_bases = None if bases is None else (bases[0] & 0xFFFFFFFF,
                                                     bases[1] & 0xFFFFFFFF)
    try:
        return _instantiate(machine, caller, ptr, length)
    finally:
        machine._instantiating -= 1
        machine.link_stage = None


def _instantiate(machine: Machine, caller: wasmtime.Caller, ptr: int, length: int) -> int:
    if ptr < 0 or length < 0:
        ptr, length = ptr & 0xFFFFFFFF, length & 0xFFFFFFFF
    number = machine.next_module_number(caller)
    try:
        data = bytes(machine.memory.read(caller, ptr, ptr + length))
    except (ValueError, IndexError, wasmtime.WasmtimeError) as exc:
        data = b""
        for listener in machine.listeners:
            listener.on_invalid(caller, number, ptr, data, exc)
        return INVALID_MODULE
    listeners = machine.listeners
    pic = machine.link_bases is not None
    providers = machine.PIC_PROVIDERS if pic else machine.PROVIDERS
    try:
        module = wasmtime.Module(machine.engine, data)
    except wasmtime.WasmtimeError as exc:
        for listener in listeners:
            listener.on_invalid(caller, number, ptr, data, exc)
        return INVALID_MODULE
    for listener in listeners:
        listener.on_compiled(caller, number, ptr, data, module)
    try:
        # Given by name, so the bindings the link step records are the ones passed here.
        given = {"host.note": machine._note_func, "main.table": machine.table,
                 "main.memory": machine.memory}
        if machine.link_bases is not None:
            given.update(zip(("env.__table_base", "env.__memory_base"),
                             (base_global(caller, b) for b in machine.link_bases)))
        # A start function runs inside this call: its notes are steps of the link.
        machine.link_stage = "start"
        instance = wasmtime.Instance(caller, module, [given[n] for n in providers])
    except (wasmtime.WasmtimeError, wasmtime.Trap) as exc:
        if isinstance(exc, wasmtime.Trap):
            # It trapped while initialising (a start function, an active segment): wasmtime
            # had made the instance by then, and the store keeps it (measure_instances).
            machine.failed_instances += 1
        refuel_after(machine, caller, trap_info(exc))
        for listener in listeners:
            listener.on_link_error(caller, number, exc, providers)
        return LINK_ERROR
    finally:
        machine.link_stage = None
    machine.modules.append(instance)
    exports = instance.exports(caller)
    for listener in listeners:
        listener.on_linked(caller, number, exports, providers)
    name = machine.LINK_EXPORTS[machine.link]
    if name is None:   # link style start: the start function has linked, nothing to call
        return OK
    patch = exports.get(name) if hasattr(exports, "get") else None
    found = link_export_found(patch, caller)
    if found is not None:
        trap = no_link_export(number, name, found)
        for listener in listeners:
            listener.on_patch_trapped(caller, number, trap)
        return PATCH_TRAPPED
    try:
        machine.link_stage = "export"
        patch(caller)
    except (wasmtime.Trap, wasmtime.WasmtimeError) as exc:
        trap = trap_info(exc)
        refuel_after(machine, caller, trap)
        for listener in listeners:
            listener.on_patch_trapped(caller, number, trap)
        return PATCH_TRAPPED
    for listener in listeners:
        listener.on_patched(caller, number)
    return OK


def read_u32(data: bytes, at: int) -> tuple[int, int]:
    """The unsigned LEB128 number at ``data[at]`` and the offset after it; IndexError if the
    bytes end first, ValueError if it runs past the five bytes a u32 may take."""
    value = shift = 0
    for i in range(5):
        if at + i >= len(data):
            raise IndexError(at + i)
        byte = data[at + i]
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at + i + 1
    raise ValueError("LEB128 too long")


def read_dylink(data: bytes) -> dict[str, int] | None:
    """The WASM_DYLINK_MEM_INFO of a module's dylink.0 section, as a loader reads it first:
    ``memorysize``, ``memoryalignment``, ``tablesize``, ``tablealignment`` (None: the module,
    or the part of it written so far, does not start with a complete dylink.0)."""
    try:
        if data[8:9] != b"\x00":                  # the first section must be custom
            return None
        _, at = read_u32(data, 9)                 # section size
        name_len, at = read_u32(data, at)
        if data[at:at + name_len] != b"dylink.0":
            return None
        at += name_len
        if data[at] != 1:                         # WASM_DYLINK_MEM_INFO
            return None
        _, at = read_u32(data, at + 1)            # subsection size
        values = {}
        for key in ("memorysize", "memoryalignment", "tablesize", "tablealignment"):
            values[key], at = read_u32(data, at)
        return values
    except (IndexError, ValueError):
        return None


def base_global(store: wasmtime.Caller, value: int) -> wasmtime.Global:
    """An immutable i32 global holding ``value``: how a loader passes a base (pic)."""
    ty = wasmtime.GlobalType(wasmtime.ValType.i32(), False)
    signed = value - (1 << 32) if value >= 1 << 31 else value
    return wasmtime.Global(store, ty, wasmtime.Val.i32(signed))


def refuel_after(machine: Machine, caller: wasmtime.Caller, trap: TrapInfo) -> None:
    """After a generated module ran out of fuel, give main a fresh budget to finish.

    A runaway start function or patch used up the operation's fuel, so main's jit_flush
    trapped too and the run read "the JIT itself trapped" (review D15). The module's
    status already says what happened; the fuel it burnt stays in the total.
    """
    if trap.code != "OUT_OF_FUEL":
        return
    left = wasmtime.Store.get_fuel(caller)  # type: ignore[arg-type]
    machine.fuel_used += machine.op_budget - left
    wasmtime.Store.set_fuel(caller, machine.op_budget)  # type: ignore[arg-type]


def _func_type(ty: wasmtime.FuncType) -> str:
    def names(types: Sequence[wasmtime.ValType]) -> str:
        return "(" + " ".join(str(t) for t in types) + ")"
    return f"{names(ty.params)} -> {names(ty.results)}"


def extern_kind(t: object) -> str:
    """The kind of an import's type: func, table, memory or global."""
    return {"FuncType": "func", "TableType": "table", "MemoryType": "memory",
            "GlobalType": "global"}.get(type(t).__name__, type(t).__name__)


def validation_message(exc: BaseException) -> str:
    """Return wasmtime's message without its backtrace, on one line."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    useful = [ln for ln in lines if not ln.startswith(("Caused by", "Stack backtrace"))]
    return "; ".join(useful[:3]) if useful else type(exc).__name__


def link_export_found(export: object, store: wasmtime.Storelike) -> str | None:
    """What is wrong with a link export the host is about to call: "" if it is missing,
    "not a function", or its type if that is not () -> (); None if it is right."""
    if export is None:
        return ""
    if not isinstance(export, wasmtime.Func):
        return "not a function"
    ty = export.type(store)
    return _func_type(ty) if ty.params or ty.results else None


def no_link_export(number: int, name: str, found: str) -> TrapInfo:
    """The trap the host reports for a missing or ill-typed link export (``found``, as
    link_export_found says; under V8, the same words from the JS host's report)."""
    what = (f"exports no `{name}`" if not found else
            f"exports a `{name}` that is not a function" if found == "not a function" else
            f"exports a `{name}` of type {found}, not () -> ()")
    return TrapInfo("NO_PATCH" if name == "patch" else "NO_RELOCS",
                    f"module {number} {what}; the host calls {name}() after linking")

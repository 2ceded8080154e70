"""What a code slot reaches: a function object's code slot checked against the live table.

The recorder asks these questions at the moment a step is recorded, with the function records
it has just decoded from memory (records.py), so a caption or a detail never claims more than
the table and memory hold then: a success is a slot holding the
function's own JIT code, of the type its callers name; anything else is said as what it is
(null, past the end, another function, another type).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import wasmtime

from . import bytecode
from .captions import type_text
from .trace import FunctionRecord, Slot

if TYPE_CHECKING:
    from .machine import Machine


def route(slot: int, table: tuple[Slot, ...]) -> str:
    """Where a call through code slot ``slot`` goes, as the table holds it: ``interpreter``
    (slot 0), ``jit`` (a generated function), ``null``, ``out-of-bounds`` or ``main``.

    This is a step's ``reaches``; its ``via`` keeps the older, coarser meaning, the branch main
    takes: ``interpreter`` for code slot 0, ``jit`` for call_indirect through the slot (the
    diagram draws that path whatever the slot holds, and a trap on it)."""
    if slot == 0:
        return "interpreter"
    if not 0 <= slot < len(table):
        return "out-of-bounds"
    kind = table[slot].kind
    return "jit" if kind == "generated" else kind


def slot_label(table: tuple[Slot, ...], slot: int) -> str:
    """What table slot ``slot`` holds (e.g. ``m1.f``, ``null``), or ``out of bounds``."""
    return table[slot].label if 0 <= slot < len(table) else "out of bounds"


def slot_problem(m: Machine, store: wasmtime.Storelike, f: FunctionRecord, slot: int,
                 table: tuple[Slot, ...]) -> str | None:
    """What is wrong with table slot ``slot`` as ``f``'s code slot, read from the table now
    (None: it holds ``f``'s JIT code, of the type call_indirect names for it). Only the
    types come from wasmtime; ``f`` is the record of this instant."""
    if slot >= len(table) or slot < 0:
        return (f"the table has only {len(table)} slots (0-{len(table) - 1}): slot {slot} "
                f"does not exist")
    held = table[slot]
    if held.kind == "null":
        return f"table slot {slot} is null: nothing was installed there"
    if held.kind != "generated" or held.function != f.name:
        return f"table slot {slot} holds {held.label}, not {f.name}'s JIT code"
    k = f.params
    func = m.table.get(store, slot)
    if 0 <= k < len(m.entries) and isinstance(func, wasmtime.Func):
        expected, actual = type_text(m.entries[k].type(store)), type_text(func.type(store))
        if expected != actual:
            return (f"{held.label} has type {actual}, while a call to {f.name} names "
                    f"{expected}, so the signature check fails")
    return None


def check_installed(m: Machine, store: wasmtime.Storelike, names: list[str],
                    table: tuple[Slot, ...], functions: tuple[FunctionRecord, ...]
                    ) -> tuple[list[tuple[str, int]], list[tuple[str, str]]]:
    """Split the batch ``names`` into (function, slot) whose code slot holds the function,
    and (function, what is wrong) for the others, from the records and the table now."""
    installed: list[tuple[str, int]] = []
    problems: list[tuple[str, str]] = []
    by_name = {f.name: f for f in functions}
    for name in names:
        f = by_name.get(name)
        if f is None:
            continue
        slot = f.code_slot
        problem = "its code slot is 0" if slot == 0 else slot_problem(m, store, f, slot, table)
        if problem is None:
            installed.append((name, slot))
        else:
            problems.append((name, f"{name}'s code slot is {slot}, but {problem}"
                             if slot else f"{name}: {problem}"))
    return installed, problems


def compiled_callers(obj: int, table: tuple[Slot, ...],
                     functions: tuple[FunctionRecord, ...]) -> list[str]:
    """The JIT code that can have made a call to ``obj``: the compiled functions whose
    bytecode calls it (only their call templates reach an interpreter entry), as the table
    labels them, e.g. ``m1.sum``."""
    out = []
    for info in functions:
        slot = info.code_slot
        if not 0 < slot < len(table) or table[slot].kind != "generated":
            continue
        if obj in _callees(info.code):
            out.append(table[slot].label)
    return out


def signature_mismatch(m: Machine, store: wasmtime.Storelike, f: FunctionRecord,
                       table: tuple[Slot, ...],
                       functions: tuple[FunctionRecord, ...]) -> dict[str, Any]:
    """Which code slot holds a function of another type than call_indirect names for it.

    A k-parameter function is always called with (type $sig_k), whose exact type main's
    interpreter entry enter_k has: that is the expected type. The actual one is the type
    wasmtime gives the function in the slot now. ``f`` (the top-level call) is checked first,
    then every other function a JIT caller may have called.
    """
    size = m.table.size(store)
    for info in [f] + [i for i in functions if i.address != f.address]:
        slot, k = info.code_slot, info.params
        if not (0 < slot < size and 0 <= k < len(m.entries)):
            continue
        func = m.table.get(store, slot)
        if not isinstance(func, wasmtime.Func):
            continue
        expected, actual = type_text(m.entries[k].type(store)), type_text(func.type(store))
        if expected != actual:
            return {"expected_type": expected, "actual_type": actual,
                    "mismatch_slot": slot, "mismatch_holds": slot_label(table, slot),
                    "mismatch_function": info.name}
    return {}


def _callees(code: bytes) -> set[int]:
    """The function objects a function's bytecode calls (CALL immediates)."""
    try:
        return {i.immediate & 0xFFFFFFFF for i in bytecode.disassemble(code)
                if i.op is bytecode.Op.CALL and i.immediate is not None}
    except ValueError:
        return set()

"""Plain-English captions for trace steps.

A caption is one or two sentences a learner reads under the picture: it says what just happened
and, where it is not obvious, why. Facts in captions (slots, addresses, sizes) are always read
from the real state by the caller and passed in: function objects and the VM state block as
the step's own records (trace.FunctionRecord, trace.VmState), decoded once by the engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

if TYPE_CHECKING:
    import wasmtime

    from .trace import FunctionRecord, VmState

SECTION_NAMES = {0: "custom", 1: "type", 2: "import", 3: "function", 4: "table", 5: "memory",
                 6: "global", 7: "export", 8: "start", 9: "element", 10: "code", 11: "data",
                 12: "data count"}

SECTION_WHY = {
    1: "one function type per arity (every function takes its own object address last), "
       "plus the types of patch and of the host's note",
    2: "the module imports the host's note function and, crucially, the main module's own "
       "table and memory: that is what lets new code reach old code and data",
    3: "which type each new function has; patch comes last",
    7: "patch, which the host will call, and each new function under its source name",
    9: "a declarative segment listing the new functions. It fills no table: it declares them "
       "for ref.func, which patch uses. (Exporting a function declares it too; the segment "
       "also covers any function the JIT does not export)",
    10: "each function's body, translated op by op from its bytecode, then patch's body",
}

#: What a section is for in link styles start and pic, where it differs from patch's.
LINK_SECTION_WHY: dict[str, dict[int, str]] = {
    "start": {
        1: "one function type per arity (every function takes its own object address last), "
           "plus the types of the start function and of the host's note",
        3: "which type each new function has; the start function comes last",
        7: "each new function under its source name. There is no patch to export: the start "
           "function runs by itself",
        8: "it names the start function, which wasm runs at the end of instantiation: the "
           "module links itself in while the host is still instantiating it",
        10: "each function's body, translated op by op from its bytecode, then the start "
            "function's body (table.grow, table.init, the relocations)",
    },
    "pic": {
        1: "one function type per arity (every function takes its own object address last), "
           "plus the types of __wasm_apply_data_relocs and of the host's note",
        2: "the host's note function, the main module's own table and memory, and two "
           "immutable i32 globals, env.__table_base and env.__memory_base: where main will "
           "have reserved the module's room. The module is written without knowing them",
        3: "which type each new function has; __wasm_apply_data_relocs comes last",
        7: "__wasm_apply_data_relocs, which the host calls after instantiating (as a dynamic "
           "loader does), and each new function under its source name",
        10: "each function's body, translated op by op from its bytecode, then "
            "__wasm_apply_data_relocs (the relocations, relative to __table_base)",
    },
}

#: What an element segment does, by its mode (flags) as the bytes say.
SEGMENT_WHY = {
    3: SECTION_WHY[9],
    1: "a passive segment listing the new functions. Instantiation places it nowhere; the "
       "start function copies it into the table with one table.init",
    0: "an active segment listing the new functions, at offset (global.get __table_base): "
       "instantiation itself places them in the slots main reserved",
}

TRAP_WHY = {
    "INDIRECT_CALL_TO_NULL": "call_indirect found the slot empty (null): nothing was ever "
                             "installed there",
    "BAD_SIGNATURE": "the function in the slot has a different type from the one "
                     "call_indirect names, and wasm checks every indirect call's signature",
    "TABLE_OUT_OF_BOUNDS": "the slot index is past the end of the table",
    "OUT_OF_FUEL": "the call ran out of its fuel budget. That happens with runaway code (an "
                   "endless loop), but also with long legitimate work: fuel cannot tell the "
                   "two apart",
    "INTEGER_DIVISION_BY_ZERO": "the program divided by zero, which traps in WebAssembly",
    "INTEGER_OVERFLOW": "the program divided -2147483648 by -1, whose result does not fit "
                        "in an i32, which traps in WebAssembly",
    "STACK_OVERFLOW": "the recursion went too deep for the wasm call stack",
    "UNREACHABLE": "the code reached an `unreachable` instruction (a guard that failed)",
}


def hexaddr(address: int) -> str:
    return f"0x{address:05x}"


def call_text(name: str, args: Sequence[int]) -> str:
    return f"{name}({', '.join(str(a) for a in args)})"


def type_text(t: wasmtime.FuncType) -> str:
    """A function type as a learner reads it: ``(i32 i32) -> i32``."""
    params = " ".join(str(v) for v in t.params)
    results = " ".join(str(v) for v in t.results) or "()"
    return f"({params}) -> {results}"


#: What the host hands a generated module for each import, in words (Machine.PROVIDERS).
_PROVIDED = {"host.note": "the host's note function", "main.table": "the main module's table",
             "main.memory": "the main module's memory",
             "env.__table_base": "an immutable i32 global holding the table base main reserved",
             "env.__memory_base": "an immutable i32 global holding the memory base main "
                                  "reserved"}

#: What a function object's state says about why it was not compiled (layout.FUNC_STATES).
_NOT_COMPILED = {"cold": "not compiled",
                 "hot": "hot and queued for the JIT, but not compiled yet",
                 "failed": "not compiled: its batch failed, so it stays interpreted"}


#: The link function a module of each link style carries, in words.
_LINK_FUNCTION = {"patch": "patch", "start": "its start function",
                  "pic": "__wasm_apply_data_relocs"}


def _cap(text: str) -> str:
    """``text`` with its first letter capitalised (a caption may start with a name)."""
    return text[:1].upper() + text[1:]


#: The providers that are link style pic's base globals.
_BASES = ("env.__table_base", "env.__memory_base")


class Captions:
    """Builds captions; holds nothing but wording."""

    def main(self) -> str:
        return ("wasmtime instantiated the main module. It exports its linear memory and its "
                "funcref table: slot 0 is kept null (a code slot of 0 means 'not compiled'), "
                "slots 1-5 hold the interpreter's entries, one per number of parameters.")

    def defined(self, functions: Sequence[FunctionRecord]) -> str:
        """``functions``: the new functions' records, as this step holds them."""
        names = ", ".join(f.name for f in functions)
        one = len(functions) == 1
        if all(f.code_slot == 0 for f in functions):
            state = (f"{'Its code slot is' if one else 'Their code slots are'} 0, so calls to "
                     f"{'it' if one else 'them'} are interpreted for now.")
        else:
            state = "Code slots: " + ", ".join(f"{f.name} {f.code_slot}" for f in functions)
        return (f"The host's front end compiled the source to bytecode and wrote it into main "
                f"memory with a function object for each of: {names}. {state}")

    def hot(self, name: str, calls: int, vm: VmState) -> str:
        """``calls``: the count main noted; ``vm``: the state block as this step holds it."""
        queue_len, countdown = vm.queue_len, vm.countdown
        return (f"{name} has now been interpreted {calls} times: it is hot. The interpreter "
                f"put it on the JIT queue ({queue_len} function{'s' * (queue_len != 1)} "
                f"queued). The queue is compiled as one batch when the countdown ({countdown} "
                f"more interpreted calls) runs out, or when the host next calls invoke.")

    def jit_begin(self, names: Sequence[str], address: int) -> str:
        return (f"The main module's template JIT starts a batch: {', '.join(names)} -> one new "
                f"module, written into main memory at {hexaddr(address)}.")

    def header(self, start: int) -> str:
        return (f"The JIT wrote the 8-byte header at {hexaddr(start)}: the magic bytes \\0asm "
                f"and version 1.")

    def section(self, section_id: int, size: int, style: str = "patch",
                segment_mode: int | None = None,
                dylink: Mapping[str, int] | None = None) -> str:
        """``segment_mode``: the element segment's flags as written; ``dylink``: the
        dylink.0 memory info as written (both read from the bytes by the caller)."""
        name = SECTION_NAMES.get(section_id, f"#{section_id}")
        why = LINK_SECTION_WHY.get(style, {}).get(section_id, SECTION_WHY.get(section_id, ""))
        if section_id == 9 and segment_mode is not None:
            why = SEGMENT_WHY.get(segment_mode, why)
        if section_id == 0 and dylink is not None:
            name = "custom section dylink.0, the first"
            why = (f"the dynamic-linking metadata a loader reads before instantiating. Its "
                   f"WASM_DYLINK_MEM_INFO asks for {dylink['memorysize']} bytes of memory "
                   f"and {dylink['tablesize']} table slot{'s' * (dylink['tablesize'] != 1)}")
            return f"The JIT wrote the {name} ({size} bytes): {why}."
        return f"The JIT wrote the {name} section ({size} bytes): {why}.".replace(" ().", ".")

    def jit_end(self, length: int, address: int, style: str = "patch") -> str:
        # Not "as JavaScript would": a browser's WebAssembly.instantiate returns a Promise,
        # which a wasm caller cannot wait on (lessons review M5).
        if style == "pic":
            return (f"The module is complete: {length} bytes at {hexaddr(address)}. Like a "
                    f"dynamic loader, main now reserves the room it asks for, then calls the "
                    f"host's instantiate_pic(ptr, len, table_base, memory_base) and stays "
                    f"inside that call until the host returns a status.")
        return (f"The module is complete: {length} bytes at {hexaddr(address)}. The main module "
                f"calls the host's instantiate(ptr, len) and stays inside that call until the "
                f"host returns a status. wasmtime lets a host function compile and instantiate "
                f"synchronously; in a browser, WebAssembly.instantiate returns a Promise that "
                f"wasm cannot wait on.")

    def compiled(self, number: int, length: int, functions: Sequence[str],
                 style: str = "patch") -> str:
        link = _LINK_FUNCTION.get(style, "patch")
        return (f"The host read the {length} bytes out of main memory; wasmtime validated and "
                f"compiled them as module {number} ({', '.join(functions) or 'no functions'} "
                f"and {link}).")

    def invalid(self, number: int, message: str) -> str:
        return (f"wasmtime rejected module {number}: {message}. No module exists, so nothing "
                f"of it can be installed; the host returns status 1 (invalid module) to the "
                f"main module.")

    def linked(self, number: int, bindings: Sequence[Mapping[str, str]],
               bases: tuple[int, int] | None = None) -> str:
        """``bases``: the (table, memory) bases the host passed as env globals (pic)."""
        shown = [b for b in bindings if not (bases and b["provider"] in _BASES)]
        given = "; ".join(f"{b['import']} got {_PROVIDED.get(b['provider'], b['provider'])}"
                          for b in shown) or "it has no imports"
        if bases and len(shown) < len(bindings):
            given += (f"; env.__table_base = {bases[0]} and env.__memory_base = "
                      f"{hexaddr(bases[1])}, the bases main reserved, as immutable i32 globals")
        text = f"The host instantiated module {number}, linking each import: {given}."
        providers = {b["provider"] for b in bindings}
        if {"main.table", "main.memory"} <= providers and not bases:
            text += " The new code can now reach the main module's table and memory."
        return text

    def link_error(self, number: int, message: str, start_trap: bool = False) -> str:
        """``start_trap``: the module's start function trapped (wasmtime ran it as part of
        the instantiation)."""
        if start_trap:
            return (f"Module {number}'s start function trapped during instantiation: "
                    f"{message}. So instantiation failed: no instance, nothing of the module "
                    f"is reachable by name, and the host returns status 2 (link error) to "
                    f"the main module.")
        return (f"Linking module {number} failed: {message}. It was not instantiated, so "
                f"nothing of it can be installed; the host returns status 2 (link error) to "
                f"the main module.")

    def kept_slots(self, before: int, after: int, kept: Sequence[str]) -> str:
        """What a failed instantiation left in main's table (read from it)."""
        held = f" (now holding {', '.join(kept)})" if kept else ""
        return (f" But main's table kept what the start function did before the trap: it has "
                f"{after} slots, {before} before{held}. A failed instantiation undoes nothing "
                f"in an imported table.")

    def link_done(self, style: str, placed: Sequence[Mapping[str, Any]],
                  installed: Sequence[tuple[str, int]], problems: Sequence[str]) -> str:
        """After instantiating a start or pic module: what the table and code slots hold now
        (``placed``: {slot, label} of each slot instantiation changed)."""
        where = ", ".join(f"slot {p['slot']} now holds {p['label']}" for p in placed) \
            or "no slot changed"
        if style == "start":
            text = (f" Its start function ran as part of that instantiation (the link steps "
                    f"above), so its changes to the table are already in: {where}.")
        else:
            text = (f" Instantiation placed the active element segment at __table_base: "
                    f"{where}." if placed else
                    " Instantiation placed nothing in the reserved slots: the module has no "
                    "active element segment to put its functions there.")
        if installed:
            text += " Relocated: " + ", ".join(f"{n} in slot {s}" for n, s in installed) + "."
        if problems and style == "pic" and not installed:
            text += (" No code slot points there yet: the host calls __wasm_apply_data_relocs "
                     "next.")
        elif problems:
            text += " Not installed: " + "; ".join(problems) + "."
        return text

    def reserve(self, base: int, delta: int, dylink: Mapping[str, int] | None) -> str:
        last = base + delta - 1
        slots = f"slot {base}" if delta == 1 else f"slots {base}-{last}"
        asked = (f"The module's dylink.0 asks for {dylink['tablesize']} table slot(s) and "
                 f"{dylink['memorysize']} bytes of memory. " if dylink else "")
        memory = ("It has no data, so main reserves no memory; __memory_base will be the "
                  "heap's next free byte." if dylink and dylink["memorysize"] == 0 else "")
        return (f"{asked}Before asking the host to instantiate it, main reserved the room "
                f"itself: its own table.grow returned {base}, so {slots} (null for now) "
                f"{'is' if delta == 1 else 'are'} the module's. {memory}").rstrip()

    def no_room(self, delta: int, dylink: Mapping[str, int] | None) -> str:
        return (f"Main tried to reserve {delta} table slot(s) for the module, but its "
                f"table.grow returned -1: the store's table limit is reached. A loader with no "
                f"room does not instantiate: no module is compiled, and jit_flush records "
                f"status 4 (no room).")

    def grow(self, base: int, delta: int, who: str = "patch") -> str:
        last = base + delta - 1
        slots = f"slot {base}" if delta == 1 else f"slots {base}-{last}"
        return (f"{_cap(who)} ran table.grow: the table gained {delta} slot(s), {slots}, null "
                f"for now. table.grow returned the first new index, {base}.")

    def table_set(self, slot: int, label: str, who: str = "patch") -> str:
        return f"{_cap(who)} ran table.set: slot {slot} now holds {label}."

    def table_init(self, base: int, count: int, labels: Sequence[str], who: str) -> str:
        last = base + count - 1
        slots = f"slot {base}" if count == 1 else f"slots {base}-{last}"
        return (f"{_cap(who)} ran one table.init: it copied the passive element segment's "
                f"{count} function(s) into {slots}, which now hold {', '.join(labels)}.")

    def relocation(self, address: int, value: int, name: str, problem: str | None,
                   who: str = "patch") -> str:
        """``problem``: what is wrong with table slot ``value`` now (None: it holds ``name``)."""
        text = (f"Relocation: {who} stored {value} into {name}'s code slot at "
                f"{hexaddr(address)} in main memory, so calls to {name} now go through table "
                f"slot {value}")
        if problem is None:
            return text + "."
        return f"{text}. But {problem}, so such a call traps."

    def patch_trap(self, number: int, why: str, who: str = "patch") -> str:
        return (f"Module {number}'s {who} trapped: {why}. The host returns status 3 (patch "
                f"trapped) to the main module.")

    def patched(self, number: int, installed: Sequence[tuple[str, int]],
                problems: Sequence[str], who: str = "patch") -> str:
        """``installed``: (function, slot) whose code slot holds it; ``problems``: the others."""
        text = f"Module {number}'s {who} returned."
        if installed:
            text += " Installed: " + ", ".join(f"{n} in slot {s}" for n, s in installed) + "."
        if problems:
            text += " Not installed: " + "; ".join(problems) + "."
        return text

    def jit_done(self, status: int, count: int, installed: Sequence[tuple[str, int]] = (),
                 problems: Sequence[str] = (), failed_count: int = 0,
                 written: Sequence[tuple[str, int]] = ()) -> str:
        """``written``: the batch's functions whose code slot is not 0 (from the records)."""
        if status == 0 and not problems:
            names = ", ".join(f"{n} (slot {s})" for n, s in installed)
            return (f"instantiate returned 0 (success): {len(installed)} function(s) now run as "
                    f"JIT code: {names}.")
        if status == 0:
            ok = (f" {len(installed)} of {count} function(s) are installed." if installed
                  else " None of the batch is installed.")
            return (f"instantiate returned 0 (success), but the table says otherwise: "
                    f"{'; '.join(problems)}.{ok}")
        failed = f"{failed_count} of {count}" if failed_count != count else f"all {count}"
        head = ("Main could not reserve room, so it never asked the host to instantiate "
                "(status 4, no room)" if status == 4 else
                f"instantiate returned {status} (failure)")
        text = f"{head}: {failed} function(s) of the batch are marked failed (state 3)"
        if not written:
            return text + ", so their code slots stay 0 and they stay interpreted."
        # The link code wrote code slots before it failed (a start function that trapped
        # after its relocations): main marks the batch failed, but the slots say otherwise.
        text += (". But the link code had written code slots before it failed: "
                 + ", ".join(f"{n} -> slot {s}" for n, s in written) + ".")
        if installed:
            text += (" Calls to " + ", ".join(n for n, _ in installed) + " go through the "
                     "table to JIT code of a module that has no instance: the table keeps it "
                     "alive and callable.")
        return text

    def flush(self, name: str, args: Sequence[int], queued: Sequence[str]) -> str:
        return (f"The host called main's invoke for {call_text(name, args)}. The JIT queue "
                f"holds {', '.join(queued) or 'nothing'}, so invoke first compiles that batch; "
                f"only then does it read {name}'s code slot.")

    def call(self, name: str, args: Sequence[int], slot: int, target: str,
             problem: str | None, flushed: bool, state: str = "cold") -> str:
        """``slot`` is the code slot main's invoke just read (after any flush), ``target``
        what table slot ``slot`` holds, ``problem`` what is wrong with it, if anything."""
        text = call_text(name, args)
        first = "After that batch, main's invoke" if flushed else "Main's invoke"
        if slot == 0:
            why = _NOT_COMPILED.get(state, "not compiled")
            return (f"{first} read {name}'s code slot: 0 ({why}), so it runs {text} in the "
                    f"bytecode interpreter (which counts every call).")
        if problem is None:
            return (f"{first} read {name}'s code slot: {slot}, so it calls {text} with "
                    f"call_indirect through table slot {slot} -> {target}.")
        return (f"{first} read {name}'s code slot: {slot}, so it calls {text} with "
                f"call_indirect through table slot {slot}. But {problem}.")

    def result(self, name: str, args: Sequence[int], value: int, how: str) -> str:
        return f"{call_text(name, args)} returned {value} ({how})."

    def how(self, name: str, entry_slot: int | None, slot: int, interpreted: int,
            target: str, problem: str | None = None) -> str:
        """How a call ran, from the evidence: the code slot invoke used and ``interpreted``,
        how many times the interpreter entered ``name`` during the call (its call count)."""
        times = f"{interpreted} time{'s' * (interpreted != 1)}"
        if entry_slot is None:
            return "it never reached its code slot"
        if entry_slot == 0 and slot == 0:
            return f"interpreted: the interpreter entered {name} {times}"
        if entry_slot == 0 and problem is not None:
            return (f"interpreted: the interpreter entered {name} {times}; during the call its "
                    f"code slot became {slot}, but {problem}")
        if entry_slot == 0:
            return (f"it started in the interpreter, which entered {name} {times}; during the "
                    f"call its code slot became {slot}, so from then on a call to {name} went "
                    f"to {target}")
        text = f"JIT code via table slot {entry_slot} -> {target}"
        if interpreted:
            text += f"; the interpreter also entered {name} {times}"
        return text

    def trap(self, name: str, args: Sequence[int], code: str, message: str,
             why: str | None = None) -> str:
        why = why or TRAP_WHY.get(code, message)
        return f"{call_text(name, args)} trapped with {code}: {why}. wasmtime said: {message}"

    def out_of_fuel(self, budget: int, flushing: bool = False) -> str:
        who = ("invoke ran out of its fuel budget while compiling the pending batch"
               if flushing else "the call ran out of its fuel budget")
        return (f"{who} ({budget:,} units). That happens with "
                f"runaway code (an endless loop), but also with long legitimate work: fuel "
                f"cannot tell the two apart")

    def bad_signature(self, expected_type: str, actual_type: str, mismatch_slot: int,
                      mismatch_holds: str, mismatch_function: str) -> str:
        return (f"call_indirect expected {expected_type} but slot {mismatch_slot} holds "
                f"{mismatch_holds} of type {actual_type} (the code slot of "
                f"{mismatch_function} points there), and wasm checks every indirect call's "
                f"signature")

    def callback(self, d: Mapping[str, Any]) -> str:
        """JIT code called a function that is not compiled, through an interpreter entry."""
        name, callers, n = d["function"], d["callers"], len(d["args"])
        who = f"JIT code of {' or '.join(callers)}" if callers else "JIT code"
        state = _NOT_COMPILED.get(d["state"], "not compiled")
        text = (f"Callback into the interpreter: {who} called {call_text(name, d['args'])}. "
                f"Its code slot is {d['code_slot']} ({state}), so the call template took table "
                f"slot {d['slot']}, {d['entry']}: the interpreter's entry for {n} "
                f"parameter{'s' * (n != 1)}. The entry put the "
                f"argument{'s' * (n != 1)} on the interpreter's stack at "
                f"{hexaddr(d['frame'])} and interprets {name}'s bytecode.")
        if d["nth"] == d["budget"]:
            text += (f" This is callback {d['nth']} of this call: further ones are counted "
                     f"but not shown.")
        return text

    def callbacks(self, total: int, shown: int) -> str:
        """The end of a call's caption: its callbacks into the interpreter, if any."""
        if total <= 0:
            return ""
        text = (f" JIT code called back into the interpreter {total} time"
                f"{'s' * (total != 1)}")
        return text + (f" ({total - shown} not shown as steps)." if total > shown else ".")

    def truncated(self, cap: int, dropped: int, result: int | None,
                  trap: str | None) -> str:
        """The last step of a trace that reached the recorder's step cap."""
        text = (f"Recording stopped here: the trace reached its cap of {cap:,} steps, so "
                f"the next {dropped:,} step{'s' * (dropped != 1)} of this run were not "
                f"recorded (the cap keeps a long run from filling memory and the views). "
                f"The table and memory shown are as they were at this step. The run "
                f"itself went on to the end")
        if trap:
            return text + f" and trapped with {trap}."
        return text + (f" and returned {result}." if result is not None else ".")

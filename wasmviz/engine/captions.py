"""Plain-English captions for trace steps.

A caption is one or two sentences a learner reads under the picture: it says what just happened
and, where it is not obvious, why. Facts in captions (slots, addresses, sizes) are always read
from the real state by the caller and passed in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

if TYPE_CHECKING:
    import wasmtime

    from .machine import FunctionInfo

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
    9: "a declarative segment, so that patch is allowed to take references (ref.func) to the "
       "new functions",
    10: "each function's body, translated op by op from its bytecode, then patch's body",
}

TRAP_WHY = {
    "INDIRECT_CALL_TO_NULL": "call_indirect found the slot empty (null): nothing was ever "
                             "installed there",
    "BAD_SIGNATURE": "the function in the slot has a different type from the one "
                     "call_indirect names, and wasm checks every indirect call's signature",
    "TABLE_OUT_OF_BOUNDS": "the slot index is past the end of the table",
    "OUT_OF_FUEL": "the code ran out of fuel: it was stopped because it ran too long "
                   "(a runaway loop)",
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


#: What a function object's state says about why it was not compiled (layout.FUNC_STATES).
_NOT_COMPILED = {"cold": "not compiled",
                 "hot": "hot and queued for the JIT, but not compiled yet",
                 "failed": "not compiled: its batch failed, so it stays interpreted"}


class Captions:
    """Builds captions; holds nothing but wording."""

    def main(self) -> str:
        return ("wasmtime instantiated the main module. It exports its linear memory and its "
                "funcref table: slot 0 is kept null (a code slot of 0 means 'not compiled'), "
                "slots 1-5 hold the interpreter's entries, one per number of parameters.")

    def defined(self, functions: Sequence[FunctionInfo]) -> str:
        names = ", ".join(f.name for f in functions)
        return (f"The host's front end compiled the source to bytecode and wrote it into main "
                f"memory with a function object for each of: {names}. Every code slot is 0, "
                f"so every call is interpreted for now.")

    def hot(self, name: str, calls: int) -> str:
        return (f"{name} has now been interpreted {calls} times: it is hot. The interpreter "
                f"puts it on the JIT queue; the next batch will compile it.")

    def jit_begin(self, names: Sequence[str], address: int) -> str:
        return (f"The main module's template JIT starts a batch: {', '.join(names)} -> one new "
                f"module, written into main memory at {hexaddr(address)}.")

    def header(self, start: int) -> str:
        return (f"The JIT wrote the 8-byte header at {hexaddr(start)}: the magic bytes \\0asm "
                f"and version 1.")

    def section(self, section_id: int, size: int) -> str:
        name = SECTION_NAMES.get(section_id, f"#{section_id}")
        why = SECTION_WHY.get(section_id, "")
        return f"The JIT wrote the {name} section ({size} bytes): {why}.".replace(" ().", ".")

    def jit_end(self, length: int, address: int) -> str:
        return (f"The module is complete: {length} bytes at {hexaddr(address)}. The main module "
                f"calls the host's instantiate(ptr, len), as JavaScript would in a browser.")

    def compiled(self, number: int, length: int, functions: Sequence[str]) -> str:
        return (f"The host read the {length} bytes out of main memory; wasmtime validated and "
                f"compiled them as module {number} ({', '.join(functions) or 'no functions'} "
                f"and patch).")

    def invalid(self, number: int, message: str) -> str:
        return (f"wasmtime rejected module {number}: {message}. Nothing was installed; the "
                f"main module is told, and keeps interpreting.")

    def linked(self, number: int) -> str:
        return (f"The host instantiated module {number} with imports: the host's note, and the "
                f"main module's table and memory. The new code can now reach both.")

    def link_error(self, number: int, message: str) -> str:
        return (f"Linking module {number} failed: {message}. Nothing was installed; the main "
                f"module keeps interpreting.")

    def grow(self, base: int, delta: int) -> str:
        last = base + delta - 1
        slots = f"slot {base}" if delta == 1 else f"slots {base}-{last}"
        return (f"patch ran table.grow: the table gained {delta} slot(s), {slots}, null for "
                f"now. table.grow returned the first new index, {base}.")

    def table_set(self, slot: int, label: str) -> str:
        return f"patch ran table.set: slot {slot} now holds {label}."

    def relocation(self, address: int, value: int, name: str) -> str:
        return (f"Relocation: patch stored {value} into {name}'s code slot at {hexaddr(address)} "
                f"in main memory. From now on calls to {name} go through table slot {value}.")

    def patch_trap(self, number: int, why: str) -> str:
        return f"Module {number}'s patch trapped: {why}. The main module keeps interpreting."

    def patched(self, number: int) -> str:
        return f"Module {number}'s patch returned: its functions are installed and relocated."

    def jit_done(self, status: int, count: int) -> str:
        if status == 0:
            return f"instantiate returned 0 (success): {count} function(s) now run as JIT code."
        return (f"instantiate returned {status} (failure): the {count} function(s) are marked "
                f"failed and stay interpreted.")

    def call(self, name: str, args: Sequence[int], slot: int, target: str) -> str:
        text = call_text(name, args)
        if slot == 0:
            return (f"The host calls main's invoke for {text}. Its code slot is 0, so main runs "
                    f"it in the bytecode interpreter (which counts every call).")
        return (f"The host calls main's invoke for {text}. Its code slot holds {slot}, so main "
                f"does call_indirect through table slot {slot} -> {target}.")

    def result(self, name: str, args: Sequence[int], value: int, via: str) -> str:
        return f"{call_text(name, args)} returned {value} ({via})."

    def trap(self, name: str, args: Sequence[int], code: str, message: str,
             why: str | None = None) -> str:
        why = why or TRAP_WHY.get(code, message)
        return f"{call_text(name, args)} trapped with {code}: {why}. wasmtime said: {message}"

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

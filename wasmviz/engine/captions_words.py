"""The words captions share: section names, what each section and element segment is for, why
a trap happens, and how an address, a call and a function type are written.

Kept apart from the captions of each phase (captions_generate.py, captions_link.py,
captions_call.py) because several of them, and the recorder and the foreign-module host, use
these; captions.py re-exports every name, where the engine has always imported them from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    import wasmtime

SECTION_NAMES = {0: "custom", 1: "type", 2: "import", 3: "function", 4: "table", 5: "memory",
                 6: "global", 7: "export", 8: "start", 9: "element", 10: "code", 11: "data",
                 12: "data count"}


#: What each section is for, as the JIT writes it; ``{link}`` is the function that links the
#: module in (LINK_CODE): patch, the start function, or __wasm_apply_data_relocs.
_SECTION_WHY = {
    1: "one function type per arity (every function takes its own object address last), "
       "plus the types of {link} and of the host's note",
    2: "the module imports the host's note function and, crucially, the main module's own "
       "table and memory: that is what lets new code reach old code and data",
    3: "which type each new function has; {link} comes last",
    7: "patch, which the host will call, and each new function under its source name",
    9: "a declarative segment listing the new functions. It fills no table: it declares them "
       "for ref.func, which patch uses. (Exporting a function declares it too; the segment "
       "also covers any function the JIT does not export)",
    10: "each function's body, translated op by op from its bytecode, then {link}'s body",
}

#: The function that links a generated module in, by link style (docs/abi.md).
LINK_CODE = {"patch": "patch", "start": "the start function", "pic": "__wasm_apply_data_relocs"}


def _for(style: str, whys: dict[int, str]) -> dict[int, str]:
    return {k: v.replace("{link}", LINK_CODE[style]) for k, v in whys.items()}


#: What each section is for in link style patch.
SECTION_WHY = _for("patch", _SECTION_WHY)

#: What a section is for in link styles start and pic, where it differs from patch's.
LINK_SECTION_WHY: dict[str, dict[int, str]] = {
    "start": {
        **_for("start", {k: _SECTION_WHY[k] for k in (1, 3)}),
        7: "each new function under its source name. There is no patch to export: the start "
           "function runs by itself",
        8: "it names the start function, which wasm runs at the end of instantiation: the "
           "module links itself in while the host is still instantiating it",
        10: _for("start", {10: _SECTION_WHY[10]})[10] + " (table.grow, table.init, the "
                                                         "relocations)",
    },
    "pic": {
        **_for("pic", {k: _SECTION_WHY[k] for k in (1, 3)}),
        2: "the host's note function, the main module's own table and memory, and two "
           "immutable i32 globals, env.__table_base and env.__memory_base: where main will "
           "have reserved the module's room. The module is written without knowing them",
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
       "start function copies it into the table with table.init (one for the new slots in a row, one "
       "per free slot reused)",
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

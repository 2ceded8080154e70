"""Captions of the first three phases: set-up, the JIT writing a module, and compiling it.

Mixed into captions.Captions (the one object the recorder holds), like the other phases'.
Facts (slots, addresses, sizes, records) are read by the caller and passed in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, Sequence

from .captions_words import LINK_SECTION_WHY, SECTION_NAMES, SECTION_WHY, SEGMENT_WHY, hexaddr

if TYPE_CHECKING:
    from .trace import FunctionRecord

#: The link function a module of each link style carries, in words.
_LINK_FUNCTION = {"patch": "patch", "start": "its start function",
                  "pic": "__wasm_apply_data_relocs"}


class GenerateCaptions:
    """The set-up, generate and compile phases' wording."""

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

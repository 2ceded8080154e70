"""Captions of the link and patch phases: instantiating a module, its link code (patch, a start
function, __wasm_apply_data_relocs) filling main's table and code slots, and how the batch ended.

Mixed into captions.Captions (the one object the recorder holds), like the other phases'.
Facts (slots, labels, bases, what is installed) are read by the caller and passed in.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .captions_words import hexaddr

#: What the host hands a generated module for each import, in words (Machine.PROVIDERS).
_PROVIDED = {"host.note": "the host's note function", "main.table": "the main module's table",
             "main.memory": "the main module's memory",
             "env.__table_base": "an immutable i32 global holding the table base main reserved",
             "env.__memory_base": "an immutable i32 global holding the memory base main "
                                  "reserved"}


def _slots(base: int, count: int) -> str:
    """``slot 6`` or ``slots 6-9``."""
    return f"slot {base}" if count == 1 else f"slots {base}-{base + count - 1}"


def _cap(text: str) -> str:
    """``text`` with its first letter capitalised (a caption may start with a name)."""
    return text[:1].upper() + text[1:]


#: The providers that are link style pic's base globals.
_BASES = ("env.__table_base", "env.__memory_base")


class LinkCaptions:
    """The link and patch phases' wording."""

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
        slots = _slots(base, delta)
        asked = (f"The module's dylink.0 asks for {dylink['tablesize']} table slot(s) and "
                 f"{dylink['memorysize']} bytes of memory. " if dylink else "")
        memory = ("It has no data, so main reserves no memory; __memory_base will be the "
                  "heap's next free byte." if dylink and dylink["memorysize"] == 0 else "")
        return (f"{asked}Before asking the host to instantiate it, main reserved the room "
                f"itself: its own table.grow returned {base}, so {slots} (null for now) "
                f"{'is' if delta == 1 else 'are'} the module's. {memory}").rstrip()

    def no_room(self, delta: int) -> str:
        return (f"Main tried to reserve {delta} table slot(s) for the module, but its "
                f"table.grow returned -1: the store's table limit is reached. A loader with no "
                f"room does not instantiate: no module is compiled, and jit_flush records "
                f"status 4 (no room).")

    def grow(self, base: int, delta: int, who: str = "patch") -> str:
        slots = _slots(base, delta)
        return (f"{_cap(who)} ran table.grow: the table gained {delta} slot(s), {slots}, null "
                f"for now. table.grow returned the first new index, {base}.")

    def table_set(self, slot: int, label: str, who: str = "patch") -> str:
        return f"{_cap(who)} ran table.set: slot {slot} now holds {label}."

    def table_init(self, base: int, count: int, labels: Sequence[str], who: str) -> str:
        return (f"{_cap(who)} ran one table.init: it copied {count} function(s) of the passive "
                f"element segment into {_slots(base, count)}, which now hold "
                f"{', '.join(labels)}.")

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

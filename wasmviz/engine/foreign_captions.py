"""The foreign link's captions (issue 13): the host, not main's JIT, loads and links the user's
module, so these say so where the recorder's own captions would say "returns status N to the
main module". Facts (bindings, what changed, the slot called) are read by the caller.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from .captions import hexaddr
from .instantiate import extern_kind

if TYPE_CHECKING:
    import wasmtime

    from .foreign_files import ForeignModule
    from .foreign_imports import Binding
    from .trace import TrapInfo


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
        imports = [f"{i.module}.{i.name} ({extern_kind(i.type)})" for i in module.imports]
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

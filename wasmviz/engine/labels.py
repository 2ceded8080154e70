"""Labels for main memory: what the bytes at an address are, for the trace's memory changes.

Each change a step records is cut at field boundaries and named ("fib.code_slot",
"state.queue_len", "f's bytecode (bytes)"), from the layout main exported and the functions
the host defined, so a view shows what changed without knowing the memory map.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .layout import FUNC_FIELDS, STATE_FIELDS

if TYPE_CHECKING:
    from .machine import Machine


class MemoryLabels:
    """A ``snapshot.Labeller`` for one machine's main memory."""

    def __init__(self, machine: Machine) -> None:
        self.machine = machine
        #: The module whose bytes the JIT buffer holds (Machine.next_module_number), set by
        #: the recorder as it reads memory for a step.
        self.module = 1

    def __call__(self, lo: int, hi: int) -> list[tuple[int, int, str, bool]]:
        """Split ``[lo, hi)`` into pieces labelled with what the bytes are.

        i32 fields (state, arguments, queue, function objects) are kept whole.
        """
        pieces = []
        p = lo
        while p < hi:
            end, label, whole = self.field_at(p, hi)
            pieces.append((p, min(end, hi), label, whole))
            p = min(end, hi)
        return pieces

    def field_at(self, p: int, hi: int) -> tuple[int, str, bool]:
        """Return where the labelled piece holding ``p`` ends, its label, and whether it is an
        i32 field (reported whole)."""
        m, L = self.machine, self.machine.layout
        region = L.region(p)
        if region == "state":
            i = (p - L.state_base) // 4
            return L.state_base + 4 * (i + 1), f"state.{STATE_FIELDS[i]}", True
        if region in ("args", "queue"):
            base = L.args_base if region == "args" else L.queue_base
            i = (p - base) // 4
            return base + 4 * (i + 1), f"{region}[{i}]", True
        if region in ("free", "module_of"):
            base = L.free_base if region == "free" else L.module_of
            i = (p - base) // 4
            if region == "module_of":
                f = m.function_at(L.funcs_base + i * L.func_size)
                return base + 4 * (i + 1), f"module_of[{f.name if f else i}]", True
            return base + 4 * (i + 1), f"free[{i}]", True
        if region == "functions":
            obj = L.funcs_base + (p - L.funcs_base) // L.func_size * L.func_size
            field = (p - obj) // 4
            f = m.function_at(obj)
            name = f.name if f else f"object@{obj:#x}"
            return obj + 4 * (field + 1), f"{name}.{FUNC_FIELDS[field]}", True
        if region == "heap":
            for f in m.functions.values():
                # Not "f.name"/"f.bytecode": those label the object's pointer fields.
                if f.name_ptr <= p < f.name_ptr + len(f.name.encode()):
                    return f.name_ptr + len(f.name.encode()), f"{f.name}'s name (text)", False
                if f.code_ptr <= p < f.code_ptr + len(f.code):
                    return f.code_ptr + len(f.code), f"{f.name}'s bytecode (bytes)", False
            return hi, "heap", False
        if region == "stack":
            return min(hi, L.vstack_end), "interpreter stack", False
        if region == "jit":
            return min(hi, L.jit_buf_end), f"module {self.module} bytes", False
        return hi, "", False

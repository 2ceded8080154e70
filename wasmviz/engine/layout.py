"""The main module's memory map, read from its exported globals (never hard-coded here).

`assets/main.wat` owns the layout; the host learns it at instantiation, so moving a region in
the WAT cannot silently desynchronise the picture. The field tables below describe what the
bytes *mean*, for labels in the trace (docs/abi.md is the reference for both).
"""

from __future__ import annotations

from dataclasses import dataclass

import wasmtime

#: Function-object fields by byte offset (each an i32).
FUNC_FIELDS = ("code_slot", "bytecode", "length", "params", "calls", "state", "name", "name_len")

#: VM state block fields by byte offset from STATE_BASE (each an i32).
STATE_FIELDS = ("functions", "heap_ptr", "queue_len", "threshold", "window", "countdown",
                "jit_enabled", "fault", "modules", "last_status", "direct_calls")

#: Function-object states (offset 20).
FUNC_STATES = ("cold", "hot", "compiled", "failed")

_GLOBALS = ("FUNCS_BASE", "FUNC_SIZE", "MAX_FUNCS", "STATE_BASE", "ARGS_BASE", "QUEUE_BASE",
            "HEAP_BASE", "HEAP_END", "VSTACK_BASE", "VSTACK_END", "JIT_BUF", "JIT_BUF_END",
            "ENTRY_SLOT0", "MAX_PARAMS")


@dataclass(frozen=True)
class Layout:
    """Addresses and sizes exported by the main module."""

    funcs_base: int
    func_size: int
    max_funcs: int
    state_base: int
    args_base: int
    queue_base: int
    heap_base: int
    heap_end: int
    vstack_base: int
    vstack_end: int
    jit_buf: int
    jit_buf_end: int
    entry_slot0: int
    max_params: int

    @staticmethod
    def read(exports: wasmtime.InstanceExports, store: wasmtime.Storelike) -> Layout:
        """Return the layout from the main instance's exported globals."""
        values = []
        for name in _GLOBALS:
            g = exports[name]
            if not isinstance(g, wasmtime.Global):
                raise TypeError(f"main module export {name} is not a global")
            values.append(int(g.value(store)))
        return Layout(*values)

    def region(self, address: int) -> str:
        """Return the name of the region holding ``address``."""
        regions = (
            (self.state_base, self.state_base + 4 * len(STATE_FIELDS), "state"),
            (self.args_base, self.args_base + 4 * self.max_params, "args"),
            (self.queue_base, self.queue_base + 4 * self.max_funcs, "queue"),
            (self.funcs_base, self.funcs_base + self.func_size * self.max_funcs, "functions"),
            (self.heap_base, self.heap_end, "heap"),
            (self.vstack_base, self.vstack_end, "stack"),
            (self.jit_buf, self.jit_buf_end, "jit"),
        )
        for lo, hi, name in regions:
            if lo <= address < hi:
                return name
        return "other"

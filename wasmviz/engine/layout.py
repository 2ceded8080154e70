"""The main module's memory map, read from its exported globals, and what each region holds.

`wasmviz/data/main.wat` owns the layout; the host learns it at instantiation and the recorder stores
it in the trace, so every view draws the map the run really had: moving a region in the WAT
cannot silently desynchronise the picture. The field tables below describe what the bytes
*mean*, for labels in the trace (docs/abi.md is the reference for both).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from functools import cache
from typing import TYPE_CHECKING, Any, Mapping, NamedTuple

if TYPE_CHECKING:
    import wasmtime

#: Function-object fields by byte offset (each an i32).
FUNC_FIELDS = ("code_slot", "bytecode", "length", "params", "calls", "state", "name", "name_len")

#: VM state block fields by byte offset from STATE_BASE (each an i32).
STATE_FIELDS = ("functions", "heap_ptr", "queue_len", "threshold", "window", "countdown",
                "jit_enabled", "fault", "modules", "last_status", "direct_calls",
                "callback_notes", "free_len", "slots_freed", "slots_reused")

#: Function-object states (offset 20).
FUNC_STATES = ("cold", "hot", "compiled", "failed")

_GLOBALS = ("FUNCS_BASE", "FUNC_SIZE", "MAX_FUNCS", "STATE_BASE", "ARGS_BASE", "QUEUE_BASE",
            "HEAP_BASE", "HEAP_END", "VSTACK_BASE", "VSTACK_END", "JIT_BUF", "JIT_BUF_END",
            "ENTRY_SLOT0", "MAX_PARAMS", "FREE_BASE", "MAX_FREE", "MODULE_OF")


class Region(NamedTuple):
    """Main memory ``[start, end)``: ``key`` for code, ``name`` and ``meaning`` for people."""

    key: str
    name: str
    start: int
    end: int
    meaning: str


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
    #: The slot allocator's free list and the direct-call record (main.wat section 13). With
    #: defaults: a layout saved before they existed reads back with main.wat's values.
    free_base: int = 0x00800
    max_free: int = 256
    module_of: int = 0x00C00

    @staticmethod
    def read(exports: wasmtime.InstanceExports, store: wasmtime.Storelike) -> Layout:
        """Return the layout from the main instance's exported globals."""
        # Imported here, not at the top: a trace read back from JSON carries a Layout and
        # needs no wasmtime.
        import wasmtime

        values = []
        for name in _GLOBALS:
            g = exports[name]
            if not isinstance(g, wasmtime.Global):
                raise TypeError(f"main module export {name} is not a global")
            values.append(int(g.value(store)))
        return Layout(*values)

    def regions(self) -> tuple[Region, ...]:
        """Return the regions of the memory map in address order, each as far as it is used.

        The state block and the arguments end after their last field, not at the 256 bytes
        main.wat reserves for each: nothing lies beyond, and no global says how much is reserved.
        """
        return _regions(self)  # asked for every labelled byte range: built once per layout

    def region_at(self, address: int) -> Region | None:
        """Return the region holding ``address`` (None between and beyond them)."""
        return next((r for r in self.regions() if r.start <= address < r.end), None)

    def region(self, address: int) -> str:
        """Return the key of the region holding ``address``, or ``other``."""
        r = self.region_at(address)
        return r.key if r else "other"

    def state_field(self, name: str) -> int:
        """Return the address of the VM state block's field ``name`` (see STATE_FIELDS)."""
        return self.state_base + 4 * STATE_FIELDS.index(name)

    def to_json(self) -> dict[str, int]:
        return asdict(self)

    @staticmethod
    def from_json(d: Mapping[str, Any] | None) -> Layout:
        """Read a layout saved by ``to_json``; what is missing comes from DEFAULT_LAYOUT."""
        known = {f.name for f in fields(Layout)}
        return replace(DEFAULT_LAYOUT, **{k: int(v) for k, v in (d or {}).items() if k in known})


@cache
def _regions(layout: Layout) -> tuple[Region, ...]:
    regions = (
        Region("state", "VM state", layout.state_base, layout.state_base + 4 * len(STATE_FIELDS),
               "The VM state block: the main module's counters and settings (functions "
               "defined, heap pointer, queue length, tier-up threshold and window, "
               "countdown, modules generated, ...)."),
        Region("args", "args", layout.args_base, layout.args_base + 4 * layout.max_params,
               "Where the host writes the arguments for invoke before each top-level "
               "call."),
        Region("queue", "hot queue", layout.queue_base, layout.queue_base + 4 * layout.max_funcs,
               "The hot queue: addresses of functions that became hot and wait for the "
               "JIT's next batch."),
        Region("free", "free slots", layout.free_base, layout.free_base + 4 * layout.max_free,
               "The JIT's free list: table slots main set to null when a function was "
               "redefined. The next batch takes its slots from here before it grows the "
               "table (state.free_len says how many entries are in use)."),
        Region("module_of", "module of", layout.module_of,
               layout.module_of + 4 * layout.max_funcs,
               "One i32 per function object: the module that compiled it with direct calls "
               "to its batch-mates (0: none). A redefinition retires those batch-mates too."),
        Region("functions", "function objects", layout.funcs_base,
               layout.funcs_base + layout.func_size * layout.max_funcs,
               f"One {layout.func_size}-byte object per function: code slot, bytecode "
               "pointer and length, params, call count, state, name. The code slot is the "
               "table index every call goes through (0 = not compiled, interpret it)."),
        Region("heap", "heap", layout.heap_base, layout.heap_end,
               "Names and bytecode that the host's front end wrote for each function."),
        Region("stack", "interpreter stack", layout.vstack_base, layout.vstack_end,
               "The interpreter's value stack, used while bytecode runs."),
        Region("jit", "JIT buffer", layout.jit_buf, layout.jit_buf_end,
               "Where the main module's template JIT writes each new module's bytes; the "
               "host compiles them from here (the buffer is reused for every batch)."),
    )
    return tuple(sorted(regions, key=lambda r: r.start))


#: main.wat's layout when traces began to carry theirs. Only a trace saved before then (which
#: has no "layout") is drawn with it; tests/test_ui_layout.py keeps it equal to main.wat's.
DEFAULT_LAYOUT = Layout(funcs_base=0x01000, func_size=32, max_funcs=256, state_base=0x00100,
                        args_base=0x00200, queue_base=0x00400, heap_base=0x03000,
                        heap_end=0x10000, vstack_base=0x10000, vstack_end=0x20000,
                        jit_buf=0x20000, jit_buf_end=0x80000, entry_slot0=1, max_params=4)

"""The UI's copy of the memory map is the one the main module really exports.

The trace does not carry the layout globals, so the views keep one copy (memory_view) and the
diagram places its bands with the same numbers; this test ties both to main.wat's exports.
"""

from wasmviz.engine import Machine
from wasmviz.ui import diagram_items, memory_view as mv


def test_memory_view_constants_match_the_main_module() -> None:
    layout = Machine(record=False).layout
    assert (mv.STATE_BASE, mv.ARGS_BASE, mv.QUEUE_BASE, mv.FUNCS_BASE, mv.FUNC_SIZE,
            mv.MAX_FUNCS, mv.HEAP_BASE, mv.VSTACK_BASE, mv.JIT_BUF, mv.JIT_BUF_END) == (
        layout.state_base, layout.args_base, layout.queue_base, layout.funcs_base,
        layout.func_size, layout.max_funcs, layout.heap_base, layout.vstack_base,
        layout.jit_buf, layout.jit_buf_end)


def test_diagram_regions_match_the_main_module() -> None:
    layout = Machine(record=False).layout
    starts = {r.key: r.lo for r in diagram_items.REGIONS}
    assert starts == {"state": layout.state_base, "args": layout.args_base,
                      "queue": layout.queue_base, "functions": layout.funcs_base,
                      "heap": layout.heap_base, "stack": layout.vstack_base,
                      "jit": layout.jit_buf}
    assert diagram_items.REGIONS[-1].hi == layout.jit_buf_end

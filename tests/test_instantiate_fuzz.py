"""Whatever bytes reach the host's instantiate path, the answer is a status, never an exception.

Review D10/D11/D15: a module without `patch`, a `patch` of another kind or type, a note the
recorder cannot take, a huge grow or a runaway start function raised a Python exception or
aborted main's jit_flush. Mutants of a real generated module, and hand-written hostile
modules, go through Machine.instantiate_bytes (the same _on_instantiate main calls).
"""

from __future__ import annotations

import functools

import pytest
import wasmtime
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strategies import mutated
from wasmviz.engine import Scenario, run
from wasmviz.engine.machine import (INVALID_MODULE, LINK_ERROR, MAX_TABLE_ELEMENTS, OK,
                                    PATCH_TRAPPED, Machine)

STATUSES = {OK, INVALID_MODULE, LINK_ERROR, PATCH_TRAPPED}
IMPORTS = ('(import "host" "note" (func $note (param i32 i32 i32)))'
           '(import "main" "table" (table 0 funcref))'
           '(import "main" "memory" (memory 1))')


@functools.lru_cache(maxsize=1)
def generated_module() -> bytes:
    trace = run(Scenario(exprs=("x * x + 3",), args=(7,), jit_now=True), disassemble=False)
    return next(s.module.data for s in trace.steps if s.module is not None)


def fresh_machine() -> Machine:
    machine = Machine(fuel=20_000_000)
    machine.load("x * x + 3", expr_name="expr")
    return machine


def module(body: str) -> bytes:
    return wasmtime.wat2wasm(f"(module {IMPORTS} {body})")


def mutants() -> st.SearchStrategy[bytes]:
    return st.deferred(lambda: mutated(generated_module()))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutants())
def test_a_mutated_generated_module_gets_a_status(data: bytes) -> None:
    machine = fresh_machine()
    assert machine.instantiate_bytes(data) in STATUSES
    # The main module stays usable: a call ends in a result or a trap (a mutant may have put
    # its own code in the slot), never an exception.
    result, trap = machine.call("expr", [7])
    assert (result is None) != (trap is None)


HOSTILE = {
    "no patch": (module('(func (export "f"))'), PATCH_TRAPPED),
    "patch is a global": (module('(global (export "patch") i32 (i32.const 0))'), PATCH_TRAPPED),
    "patch takes a parameter": (module('(func (export "patch") (param i32))'), PATCH_TRAPPED),
    "patch returns a value": (module('(func (export "patch") (result i32) i32.const 1)'),
                              PATCH_TRAPPED),
    "patch traps": (module('(func (export "patch") unreachable)'), PATCH_TRAPPED),
    "patch loops forever": (module('(func (export "patch") (loop br 0))'), PATCH_TRAPPED),
    "start loops forever": (module('(func $s (loop br 0)) (start $s) (func (export "patch"))'),
                            LINK_ERROR),
    "huge table.grow": (module('(func (export "patch") ref.null func i32.const 1000000000 '
                               'table.grow 0 drop)'), OK),
    "huge memory.grow": (module('(func (export "patch") i32.const 65535 memory.grow 0 '
                                'drop)'), OK),
    "note of a huge batch": (module('(func (export "patch") i32.const 1 i32.const 2147483647 '
                                    'i32.const 0 call $note)'), None),
    "note of a slot far below zero": (module('(func (export "patch") i32.const 17 '
                                             'i32.const -2000000000 i32.const 0 call $note)'),
                                      None),
    "a flood of notes": (module('(func (export "patch") (local i32) (loop i32.const 16 '
                                'i32.const 0 i32.const 1 call $note local.get 0 i32.const 1 '
                                'i32.add local.tee 0 i32.const 100000 i32.lt_u br_if 0))'),
                         None),
    "not wasm": (b"\x00asm\x01\x00\x00\x00\xff\xff", INVALID_MODULE),
    "empty": (b"", INVALID_MODULE),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_module_gets_a_status_and_a_clear_step(name: str) -> None:
    data, expected = HOSTILE[name]
    machine = fresh_machine()
    status = machine.instantiate_bytes(data)
    assert status in STATUSES if expected is None else status == expected
    assert machine.table.size(machine.store) <= MAX_TABLE_ELEMENTS
    trace = machine.recorder.trace(None, None)  # type: ignore[union-attr]
    last = trace.steps[-1]
    if status != OK:
        # The last step says what went wrong, in words.
        assert last.error or last.trap, last
        text = (last.error or "") + (last.trap.message if last.trap else "") + last.caption
        assert len(text) > 20
    assert machine.call("expr", [7]) == (52, None)


def test_a_module_without_patch_is_named_in_the_step() -> None:
    machine = fresh_machine()
    assert machine.instantiate_bytes(HOSTILE["no patch"][0]) == PATCH_TRAPPED
    last = machine.recorder.trace(None, None).steps[-1]  # type: ignore[union-attr]
    assert last.trap is not None and "exports no `patch`" in last.trap.message

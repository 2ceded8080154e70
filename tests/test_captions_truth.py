"""Captions and their structured claims are held to the state recorded in the same step.

A step's ``detail`` says things about the run: which code slot a call used, whether that slot
reaches JIT code, which functions a batch installed, where a relocation points. Each of those
claims is checked here against the step's own table snapshot and its memory (rebuilt from the
trace's recorded changes, as a view would), over random programs, thresholds, windows, repeats
and every fault: a caption written from an expectation instead of the state fails this test.

The golden traces pin, per fault, the sequence of steps and their detail (not the captions'
wording, not fuel). After a deliberate change to what the engine records, regenerate them with

    WASMVIZ_REGOLD=1 .venv/bin/python -m pytest -q tests/test_captions_truth.py -k golden

and review the diff of tests/golden/*.json before committing it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strategies import i32s, programs
from wasmviz.data import PROGRAMS_DIR
from wasmviz.engine import FAULTS, Machine, Scenario, Step, Trace, run

GOLDEN = Path(__file__).resolve().parent / "golden"
#: Detail keys a golden file leaves out: fuel figures, which move with any change to main.wat.
UNPINNED = frozenset({"fuel_spent"})
PROGRAMS = PROGRAMS_DIR

#: Programs whose calls recurse, so a batch can be compiled in the middle of a call.
RECURSIVE = (
    ((PROGRAMS / "fib.wv").read_text(), "fib", 1),
    ("def sum(n, acc) = if n <= 0 then acc else sum(n - 1, acc + n)\n", "sum", 2),
    ("def g(x) = x + 1\ndef f(n) = if n <= 0 then 0 else g(n) + f(n - 1)\n", "f", 1),
    # sum gets hot long before finish: its JIT code calls back into the interpreter.
    ("def finish(t) = t * 2 + 1\n"
     "def sum(n, acc) = if n <= 0 then finish(acc) else sum(n - 1, acc + n)\n", "sum", 2),
)


class Memory:
    """Main memory as it was after each step, rebuilt from the recorded changes."""

    def __init__(self) -> None:
        self.data = bytearray()

    def apply(self, step: Step) -> None:
        size = step.memory_pages * 65536
        if len(self.data) < size:
            self.data.extend(bytes(size - len(self.data)))
        for c in step.memory_changes:
            self.data[c.address: c.address + len(c.new)] = c.new

    def i32(self, address: int) -> int:
        return int.from_bytes(self.data[address: address + 4], "little", signed=True)


def route(slot: int, step: Step) -> str:
    """Where a call through code slot ``slot`` goes, read from the step's own table."""
    if slot == 0:
        return "interpreter"
    if not 0 <= slot < len(step.table):
        return "out-of-bounds"
    kind = step.table[slot].kind
    return "jit" if kind == "generated" else kind


def holds(step: Step, slot: int, name: str) -> bool:
    """Whether table slot ``slot`` holds ``name``'s JIT code at this step."""
    return (0 < slot < len(step.table) and step.table[slot].kind == "generated"
            and step.table[slot].function == name)


def check_trace(trace: Trace, fault: str | None) -> None:
    """Assert every structured claim of every step against that step's table and memory."""
    mem, L = Memory(), trace.layout
    objects: dict[str, int] = {}
    call_start_calls: int | None = None   # f.calls when the current top-level call began
    entry_slot: int | None = None          # the slot the current call's call step used
    entry_via = ""                         # and where it went then
    compiled_imports: list[str] = []
    call_fuel = 0                          # fuel used when the current call step was noted
    last_fuel = 0
    for step in trace:
        mem.apply(step)
        assert step.fuel_used >= last_fuel, f"step {step.index}: fuel went down"
        last_fuel = step.fuel_used
        d = step.detail
        where = f"step {step.index} {step.phase}/{step.kind}: {step.caption}"
        if step.kind == "define":
            objects.update(d["objects"])
            slots = [mem.i32(objects[n]) for n in d["functions"]]
            assert ("are 0" in step.caption or "is 0" in step.caption) == all(
                s == 0 for s in slots), where
        elif step.kind == "compiled":
            compiled_imports = list(d["imports"])
        elif step.kind in ("linked", "link-error"):
            # One binding per import, in import order, each given something by the host.
            assert [b["import"] for b in d["bindings"]] == compiled_imports, where
            assert {b["provider"] for b in d["bindings"]} <= set(Machine.PROVIDERS), where
        elif step.kind == "tier-up":
            assert d["calls"] == mem.i32(d["object"] + 16), where
            assert mem.i32(L.state_field("queue_len")) >= 1, where
        elif step.kind == "table.set":
            assert step.table[d["slot"]].label == d["label"], where
        elif step.kind == "relocation":
            obj, value = objects[d["function"]], d["value"]
            assert mem.i32(obj) == value, where
            assert d["in_bounds"] == (0 <= value < len(step.table)), where
            assert d["table_size"] == len(step.table), where
            if d["problem"] is None:
                assert holds(step, value, d["function"]), where
                assert "But" not in step.caption, where
            elif fault != "bad-signature":
                assert not holds(step, value, d["function"]), where
            if not d["in_bounds"]:
                assert "does not exist" in step.caption, where
        elif step.kind in ("jit-done", "patched"):
            for name in d["installed"]:
                assert holds(step, mem.i32(objects[name]), name), where
            for name in d["not_installed"]:
                slot = mem.i32(objects[name])
                assert fault == "bad-signature" or not holds(step, slot, name), where
            if step.kind == "jit-done":
                ok = d["status"] == 0 and not d["not_installed"]
                assert ("now run as JIT code" in step.caption) == ok, where
                for name in d.get("failed", []):
                    assert mem.i32(objects[name] + 20) == 3, where
        elif step.kind == "flush":
            call_start_calls = mem.i32(d["object"] + 16)
            assert mem.i32(L.state_field("queue_len")) == d["queue_len"] >= 1, where
        elif step.kind == "call":
            obj, slot = d["object"], d["slot"]
            if not d["flushed"]:
                call_start_calls = mem.i32(obj + 16)
            entry_slot, entry_via, call_fuel = slot, d["reaches"], step.fuel_used
            assert mem.i32(obj) == slot, where             # the slot invoke really read
            # via: the branch invoke took; reaches: what the slot held when it took it.
            assert d["via"] == ("jit" if slot else "interpreter"), where
            assert d["reaches"] == route(slot, step), where
            assert d["holds"] == (step.table[slot].label if 0 <= slot < len(step.table)
                                  else "out of bounds"), where
            # No problem claimed exactly when the slot holds this function's JIT code (whose
            # type only the bad-signature fault gets wrong; the trace records no types).
            fine = slot == 0 or holds(step, slot, d["function"])
            assert (d["problem"] is None) == fine or (fault == "bad-signature" and fine), where
            if d["problem"] is None and slot != 0:
                assert d["reaches"] == "jit", where
            states = ("cold", "hot", "compiled", "failed")
            assert d["state"] == states[mem.i32(obj + 20)], where
            if slot == 0:
                assert "bytecode interpreter" in step.caption, where
            else:
                assert f"table slot {slot}" in step.caption, where
                assert "interpreter" not in step.caption, where
        elif step.kind == "callback":
            assert mem.i32(d["object"]) == d["code_slot"], where
            assert step.table[d["slot"]].label == d["entry"], where
        elif step.phase == "call" and step.kind in ("result", "trap") and "object" in d:
            obj, slot = d["object"], d["slot"]
            assert mem.i32(obj) == slot and mem.i32(obj + 16) == d["calls"], where
            assert d["via"] == ("jit" if slot else "interpreter"), where
            assert d["reaches"] == route(slot, step), where
            assert d["table_size"] == len(step.table), where
            assert d["entry_slot"] == entry_slot, where
            assert d["calls_before"] == call_start_calls, where
            assert d["interpreted"] == d["calls"] - d["calls_before"], where
            assert 0 < d["fuel_spent"] <= step.fuel_used, where
            tier = d["tier"]
            if tier == "interpreted":
                assert entry_slot == 0, where
                assert slot == 0 or not holds(step, slot, d["function"]) or (
                    fault == "bad-signature"), where
            elif tier == "tiered-up":
                assert entry_slot == 0 and holds(step, slot, d["function"]), where
            elif tier == "none":
                assert entry_slot is None, where
            else:  # entered through the table: tier is where the slot went then
                assert entry_slot not in (None, 0) and tier == entry_via, where
            if step.kind == "result":
                assert step.result is not None, where
                if tier == "interpreted":
                    assert d["interpreted"] >= 1 and "interpreted" in step.caption, where
                    assert "JIT code via" not in step.caption, where
                if tier == "jit":
                    assert f"JIT code via table slot {entry_slot}" in step.caption, where
                if tier == "tiered-up":
                    # Only a slot that reaches this function's JIT code is a tier-up; the
                    # caption says what is wrong with any other.
                    assert "started in the interpreter" in step.caption, where
                elif tier == "interpreted" and slot != 0:
                    assert "started in the interpreter" not in step.caption, where
            elif step.trap is not None and step.trap.code == "OUT_OF_FUEL":
                assert "runaway loop" not in step.caption, where
                assert f"{d['fuel_budget']:,}" in step.caption, where
                if entry_slot is not None:   # the call proper got exactly its budget
                    assert step.fuel_used - call_fuel == d["fuel_budget"], where
            entry_slot = None


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    # No fault half the time; thresholds and repeats small enough that functions get hot and
    # later calls find a batch pending (window 50) or compiled mid-call (window 0 or 1).
    fault = draw(st.one_of(st.none(), st.sampled_from(FAULTS)))
    common = dict(fault=fault, threshold=draw(st.integers(1, 3)),
                  window=draw(st.sampled_from([0, 1, 50])), repeat=draw(st.integers(1, 5)),
                  direct_calls=draw(st.booleans()),
                  fuel=draw(st.sampled_from([20_000, 300_000, 3_000_000])))
    shape = draw(st.sampled_from(["program", "recursive", "exprs"]))
    if shape == "exprs":
        exprs = tuple(draw(st.lists(st.sampled_from(["x * x + 3", "x - 1", "x / 2 + x"]),
                                    min_size=1, max_size=3)))
        return Scenario(exprs=exprs, args=(draw(st.integers(-50, 50)),), **common)
    if shape == "recursive":
        source, entry, arity = draw(st.sampled_from(RECURSIVE))
        args = tuple(draw(st.integers(0, 12)) for _ in range(arity))
    else:
        source, entry, arity = draw(programs(max_functions=3, max_depth=3))
        args = tuple(draw(i32s()) for _ in range(arity))
    return Scenario(source=source, call=entry, args=args, jit_now=draw(st.booleans()),
                    **common)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_every_structured_claim_agrees_with_its_steps_state(scenario: Scenario) -> None:
    trace = run(scenario, disassemble=False)
    check_trace(trace, scenario.fault)


def test_a_call_made_while_a_batch_is_pending_says_the_slot_it_used() -> None:
    """The review's reproduction: the third call flushes first, then calls through slot 6."""
    trace = run(Scenario(source="def f(x) = x + 1\n", call="f", args=(5,), threshold=2,
                         repeat=3), disassemble=False)
    check_trace(trace, None)
    flush = trace.find("call", "flush")
    third = trace.find("call", "call")[2]
    assert len(flush) == 1 and flush[0].index < trace.find("generate", "begin")[0].index
    assert trace.find("patch", "jit-done")[0].index < third.index
    assert (third.detail["slot"], third.detail["via"], third.detail["flushed"]) == (6, "jit", True)
    assert third.detail["reaches"] == "jit" and third.detail["holds"] == "m1.f"
    assert "interpreter" not in third.caption and "slot 6" in third.caption
    result = trace.find("call", "result")[-1]
    assert (result.detail["tier"], result.detail["interpreted"]) == ("jit", 0)
    assert "started in the interpreter" not in result.caption


def test_a_link_step_records_its_import_bindings() -> None:
    trace = run(Scenario(exprs=("x + 1",), args=(1,)), disassemble=False)
    (linked,) = trace.find("link", "linked")
    assert linked.detail["bindings"] == [
        {"import": "host.note", "kind": "func", "provider": "host.note"},
        {"import": "main.table", "kind": "table", "provider": "main.table"},
        {"import": "main.memory", "kind": "memory", "provider": "main.memory"},
    ]


# --------------------------------------------------------------------------- golden traces
def golden_of(trace: Trace) -> list[dict[str, Any]]:
    """What a golden file pins: each step's phase, kind, detail, table, result and trap code
    (no caption wording, no fuel)."""
    return [{"phase": s.phase, "kind": s.kind,
             "detail": {k: v for k, v in json.loads(json.dumps(s.detail)).items()
                        if k not in UNPINNED},
             "table": [slot.label for slot in s.table], "result": s.result,
             "trap": s.trap.code if s.trap else None} for s in trace]


@pytest.mark.parametrize("fault", FAULTS)
def test_golden_trace_per_fault(fault: str) -> None:
    trace = run(Scenario.for_fault(fault), disassemble=False)
    check_trace(trace, fault)
    got = golden_of(trace)
    path = GOLDEN / f"{fault}.json"
    if os.environ.get("WASMVIZ_REGOLD"):
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    want = json.loads(path.read_text())
    assert len(got) == len(want), f"{fault}: {len(got)} steps, golden has {len(want)}"
    for g, w in zip(got, want):
        assert g == w, f"{fault}: step {g} differs from golden {w}"

"""The trace's JSON is linear in its steps: tables, edges and records are written as changes.

With k functions made hot together, k steps each change one slot of a k-slot table and one
record of k; writing every step whole made the JSON grow as k² (issue 11). These tests check
the growth, that every step reads back exactly (and shared, as recorded), and that traces
written before (every step whole) still load.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from wasmviz.engine import Scenario, Trace
from wasmviz.engine.scenario import run
from wasmviz.engine.trace import Slot


def hot_together(k: int) -> str:
    """k functions and a main calling them all (as bench/bench_engine.py's part 5)."""
    defs = "".join(f"def f{i}(x) = x * {i + 1} + {i}\n" for i in range(k))
    return defs + "def main(x) = " + " + ".join(f"f{i}(x)" for i in range(k)) + "\n"


def record(k: int) -> Trace:
    return run(Scenario(source=hot_together(k), call="main", args=(3,), jit_now=True),
               disassemble=False)


@pytest.fixture(scope="module")
def traces() -> dict[int, Trace]:
    return {k: record(k) for k in (8, 16, 24)}


def whole_size(trace: Trace) -> int:
    """The JSON size if every step were written whole (the old way)."""
    return sum(len(json.dumps(s.to_json(), sort_keys=True)) for s in trace)


def test_json_grows_linearly_with_functions_made_hot_together(traces: dict[int, Trace]) -> None:
    size = {k: len(t.dumps()) for k, t in traces.items()}
    assert size[8] < size[16] < size[24]
    assert size[24] / size[8] <= 3.3, size
    # Equal steps of k add about equal bytes (a k² term would make the second step larger).
    assert size[24] - size[16] <= 1.15 * (size[16] - size[8]), size
    # The bound discriminates: written whole, the same traces grow faster than k.
    whole = {k: whole_size(t) for k, t in traces.items()}
    assert whole[24] / whole[8] > 3.3, whole


def test_every_step_reads_back_equal_and_shared(traces: dict[int, Trace]) -> None:
    trace = traces[16]
    text = trace.dumps()
    back = Trace.loads(text)
    assert back == trace
    for got, want in zip(back, trace):
        assert got.table == want.table and got.edges == want.edges, want.index
        assert got.functions == want.functions and got.vm == want.vm, want.index
    for prev, step in zip(back, back.steps[1:]):
        # Unchanged is shared, as when recorded: views skip work by identity.
        assert (step.table is prev.table) == (step.table == prev.table), step.index
        assert (step.functions is prev.functions) == (step.functions == prev.functions)
        for a, b in zip(step.table, prev.table):
            assert (a is b) == (a == b), step.index
    assert back.dumps() == text
    # One text, exactly json.dumps of to_json (encoded a step at a time).
    assert text == json.dumps(trace.to_json(), sort_keys=True)


def test_only_changed_slots_are_written(traces: dict[int, Trace]) -> None:
    trace = traces[16]
    raw = trace.to_json()["steps"]
    assert raw[0]["table"] == [s.to_json() for s in trace[0].table]
    assert raw[-1]["table"] == [s.to_json() for s in trace[-1].table]  # the end state whole
    for prev, step, d in zip(trace, trace.steps[1:-1], raw[1:-1]):
        if step.table == prev.table:
            assert "table" not in d, step.index
            continue
        changed = [i for i, s in enumerate(step.table)
                   if i >= len(prev.table) or s != prev.table[i]]
        assert d["table"]["n"] == len(step.table)
        assert [i for i, _ in d["table"]["set"]] == changed, step.index
    sets = [s for s in trace if s.kind == "table.set"]
    assert len(sets) == 17  # 16 functions and main: one changed slot each
    assert all(len(raw[s.index]["table"]["set"]) == 1 for s in sets if s is not trace[-1])


def legacy_json(trace: Trace) -> dict[str, Any]:
    """The trace as wasmviz wrote it before format 2: every step's table and edges whole,
    records left out when shared with the previous step."""
    steps = [s.to_json() for s in trace]
    for prev, step, d in zip(trace, trace.steps[1:], steps[1:]):
        if step.functions is prev.functions:
            del d["functions"]
        if step.vm is prev.vm:
            del d["vm"]
    return {"steps": steps, "result": trace.result,
            "trap": trace.trap.code if trace.trap else None,
            "trap_message": trace.trap.message if trace.trap else None,
            "trap_backtrace": list(trace.trap.backtrace) if trace.trap else None,
            "layout": trace.layout.to_json()}


def test_a_trace_saved_in_the_old_format_still_loads(traces: dict[int, Trace]) -> None:
    trace = traces[8]
    old = legacy_json(trace)
    assert "format" not in old and all("table" in s for s in old["steps"])
    back = Trace.loads(json.dumps(old))
    assert back == trace
    assert [s.table for s in back] == [s.table for s in trace]
    assert [s.edges for s in back] == [s.edges for s in trace]
    # Re-saved, it is written as changes.
    assert len(back.dumps()) < len(json.dumps(old, sort_keys=True)) / 2


def test_old_format_step_without_edges_has_none() -> None:
    trace = run(Scenario(exprs=("x + 1",), args=(2,)), disassemble=False)
    old = legacy_json(trace)
    linked = next(i for i, s in enumerate(trace) if s.edges)
    del old["steps"][linked]["edges"]  # the oldest files left empty edges out
    assert Trace.from_json(old)[linked].edges == ()


def test_a_step_replaced_with_another_table_is_written_as_it_is(
        traces: dict[int, Trace]) -> None:
    """Step.deltas says where the recorder saw changes; a step made by replace() keeps
    them but holds another table: the writer must not trust them for it."""
    trace = traces[8]
    i = next(s.index for s in trace if s.kind == "table.set")
    assert trace[i].deltas
    table = trace[i].table[:-1] + (Slot(len(trace[i].table) - 1, "null"),)
    edited = replace(trace, steps=trace.steps[:i] + (replace(trace[i], table=table),)
                     + trace.steps[i + 1:])
    assert Trace.loads(edited.dumps())[i].table == table


def test_hand_made_steps_without_sharing_round_trip(traces: dict[int, Trace]) -> None:
    """Equal but not shared tables and records (a hand-made trace) are compared, and
    written as changes all the same."""
    trace = traces[8]
    copied = replace(trace, steps=tuple(
        replace(s, table=tuple(replace(x) for x in s.table),
                functions=tuple(replace(f) for f in s.functions), deltas=())
        for s in trace))
    assert copied.dumps() == trace.dumps()
    assert Trace.loads(copied.dumps()) == trace


@pytest.mark.parametrize("change, message", [
    ({"n": 99, "set": []}, "cannot make 99"),
    ({"n": 3, "set": [[7, {"index": 7, "kind": "null"}]]}, "outside 0..2"),
    ([1, 2], None),
    ("slots", "must be a list or"),
])
def test_a_malformed_change_is_refused_with_a_value_error(
        traces: dict[int, Trace], change: Any, message: str | None) -> None:
    data = traces[8].to_json()
    data["steps"][3]["table"] = change
    with pytest.raises((ValueError, TypeError)) as info:
        Trace.from_json(data)
    if message:
        assert message in str(info.value)


def test_a_module_written_once_is_referred_to_after(traces: dict[int, Trace]) -> None:
    trace = traces[8]
    raw = trace.to_json()["steps"]
    refs = [d["module"]["same_as"] for d in raw if d["module"] and "same_as" in d["module"]]
    assert refs and all(raw[r]["module"]["bytes"] for r in refs)
    bad = trace.to_json()
    at = next(i for i, d in enumerate(bad["steps"])
              if d["module"] and "same_as" in d["module"])
    bad["steps"][at]["module"] = {"same_as": at}  # not an earlier step
    with pytest.raises(ValueError, match="no module at step"):
        Trace.from_json(bad)

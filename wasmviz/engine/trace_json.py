"""Reading and writing a trace as JSON: format 2 (changes only) and the older formats.

trace.py holds what a trace *is* (Step, Trace and the records they carry) and each record's own
to_json/from_json; this module holds how a whole trace becomes text and back: writing each
step's table, edges and records as changes of the previous step's, sharing unchanged items
again on reading, and upgrading traces saved before records existed. It is apart because that
bookkeeping (about half of trace.py) is needed only by a save or a load, never by a view; the
public entry points stay Trace.to_json, Trace.dumps, Trace.from_json, Trace.loads and
Step.from_json, which call the functions here.
"""

from __future__ import annotations

import json
from dataclasses import replace
from itertools import compress, count
from operator import is_not
from typing import Any, Iterable, Mapping

from .layout import Layout
from .trace import (Delta, Edge, FunctionRecord, InstanceRecord, MemoryChange, ModuleInfo,
                    Slot, Step, Trace, TrapInfo, VmState, holder, instances_in)


def step_from_json(d: Mapping[str, Any], prev: Step | None = None) -> Step:
    """Step.from_json: read a step, against ``prev`` in a trace of format 2."""
    deltas: list[Delta] = []
    if prev is None:
        table = tuple(Slot.from_json(s) for s in d["table"])
        edges = tuple(Edge.from_json(e) for e in d.get("edges", ()))
        functions = tuple(FunctionRecord.from_json(f) for f in d.get("functions") or ())
        vm = VmState.from_json(d["vm"]) if d.get("vm") else None
        instances = instances_in(_instances(d.get("instances")), table)
    else:
        table = _decode(d.get("table", _SAME), prev.table, Slot.from_json, deltas)
        edges = _decode(d.get("edges", _SAME), prev.edges, Edge.from_json, deltas)
        functions = _decode(d.get("functions", _SAME), prev.functions,
                            FunctionRecord.from_json, deltas)
        vm = (prev.vm if "vm" not in d
              else VmState.from_json(d["vm"]) if d["vm"] else None)
        # What each instance has in the table is the table's to say: derived again where
        # the table or the instances changed, else shared with the previous step.
        if "instances" in d:
            instances = _reshare(prev.instances,
                                 instances_in(_instances(d["instances"]), table))
        elif table is not prev.table and prev.instances:
            instances = _reshare(prev.instances, _held_after(prev, table, deltas))
        else:
            instances = prev.instances
    return Step(
        index=d["index"], phase=d["phase"], kind=d["kind"], caption=d["caption"],
        table=table, memory_pages=d["memory_pages"],
        memory_changes=tuple(MemoryChange.from_json(c) for c in d["memory_changes"]),
        module=ModuleInfo.from_json(d["module"]) if d.get("module") else None,
        edges=edges, result=d.get("result"),
        trap=TrapInfo(d["trap"], d.get("trap_message") or "",
                      tuple(d.get("trap_backtrace") or ())) if d.get("trap") else None,
        error=d.get("error"), fuel_used=d.get("fuel_used", 0),
        detail=dict(d.get("detail", {})), functions=functions, vm=vm,
        instances=instances, deltas=tuple(deltas),
    )


def trace_to_json(trace: Trace) -> dict[str, Any]:
    """Trace.to_json: the trace as plain data, each step written as changes (see there)."""
    steps: list[dict[str, Any]] = []
    prev: Step | None = None
    modules: dict[int, tuple[ModuleInfo, int]] = {}  # number -> (module, step written)
    last = len(trace.steps) - 1
    for i, step in enumerate(trace.steps):
        d = _without_module(step)
        if step.module is not None:
            seen = modules.get(step.module.number)
            if seen and (seen[0] is step.module or seen[0] == step.module):
                d["module"] = {"same_as": seen[1]}
            else:
                d["module"] = step.module.to_json()
                modules[step.module.number] = (step.module, step.index)
        whole = prev is None or i == last
        _encode(d, "table", step.table, prev.table if prev else None, whole, step.deltas)
        _encode(d, "edges", step.edges, prev.edges if prev else None, whole, step.deltas)
        _encode(d, "functions", step.functions, prev.functions if prev else None, False,
                step.deltas)
        if prev is None or step.vm is not prev.vm and step.vm != prev.vm:
            d["vm"] = step.vm.to_json() if step.vm else None
        # The store's instances: written where one was made (not where only what the table
        # holds of them changed: that is the table's to say, and read back from it; writing
        # it at every table.set made the JSON grow as k squared with k functions).
        if prev is None or _made(step.instances) != _made(prev.instances):
            d["instances"] = [_made_json(i) for i in step.instances]
        steps.append(d)
        prev = step
    return {"format": 2, "steps": steps, "result": trace.result,
            "trap": trace.trap.code if trace.trap else None,
            "trap_message": trace.trap.message if trace.trap else None,
            "trap_backtrace": list(trace.trap.backtrace) if trace.trap else None,
            "layout": trace.layout.to_json(), "instances_measured": trace.instances_measured}


def trace_dumps(trace: Trace, indent: int | None = None) -> str:
    """Trace.dumps: the trace as JSON text, in one string.

    Without ``indent`` the text is json.dumps(to_json(), sort_keys=True) exactly, but
    encoded a step at a time and joined once: one json.dumps of the whole got slower
    per byte as the trace grew (three copies of a trace took 3.7x one), and every
    further concatenation of the text copied another megabyte; this way the time stays
    proportional to the text (bench/bench_engine.py, part 5).
    """
    d = trace.to_json()
    if indent is not None:
        return json.dumps(d, indent=indent, sort_keys=True)
    encode = _ENCODER.encode
    parts: list[str] = []  # joined once at the end: the text is copied once
    for key, value in sorted(d.items()):
        parts += ("{" if not parts else ", ", encode(key), ": ")
        if key != "steps":
            parts.append(encode(value))
            continue
        parts.append("[")
        for i, step in enumerate(value):
            if i:
                parts.append(", ")
            parts.append(encode(step))
        parts.append("]")
    parts.append("}")
    return "".join(parts)


def trace_from_json(d: Mapping[str, Any]) -> Trace:
    """Trace.from_json: read a trace of any format (see there)."""
    trap = TrapInfo(d["trap"], d.get("trap_message") or "",
                    tuple(d.get("trap_backtrace") or ())) if d.get("trap") else None
    layout = Layout.from_json(d.get("layout"))
    measured = d.get("instances_measured")
    measured = measured if isinstance(measured, int) and not isinstance(measured, bool) \
        else None
    raw = list(d["steps"])
    changes = d.get("format", 1) >= 2
    if raw and "vm" not in raw[0]:
        # Saved before steps carried records (or without them): decode them from the
        # trace's own memory, once, here in the engine (records.py), so every reader
        # finds them.
        from .records import with_records
        read = _read_changes(raw) if changes else tuple(step_from_json(s) for s in raw)
        return with_records(Trace(read, d.get("result"), trap, layout, measured))
    if changes:
        return Trace(_read_changes(raw), d.get("result"), trap, layout, measured)
    steps: list[Step] = []
    for s in raw:
        step = step_from_json(s)
        if steps:
            prev = steps[-1]  # left out because unchanged: share, as when recorded
            step = replace(step, functions=_shared(prev.functions, step.functions)
                           if "functions" in s else prev.functions,
                           vm=step.vm if "vm" in s else prev.vm)
        steps.append(step)
    return Trace(tuple(steps), d.get("result"), trap, layout, measured)


_ENCODER = json.JSONEncoder(sort_keys=True)

#: A left-out table, edges or records (Trace.to_json): the previous step's.
_SAME: Any = object()


def _encode(d: dict[str, Any], key: str, now: tuple[Any, ...],
            before: tuple[Any, ...] | None, whole: bool, deltas: tuple[Delta, ...]) -> None:
    """Write ``now`` into ``d[key]`` as a change of ``before`` (see Trace.to_json).

    Where the change is, a Delta of the step says when it has one for these two tuples (a
    step then costs what it changed). Otherwise equal items are usually the same objects
    (the recorder and _decode share them), so an identity test run in C by map/compress
    finds the few candidates, and only those are compared field by field.
    """
    if before is None or whole:
        d[key] = [x.to_json() for x in now]
        return
    if now is before:
        return  # left out: the previous step's
    known = next((x.at for x in deltas if x.now is now and x.before is before), None)
    if known is not None:
        moved: Iterable[int] = (i for i in known if i < len(before))
    else:
        moved = compress(count(), map(is_not, now, before))  # stops at the shorter
    sets = [[i, now[i].to_json()] for i in moved if now[i] != before[i]]
    sets += [[i, now[i].to_json()] for i in range(len(before), len(now))]
    if sets or len(now) != len(before):
        d[key] = {"n": len(now), "set": sets}


def _decode(value: Any, before: tuple[Any, ...], read: Any,
            deltas: list[Delta]) -> tuple[Any, ...]:
    """Read what _encode wrote, sharing every item (and the tuple) that did not change;
    append to ``deltas`` where a change was."""
    if value is _SAME:
        return before
    if isinstance(value, list):
        return _reshare(before, tuple(read(x) for x in value))
    if not isinstance(value, Mapping) or not isinstance(value.get("n"), int) \
            or not isinstance(value.get("set"), list):
        raise ValueError(f"a change must be a list or {{\"n\", \"set\"}}, not {value!r:.80}")
    n = value["n"]
    if not 0 <= n <= len(before) + len(value["set"]):
        raise ValueError(f"a change of {len(value['set'])} items cannot make {n} from "
                         f"{len(before)}")
    items: list[Any] = list(before[:n]) + [_SAME] * (n - len(before))
    at = []
    for i, x in value["set"]:
        if not isinstance(i, int) or not 0 <= i < n:
            raise ValueError(f"change at {i!r}, outside 0..{n - 1}")
        items[i] = read(x)
        at.append(i)
    if n > len(before) and not set(range(len(before), n)) <= set(at):
        raise ValueError("a change leaves items undefined")
    now = tuple(items)
    deltas.append(Delta(before, now, tuple(at)))
    return now


def _held_after(prev: Step, table: tuple[Slot, ...],
                deltas: list[Delta]) -> tuple[InstanceRecord, ...]:
    """prev's instances with what ``table`` holds of them, from the slots that changed.

    A slot that gained a function adds it to its instance's ``in_table``; only a slot that
    lost one (main freeing a redefined function's slot, a rare step) needs the whole table
    read again, since the function may still be in another slot. Reading the table at every
    step that changed it made loading grow as k squared with k functions made hot together.
    """
    delta = next((x for x in deltas if x.now is table), None)
    if delta is None or len(table) < len(prev.table):
        return instances_in(prev.instances, table)
    added: dict[int, set[str]] = {}
    for p in delta.at:
        old = prev.table[p] if p < len(prev.table) else None
        new = table[p]
        if old is not None and old.kind != "null" and \
                (old.kind, old.module, old.function) != (new.kind, new.module, new.function):
            return instances_in(prev.instances, table)
        if (h := holder(new)) is not None:
            added.setdefault(h[0], set()).add(h[1])
    out = []
    for i in prev.instances:
        if i.module in added:
            have = added[i.module].union(i.in_table)   # sets: a batch has many functions
            i = replace(i, in_table=tuple(f for f in i.functions if f in have))
        out.append(i)
    return tuple(out)


def _made(instances: tuple[InstanceRecord, ...]) -> tuple[tuple[Any, ...], ...]:
    """What a step's instances are, apart from what the table holds of them."""
    return tuple((i.module, i.functions, i.code_bytes, i.linked) for i in instances)


def _made_json(i: InstanceRecord) -> dict[str, Any]:
    d = i.to_json()
    del d["in_table"]   # derived from the step's table when read back
    return d


def _instances(value: Any) -> tuple[InstanceRecord, ...]:
    """A step's ``instances`` as written (a list), or none."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValueError(f"instances must be a list, not {value!r:.80}")
    return tuple(InstanceRecord.from_json(i) for i in value)


def _reshare(before: tuple[Any, ...], now: tuple[Any, ...]) -> tuple[Any, ...]:
    """``now``, reusing ``before`` or its equal items at the same place."""
    if now == before:
        return before
    return tuple(b if b == x else x for x, b in zip(now, before)) + now[len(before):]


def _without_module(step: Step) -> dict[str, Any]:
    """Step._own_json without writing the module (the trace decides how to write it)."""
    return step._own_json() if step.module is None else replace(step, module=None)._own_json()


def _read_changes(raw: list[Mapping[str, Any]]) -> tuple[Step, ...]:
    """The steps of a format-2 trace: each resolved against the one before."""
    steps: list[Step] = []
    for s in raw:
        module = s.get("module")
        if isinstance(module, Mapping) and "same_as" in module:
            at = module["same_as"]
            if not isinstance(at, int) or not 0 <= at < len(steps) \
                    or steps[at].module is None:
                raise ValueError(f"step {s.get('index')}: no module at step {at!r}")
            step = step_from_json({**s, "module": None}, steps[-1] if steps else None)
            step = replace(step, module=steps[at].module)
        else:
            step = step_from_json(s, steps[-1] if steps else None)
        steps.append(step)
    return tuple(steps)


def _shared(before: tuple[FunctionRecord, ...],
            now: tuple[FunctionRecord, ...]) -> tuple[FunctionRecord, ...]:
    """``now``, reusing each record of ``before`` that is equal (identity, as recorded)."""
    old = {f.address: f for f in before}
    return tuple(p if (p := old.get(f.address)) == f else f for f in now)

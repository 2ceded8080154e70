"""The trace: an ordered list of immutable, JSON-serialisable steps.

Every step carries everything needed to draw it (the whole table, the memory changes since the
previous step, the generated module's bytes where relevant), so a view never consults a
neighbour and "step back" is just moving a cursor. A step's table, edges and records are
shared with its neighbours (the same tuple and items) where unchanged, so memory and the JSON
(which writes only changes, see Trace.to_json) stay linear in the steps. Nothing here imports
wasmtime or Qt: a trace read back from JSON is as good as one just recorded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from itertools import compress, count
from operator import is_not
from typing import Any, Iterable, Iterator, Mapping

from .layout import DEFAULT_LAYOUT, FUNC_FIELDS, FUNC_STATES, STATE_FIELDS, Layout

#: The phases of late linking, in the order a learner meets them.
PHASES = ("setup", "generate", "compile", "link", "patch", "call")


@dataclass(frozen=True)
class Slot:
    """One funcref table slot as wasmtime reported it.

    ``kind`` is ``null``, ``main`` (one of the main module's own functions) or ``generated``
    (a function of generated module ``module``). ``function`` names the function.
    """

    index: int
    kind: str
    function: str | None = None
    module: int | None = None

    @property
    def label(self) -> str:
        """Return a short human label such as ``m1.fib`` or ``main.enter1``."""
        if self.kind == "null":
            return "null"
        if self.kind == "main":
            return f"main.{self.function}"
        return f"m{self.module}.{self.function}"

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "kind": self.kind, "function": self.function,
                "module": self.module, "label": self.label}

    @staticmethod
    def from_json(d: Mapping[str, Any]) -> Slot:
        return Slot(d["index"], d["kind"], d.get("function"), d.get("module"))


@dataclass(frozen=True)
class MemoryChange:
    """Bytes at ``address`` went from ``old`` to ``new`` (same length) since the previous step."""

    address: int
    old: bytes
    new: bytes
    #: What the bytes are, when the host knows (e.g. "fib.code_slot"), else "".
    label: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "old": self.old.hex(), "new": self.new.hex(),
                "label": self.label}

    @staticmethod
    def from_json(d: Mapping[str, Any]) -> MemoryChange:
        return MemoryChange(d["address"], bytes.fromhex(d["old"]), bytes.fromhex(d["new"]),
                            d.get("label", ""))


@dataclass(frozen=True)
class Section:
    """A section of a generated module: id, name and byte range within the module."""

    id: int
    name: str
    start: int
    end: int

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "start": self.start, "end": self.end}

    @staticmethod
    def from_json(d: Mapping[str, Any]) -> Section:
        return Section(d["id"], d["name"], d["start"], d["end"])


@dataclass(frozen=True)
class ModuleInfo:
    """A generated module: its number, where it was in main memory, its bytes and sections.

    The WAT and the annotated binary are produced by ``wasm-tools`` from these bytes; the
    recorder fills them in when it is asked to (see ``Recorder(disassemble=...)``).
    """

    number: int
    address: int
    data: bytes
    sections: tuple[Section, ...] = ()
    functions: tuple[str, ...] = ()
    wat: str | None = None
    dump: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "address": self.address, "bytes": self.data.hex(),
                "sections": [s.to_json() for s in self.sections],
                "functions": list(self.functions), "wat": self.wat, "dump": self.dump}

    @staticmethod
    def from_json(d: Mapping[str, Any]) -> ModuleInfo:
        return ModuleInfo(d["number"], d["address"], bytes.fromhex(d["bytes"]),
                          tuple(Section.from_json(s) for s in d.get("sections", ())),
                          tuple(d.get("functions", ())), d.get("wat"), d.get("dump"))


@dataclass(frozen=True)
class Edge:
    """An import or export edge, e.g. module 1 imports ``main.table``."""

    source: str
    target: str
    kind: str  # "import" | "export" | "call"

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target, "kind": self.kind}

    @staticmethod
    def from_json(d: Mapping[str, Any]) -> Edge:
        return Edge(d["source"], d["target"], d["kind"])


@dataclass(frozen=True)
class TrapInfo:
    """A wasmtime trap: its TrapCode name (e.g. ``BAD_SIGNATURE``) and wasmtime's reason."""

    code: str
    message: str
    #: wasmtime's backtrace, innermost frame first ("0: 0xaa - main!invoke").
    backtrace: tuple[str, ...] = ()


@dataclass(frozen=True)
class FunctionRecord:
    """One function object of main memory as it was at a step, decoded by the engine.

    The fields are the object's i32s (docs/abi.md, layout.FUNC_FIELDS), read signed as main
    reads them, plus the name and bytecode they point at. ``name_ptr`` is the field
    FUNC_FIELDS calls ``name``; ``name`` here is the text.
    """

    address: int
    name: str
    code_slot: int
    bytecode: int
    length: int
    params: int
    calls: int
    state: int
    name_ptr: int
    name_len: int
    code: bytes = b""

    @property
    def state_name(self) -> str:
        """``cold``, ``hot``, ``compiled`` or ``failed`` (layout.FUNC_STATES)."""
        return FUNC_STATES[self.state] if 0 <= self.state < len(FUNC_STATES) \
            else f"state {self.state}"

    def field(self, name: str) -> int:
        """The i32 field ``name`` of FUNC_FIELDS (``name`` is the name pointer there)."""
        if name not in FUNC_FIELDS:
            raise KeyError(name)
        return self.name_ptr if name == "name" else int(getattr(self, name))

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "name": self.name, "code_slot": self.code_slot,
                "bytecode": self.bytecode, "length": self.length, "params": self.params,
                "calls": self.calls, "state": self.state, "name_ptr": self.name_ptr,
                "name_len": self.name_len, "code": self.code.hex()}

    @staticmethod
    def from_json(d: Mapping[str, Any]) -> FunctionRecord:
        return FunctionRecord(d["address"], d["name"], d["code_slot"], d["bytecode"],
                              d["length"], d["params"], d["calls"], d["state"], d["name_ptr"],
                              d["name_len"], bytes.fromhex(d.get("code", "")))


@dataclass(frozen=True)
class VmState:
    """The main module's VM state block at a step (layout.STATE_FIELDS, signed i32s)."""

    functions: int
    heap_ptr: int
    queue_len: int
    threshold: int
    window: int
    countdown: int
    jit_enabled: int
    fault: int
    modules: int
    last_status: int
    direct_calls: int
    callback_notes: int

    def field(self, name: str) -> int:
        """The field ``name`` of STATE_FIELDS."""
        if name not in STATE_FIELDS:
            raise KeyError(name)
        return int(getattr(self, name))

    def to_json(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in STATE_FIELDS}

    @staticmethod
    def from_json(d: Mapping[str, Any]) -> VmState:
        return VmState(*(int(d.get(name, 0)) for name in STATE_FIELDS))


@dataclass(frozen=True)
class Delta:
    """The positions where tuple ``now`` (a step's table, edges or records) differs from
    ``before`` (the previous step's), as whoever built ``now`` found them (the recorder, a
    load). Trace.to_json uses it only for these very tuples (identity), so a step made by
    replace() with another table is compared instead; it never changes what is written."""

    before: tuple[Any, ...]
    now: tuple[Any, ...]
    at: tuple[int, ...]


@dataclass(frozen=True)
class Step:
    """One recorded moment of a run, drawable on its own."""

    index: int
    phase: str
    kind: str
    caption: str
    table: tuple[Slot, ...]
    memory_pages: int
    memory_changes: tuple[MemoryChange, ...] = ()
    module: ModuleInfo | None = None
    edges: tuple[Edge, ...] = ()
    result: int | None = None
    trap: TrapInfo | None = None
    error: str | None = None
    fuel_used: int = 0
    #: Small phase-specific facts (slot, address, field, function, section id, ...).
    detail: Mapping[str, Any] = field(default_factory=dict)
    #: Every function object as main memory held it at this step, decoded by the engine. A
    #: step that changed none shares the previous step's tuple (and an unchanged function its
    #: record), so a view can skip work by identity.
    functions: tuple[FunctionRecord, ...] = ()
    #: The VM state block at this step (None only for a hand-made step); shared like functions.
    vm: VmState | None = None
    #: Where the table and the records changed since the previous step, when known (Delta):
    #: lets Trace.to_json write a step in time proportional to its changes, not the table.
    deltas: tuple[Delta, ...] = field(default=(), compare=False, repr=False)

    def function(self, key: int | str) -> FunctionRecord | None:
        """The function object at address ``key`` (an int) or named ``key`` (a str)."""
        attr = "address" if isinstance(key, int) else "name"
        return next((f for f in self.functions if getattr(f, attr) == key), None)

    def to_json(self) -> dict[str, Any]:
        """The step on its own, everything written out (a trace writes changes, see Trace)."""
        return {**self._own_json(), "table": [s.to_json() for s in self.table],
                "edges": [e.to_json() for e in self.edges],
                "functions": [f.to_json() for f in self.functions],
                "vm": self.vm.to_json() if self.vm else None}

    def _own_json(self) -> dict[str, Any]:
        """Everything but the table, the edges and the records: what no other step shares."""
        return {
            "index": self.index, "phase": self.phase, "kind": self.kind,
            "caption": self.caption, "memory_pages": self.memory_pages,
            "memory_changes": [c.to_json() for c in self.memory_changes],
            "module": self.module.to_json() if self.module else None,
            "result": self.result,
            "trap": self.trap.code if self.trap else None,
            "trap_message": self.trap.message if self.trap else None,
            "trap_backtrace": list(self.trap.backtrace) if self.trap else None,
            "error": self.error,
            "fuel_used": self.fuel_used, "detail": dict(self.detail),
        }

    @staticmethod
    def from_json(d: Mapping[str, Any], prev: Step | None = None) -> Step:
        """Read a step. With ``prev`` (the previous step of a trace of format 2), a table,
        edges, records or vm left out are prev's, and a ``{"n", "set"}`` object is a change
        of prev's (Trace.to_json)."""
        deltas: list[Delta] = []
        if prev is None:
            table = tuple(Slot.from_json(s) for s in d["table"])
            edges = tuple(Edge.from_json(e) for e in d.get("edges", ()))
            functions = tuple(FunctionRecord.from_json(f) for f in d.get("functions") or ())
            vm = VmState.from_json(d["vm"]) if d.get("vm") else None
        else:
            table = _decode(d.get("table", _SAME), prev.table, Slot.from_json, deltas)
            edges = _decode(d.get("edges", _SAME), prev.edges, Edge.from_json, deltas)
            functions = _decode(d.get("functions", _SAME), prev.functions,
                                FunctionRecord.from_json, deltas)
            vm = (prev.vm if "vm" not in d
                  else VmState.from_json(d["vm"]) if d["vm"] else None)
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
            deltas=tuple(deltas),
        )


@dataclass(frozen=True)
class Trace:
    """The recorded run: its steps, the final call's result (None if it trapped), and the main
    module's memory map as it exported it, so views need not know where anything lives.

    A trace saved before traces carried their layout reads back with DEFAULT_LAYOUT.
    """

    steps: tuple[Step, ...]
    result: int | None = None
    trap: TrapInfo | None = None
    layout: Layout = DEFAULT_LAYOUT

    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def __getitem__(self, i: int) -> Step:
        return self.steps[i]

    def find(self, phase: str | None = None, kind: str | None = None) -> list[Step]:
        """Return the steps matching ``phase`` and/or ``kind``."""
        return [s for s in self.steps
                if (phase is None or s.phase == phase) and (kind is None or s.kind == kind)]

    def memory_at(self, index: int, address: int, length: int,
                  base: bytes | None = None) -> bytes:
        """Return main memory ``[address, address+length)`` as it was after step ``index``.

        Replays the recorded changes from the first step (whose changes describe the whole
        initial memory against zeros), so it needs nothing but the trace.
        """
        buf = bytearray(base if base is not None else bytes(length))
        for step in self.steps[: index + 1]:
            for c in step.memory_changes:
                lo, hi = max(c.address, address), min(c.address + len(c.new), address + length)
                if lo < hi:
                    buf[lo - address: hi - address] = c.new[lo - c.address: hi - c.address]
        return bytes(buf)

    def to_json(self) -> dict[str, Any]:
        """The trace as plain data, linear in its steps (format 2).

        With k functions made hot together, k steps each change one slot of a table of k
        slots (and one record of k): writing every step whole made the JSON grow as k².
        So a step writes its table, edges and records only where they differ from the
        previous step's: left out when equal, else ``{"n": length, "set": [[i, item], ...]}``
        (a list means written out whole). The first and the last step write the table and
        the edges whole, so a reader without wasmviz finds the start and the end state
        without replaying. A module already written by an earlier step is written as
        ``{"same_as": that step's index}``.
        """
        steps: list[dict[str, Any]] = []
        prev: Step | None = None
        modules: dict[int, tuple[ModuleInfo, int]] = {}  # number -> (module, step written)
        last = len(self.steps) - 1
        for i, step in enumerate(self.steps):
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
            steps.append(d)
            prev = step
        return {"format": 2, "steps": steps, "result": self.result,
                "trap": self.trap.code if self.trap else None,
                "trap_message": self.trap.message if self.trap else None,
                "trap_backtrace": list(self.trap.backtrace) if self.trap else None,
                "layout": self.layout.to_json()}

    def dumps(self, indent: int | None = None) -> str:
        """Return the trace as JSON text, in one string: a file or stdout gets one write.

        Without ``indent`` the text is json.dumps(to_json(), sort_keys=True) exactly, but
        encoded a step at a time and joined once: one json.dumps of the whole got slower
        per byte as the trace grew (three copies of a trace took 3.7x one), and every
        further concatenation of the text copied another megabyte; this way the time stays
        proportional to the text (bench/bench_engine.py, part 5).
        """
        d = self.to_json()
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

    @staticmethod
    def from_json(d: Mapping[str, Any]) -> Trace:
        """Read a trace of any format: 2 (changes, Trace.to_json), or older, where every
        step held its whole table and edges (and, before records, no records at all)."""
        trap = TrapInfo(d["trap"], d.get("trap_message") or "",
                        tuple(d.get("trap_backtrace") or ())) if d.get("trap") else None
        layout = Layout.from_json(d.get("layout"))
        raw = list(d["steps"])
        changes = d.get("format", 1) >= 2
        if raw and "vm" not in raw[0]:
            # Saved before steps carried records (or without them): decode them from the
            # trace's own memory, once, here in the engine (records.py), so every reader
            # finds them.
            from .records import with_records
            read = _read_changes(raw) if changes else tuple(Step.from_json(s) for s in raw)
            return with_records(Trace(read, d.get("result"), trap, layout))
        if changes:
            return Trace(_read_changes(raw), d.get("result"), trap, layout)
        steps: list[Step] = []
        for s in raw:
            step = Step.from_json(s)
            if steps:
                prev = steps[-1]  # left out because unchanged: share, as when recorded
                step = replace(step, functions=_shared(prev.functions, step.functions)
                               if "functions" in s else prev.functions,
                               vm=step.vm if "vm" in s else prev.vm)
            steps.append(step)
        return Trace(tuple(steps), d.get("result"), trap, layout)

    @staticmethod
    def loads(text: str) -> Trace:
        """Parse a trace from JSON text."""
        return Trace.from_json(json.loads(text))


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
            step = Step.from_json({**s, "module": None}, steps[-1] if steps else None)
            step = replace(step, module=steps[at].module)
        else:
            step = Step.from_json(s, steps[-1] if steps else None)
        steps.append(step)
    return tuple(steps)


def _shared(before: tuple[FunctionRecord, ...],
            now: tuple[FunctionRecord, ...]) -> tuple[FunctionRecord, ...]:
    """``now``, reusing each record of ``before`` that is equal (identity, as recorded)."""
    old = {f.address: f for f in before}
    return tuple(p if (p := old.get(f.address)) == f else f for f in now)


def phase_index(phase: str) -> int:
    """Return the position of ``phase`` in :data:`PHASES` (ValueError if unknown)."""
    return PHASES.index(phase)



"""The trace: an ordered list of immutable, JSON-serialisable steps.

Every step carries everything needed to draw it (the whole table, the memory changes since the
previous step, the generated module's bytes where relevant), so a view never consults a
neighbour and "step back" is just moving a cursor. A step's table, edges and records are
shared with its neighbours (the same tuple and items) where unchanged, so memory and the JSON
(which writes only changes, see Trace.to_json) stay linear in the steps. Nothing here imports
wasmtime or Qt: a trace read back from JSON is as good as one just recorded. How a whole
trace is written as changes and read back (any format) is in trace_json.py; the methods here
call it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterator, Mapping

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
    #: The slot allocator (main.wat section 13); 0 in a trace saved before it existed.
    free_len: int = 0
    slots_freed: int = 0
    slots_reused: int = 0

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
class InstanceRecord:
    """An instance the store holds at a step. A wasm engine's store keeps every instance it
    made until the store itself is dropped, whatever the table still holds (wasmtime does;
    the count is checked against the store's own instance limit, Machine.measure_instances).

    ``module`` is 0 for the main module, n for generated module n (``m{n}``); ``functions``
    are those it can put in a table slot (a generated module's exports, main's interpreter
    entries) and ``in_table`` those some slot holds at this step; ``code_bytes`` is the size
    of wasmtime's compiled code for its module (``len(Module.serialize())``), which lives as
    long as the instance; ``linked`` is False for an instance whose instantiation trapped (a
    start function, an active segment): it failed, and the store keeps it all the same.
    """

    module: int
    functions: tuple[str, ...]
    in_table: tuple[str, ...]
    code_bytes: int
    linked: bool = True

    @property
    def name(self) -> str:
        """``main``, ``m1``, ... (``m2, failed`` for one whose instantiation trapped)."""
        name = "main" if self.module == 0 else f"m{self.module}"
        return name if self.linked else f"{name}, failed"

    def to_json(self) -> dict[str, Any]:
        return {"module": self.module, "name": self.name, "functions": list(self.functions),
                "in_table": list(self.in_table), "code_bytes": self.code_bytes,
                "linked": self.linked}

    @staticmethod
    def from_json(d: Mapping[str, Any]) -> InstanceRecord:
        return InstanceRecord(int(d["module"]), tuple(d.get("functions", ())),
                              tuple(d.get("in_table", ())), int(d.get("code_bytes", 0)),
                              bool(d.get("linked", True)))


def holder(slot: Slot) -> tuple[int, str] | None:
    """The instance (module number, 0 for main) and function ``slot`` holds, if known."""
    if slot.kind == "generated" and slot.module is not None and slot.function:
        return slot.module, slot.function
    if slot.kind == "main" and slot.function:
        return 0, slot.function
    return None


def held_by_table(table: tuple[Slot, ...]) -> dict[int, set[str]]:
    """The functions each instance has in ``table``: module number (0: main) -> names."""
    held: dict[int, set[str]] = {}
    for s in table:
        if (h := holder(s)) is not None:
            held.setdefault(h[0], set()).add(h[1])
    return held


def instances_in(instances: tuple[InstanceRecord, ...],
                 table: tuple[Slot, ...]) -> tuple[InstanceRecord, ...]:
    """``instances`` with each one's ``in_table`` read from ``table``: it is the table's to
    say (the recorder and a trace read back from JSON both take it from there)."""
    held = held_by_table(table)
    return tuple(replace(i, in_table=tuple(f for f in i.functions if f in held.get(i.module, ())))
                 for i in instances)


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
    #: Every instance the store holds at this step, main first (InstanceRecord); shared with
    #: the previous step while unchanged. Empty in a trace saved before steps carried them.
    instances: tuple[InstanceRecord, ...] = ()
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
                "vm": self.vm.to_json() if self.vm else None,
                "instances": [i.to_json() for i in self.instances]}

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
        from .trace_json import step_from_json  # it imports this module: import on use
        return step_from_json(d, prev)


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
    #: How many instances the store held when the run was over, measured by wasmtime itself
    #: (Machine.measure_instances: its instance limit), to compare with the last step's
    #: ``instances``; None when not measured (a trace saved before, a run not recorded).
    instances_measured: int | None = field(default=None, compare=False)

    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    @property
    def engine(self) -> dict[str, Any]:
        """What the first step says of the engine that recorded the trace, when it was not
        wasmtime (node_engine: name, versions, ``fuel: None``); else empty."""
        engine = self.steps[0].detail.get("engine") if self.steps else None
        return engine if isinstance(engine, dict) else {}

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
        from .trace_json import trace_to_json
        return trace_to_json(self)

    def dumps(self, indent: int | None = None) -> str:
        """Return the trace as JSON text, in one string: a file or stdout gets one write.

        Without ``indent`` the text is json.dumps(to_json(), sort_keys=True) exactly, in
        time proportional to the text (trace_json.trace_dumps says how).
        """
        from .trace_json import trace_dumps
        return trace_dumps(self, indent)

    @staticmethod
    def from_json(d: Mapping[str, Any]) -> Trace:
        """Read a trace of any format: 2 (changes, Trace.to_json), or older, where every
        step held its whole table and edges (and, before records, no records at all)."""
        from .trace_json import trace_from_json
        return trace_from_json(d)

    @staticmethod
    def loads(text: str) -> Trace:
        """Parse a trace from JSON text."""
        import json  # noqa: PLC0415 - here: the app shows traces before it reads any text
        return Trace.from_json(json.loads(text))


def phase_index(phase: str) -> int:
    """Return the position of ``phase`` in :data:`PHASES` (ValueError if unknown)."""
    return PHASES.index(phase)


"""The recorder: turns host-visible events into trace steps holding the real state.

It listens to a Machine (events.Listener). Each event (a note from the main module or from a
generated module's link code -- its `patch`, start function or `__wasm_apply_data_relocs`, in
the link style main used -- or a host action such as compiling) becomes a step with the whole table as
wasmtime holds it, the memory changes since the previous step, and the function objects and VM
state block decoded from the live memory at that instant (records.py). The step's caption and
detail are written from those same records, so they cannot disagree with what a view shows.
The steps of a top-level call, which span several notes, are in call_steps.py; those of
compiling, linking and patching in a generated module in link_steps.py.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import compress, count
from operator import is_not
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import wasmtime

from .call_steps import CallSteps
from .captions import SECTION_NAMES, Captions
from .events import Listener
from .instantiate import read_dylink
from .labels import MemoryLabels
from .life_steps import FREE, REUSE, LifeSteps, code_bytes
from .machine_setup import LINK_STYLES
from .link_steps import GROW, INIT, RELOC, SET, LinkSteps
from .records import Now, RecordReader
from .slots import check_installed
from .snapshot import MemoryWatcher, TableReader, live_memory
from .trace import Delta, Edge, FunctionRecord, ModuleInfo, Section, Slot, Step, Trace, TrapInfo

if TYPE_CHECKING:
    from .machine import FunctionInfo, Machine

# Note kinds (docs/abi.md); those of a generated module's link code (GROW, SET, RELOC, INIT)
# are link_steps.py's, and FREE and REUSE life_steps.py's.
JIT_BEGIN, SECTION, JIT_END, HOT, JIT_DONE, HEADER, CALLBACK, CALL, FLUSH, RESERVE = range(1, 11)

#: main's `link` global -> link style name.
_STYLE_NAMES = {number: name for name, number in LINK_STYLES.items()}

#: Callbacks from JIT code into the interpreter recorded as steps per top-level call. A
#: recursive or looping caller can call back thousands of times; the rest are only counted
#: (by main, see $entered) and the call's result step says how many were not shown.
CALLBACK_STEPS = 5

#: The most steps a trace holds (Recorder.max_steps; a test may lower it on one recorder).
#: The longest lesson records a few hundred; a loop that tiers up over and over could record
#: millions, each holding the table and the memory changes. The step that reaches the cap
#: becomes a "call/truncated" step, the trace's last; the run goes on unrecorded, and
#: trace() writes into that step how many steps were left out and how the run ended.
MAX_STEPS = 20_000

PAGE = 65536


class Recorder(CallSteps, LifeSteps, LinkSteps, Listener):
    """Collects the steps of one Machine's run, as a listener of its events.

    The steps of a top-level call (on_call_begin, on_call_end and the CALL, FLUSH and
    CALLBACK notes) are made by the CallSteps methods it inherits (call_steps.py); freed and
    reused slots, and the instances the store holds, by LifeSteps (life_steps.py); a
    generated module's compile, link and patch steps by LinkSteps (link_steps.py).
    """

    def __init__(self, machine: Machine) -> None:
        self.machine = machine
        self._reader: RecordReader | None = None  # made once main has exported its layout
        self.tables = TableReader()
        self.memory = MemoryWatcher()
        self._labels = MemoryLabels(machine)
        self.captions = Captions()
        self.steps: list[Step] = []
        self.edges: list[Edge] = []
        #: The edges so far as one tuple, and the table as the last step holds it, shared by
        #: the steps that do not change them (identity lets Trace.to_json write only changes).
        self._edges: tuple[Edge, ...] = ()
        self._raw_table: tuple[Slot, ...] | None = None
        self._table: tuple[Slot, ...] = ()
        self._table_delta: Delta | None = None  # how self._table differs from the one before
        self._module_start = 0
        self._sections: list[Section] = []
        self._batch: list[str] = []
        self._modules: dict[int, ModuleInfo] = {}
        self._imports: dict[int, list[str]] = {}  # each compiled module's real imports
        self._import_kinds: dict[int, list[str]] = {}  # and what kind each import is
        self._exports: dict[int, list[str]] = {}  # and its export names
        #: Each compiled module's table as the compile step held it: what its link changed.
        self._table_at_compile: dict[int, tuple[Slot, ...]] = {}
        self._named: set[int] = set()  # modules whose functions the table reader can name
        #: The link style main used for the batch being written (its `link` global).
        self._style = "patch"
        self._written = b""  # the bytes of the module main wrote last (JIT_END)
        #: The current top-level call, from begin_call: (function, args), its call count
        #: before it ran, the code slot invoke used (None until main's CALL note), and
        #: whether invoke flushed a batch first.
        self._call: tuple[FunctionInfo, list[int]] | None = None
        self._calls_before = 0
        self._entry_slot: int | None = None
        self._entry_via = "interpreter"
        self._fuel_before = 0
        self._flushed = False
        #: The budget of CALLBACK notes the host gives main for each top-level call.
        self.callback_budget = CALLBACK_STEPS
        self._call_edges: tuple[Edge, ...] = ()  # the current top-level call's path
        self._callbacks = 0                      # CALLBACK notes so far in that call
        self.max_steps = MAX_STEPS
        self._dropped = 0  # steps not recorded since the trace reached max_steps
        self._init_life()

    # ------------------------------------------------------------------ core
    def now(self, store: wasmtime.Storelike) -> Now:
        """Read memory now: its changes since the last step and its records. A handler
        that writes a caption from the records calls this first and passes it to record."""
        m = self.machine
        if self._reader is None:
            self._reader = RecordReader(m.layout)
        live = live_memory(m.memory, store)
        self._labels.module = m.next_module_number(store)
        changes = tuple(self.memory.changes(live, self._labels))
        functions, vm = self._reader.update(live, changes)
        return Now(live.size // PAGE, changes, functions, vm)

    def record(self, store: wasmtime.Storelike, phase: str, kind: str, caption: str,
               *, module: ModuleInfo | None = None, result: int | None = None,
               trap: TrapInfo | None = None, error: str | None = None,
               detail: Mapping[str, Any] | None = None, edges: tuple[Edge, ...] = (),
               table: tuple[Slot, ...] | None = None, now: Now | None = None) -> Step:
        """Append a step of the table and memory now; return it.

        ``table`` and ``now`` are what the caller has just read at this same instant, if any
        (nothing runs in between: the recorder is inside a host call or between wasm calls).
        """
        cap = max(1, self.max_steps)
        if len(self.steps) >= cap:  # capped: no state read, no step kept
            self._dropped += 1
            return self.steps[-1]
        if len(self.steps) == cap - 1:  # this step ends the trace
            self._dropped = 1
            phase, kind, caption, detail = "call", "truncated", caption, {"cap": cap}
            module, result, trap, error, edges = None, None, None, None, ()
        m = self.machine
        now = now or self.now(store)
        fuel = m.fuel_used
        if m.op_active:
            fuel += m.op_budget - wasmtime.Store.get_fuel(store)  # type: ignore[arg-type]
        if len(self._edges) != len(self.edges):  # self.edges only grows (on_linked)
            self._edges = tuple(self.edges)
        table = self._shared_table(table if table is not None
                                   else self.tables.snapshot(m.table, store))
        step = Step(index=len(self.steps), phase=phase, kind=kind, caption=caption,
                    table=table, memory_pages=now.pages, memory_changes=now.changes,
                    module=module, edges=self._edges + edges if edges else self._edges,
                    result=result, trap=trap,
                    error=error, fuel_used=fuel, detail=dict(detail or {}),
                    functions=now.functions, vm=now.vm,
                    instances=self._instances(table),
                    deltas=self._deltas(table, now.functions))
        self.steps.append(step)
        return step

    def _shared_table(self, table: tuple[Slot, ...]) -> tuple[Slot, ...]:
        """``table``, reusing the last step's Slot objects where a slot did not change.

        TableReader shares the whole tuple while the table is unchanged, but builds every
        Slot anew when one slot changes; a patch that sets k slots would then give k steps of
        k fresh slots each, and Trace.to_json would compare them all field by field.
        """
        if table is self._raw_table:
            return self._table
        before = self._table
        shared = tuple(b if b == s else s for s, b in zip(table, before)) + table[len(before):]
        self._raw_table, self._table = table, shared
        self._table_delta = Delta(before, shared, _changed_at(before, shared))
        return shared

    def _deltas(self, table: tuple[Slot, ...],
                functions: tuple[FunctionRecord, ...]) -> tuple[Delta, ...]:
        """Where ``table`` and ``functions`` differ from the last step's (Step.deltas): found
        here, at a cost per step the recorder pays anyway (it reads every slot and record),
        so writing the trace later costs only what changed."""
        if not self.steps:
            return ()
        prev, out = self.steps[-1], []
        d = self._table_delta
        if table is not prev.table and d is not None and d.now is table \
                and d.before is prev.table:
            out.append(d)
        if functions is not prev.functions:
            out.append(Delta(prev.functions, functions, _changed_at(prev.functions, functions)))
        return tuple(out)

    def trace(self, result: int | None = None, trap: TrapInfo | None = None) -> Trace:
        """Return the steps so far as a Trace, with the memory map main exported.

        A capped trace's last step is told here how many steps were not recorded and how
        the run ended: only now are both known."""
        steps = tuple(self.steps)
        if self._dropped:
            last = steps[-1]
            cap = max(1, self.max_steps)
            caption = self.captions.truncated(cap, self._dropped, result,
                                              trap.code if trap else None)
            detail = {"cap": cap, "not_recorded": self._dropped,
                      "run_result": result, "run_trap": trap.code if trap else None}
            steps = steps[:-1] + (replace(last, caption=caption, detail=detail),)
        return Trace(steps, result, trap, self.machine.layout)

    # ------------------------------------------------------------------ notes
    def on_note(self, store: wasmtime.Caller, kind: int, a: int, b: int) -> None:
        """Record the event the main module or a generated patch just announced."""
        m, c = self.machine, self.captions
        if kind == JIT_BEGIN:
            now = self.now(store)
            self._batch = self._queued_names(store, a, now)
            self._style = self._link_style(store)
            self._sections = []
            self.record(store, "generate", "begin", c.jit_begin(self._batch, b), now=now,
                        detail={"functions": list(self._batch), "address": b})
        elif kind == HEADER:
            self._module_start = a
            self._sections = [Section(0, "header", 0, b - a)]
            self.record(store, "generate", "header", c.header(a),
                        detail={"start": a, "end": b, "section": "header"})
        elif kind == SECTION:
            start = self._sections[-1].end if self._sections else 0
            end = b - self._module_start
            name = SECTION_NAMES.get(a, f"#{a}")
            self._sections.append(Section(a, name, start, end))
            # What the section is for depends on the link style, and for the element
            # section on the mode main really wrote: read from the bytes, not assumed
            # (only those two sections need them: the others are not copied out).
            written = bytes(m.memory.read(store, self._module_start, b)) if a in (0, 9) \
                else b""
            self.record(store, "generate", "section",
                        c.section(a, end - start, self._style,
                                  _segment_mode(written[start:]) if a == 9 else None,
                                  read_dylink(written) if a == 0 else None),
                        detail={"section": name, "id": a, "start": start + self._module_start,
                                "end": b})
        elif kind == JIT_END:
            data = bytes(m.memory.read(store, a, a + b))
            self._written = data
            info = ModuleInfo(m.next_module_number(store), a, data, tuple(self._sections),
                              tuple(self._batch))
            self.record(store, "generate", "complete", c.jit_end(b, a, self._style), module=info,
                        detail={"address": a, "length": b})
        elif kind == HOT:
            now = self.now(store)
            name = now.name(a)
            self.record(store, "call", "tier-up", c.hot(name, b, now.vm), now=now,
                        detail={"function": name, "calls": b, "object": a})
        elif kind == CALLBACK:
            self._record_callback(store, a, b)
        elif kind == CALL:
            self._record_call(store, a, b)
        elif kind == FLUSH:
            self._record_flush(store, a, b)
        elif kind == JIT_DONE:
            now = self.now(store)
            table = self.tables.snapshot(m.table, store)
            installed, problems = check_installed(m, store, self._batch, table, now.functions)
            failed = [f.name for f in now.functions
                      if f.name in self._batch and f.state_name == "failed"]
            written = [(f.name, f.code_slot) for f in now.functions
                       if f.name in self._batch and f.code_slot != 0]
            self.record(store, "patch", "jit-done",
                        c.jit_done(a, b, installed, [p for _, p in problems], len(failed),
                                   written),
                        table=table, now=now,
                        detail={"status": a, "functions": b,
                                "installed": [n for n, _ in installed],
                                "not_installed": [n for n, _ in problems],
                                "failed": failed})
        elif kind == RESERVE:
            self._record_reserve(store, a, b)
        elif kind == FREE:
            self._record_free(store, a, b)
        elif kind == REUSE:
            self._record_reuse(store, a, b)
        elif kind in (GROW, SET, RELOC, INIT):
            self._record_link_note(store, kind, a, b)
        else:
            self.record(store, "call", "note", f"The main module sent note {kind}({a}, {b}).",
                        detail={"kind": kind, "a": a, "b": b})

    def _link_style(self, store: wasmtime.Storelike) -> str:
        """The link style main uses now, read from its exported `link` global."""
        g = self.machine.instance.exports(store).get("link")
        if not isinstance(g, wasmtime.Global):
            return "patch"
        value = int(g.value(store))  # type: ignore[arg-type]
        return _STYLE_NAMES.get(value, "patch")

    def _queued_names(self, store: wasmtime.Storelike, count: int, now: Now) -> list[str]:
        """The names of the first ``count`` functions on main's hot queue."""
        m = self.machine
        return [now.name(m.read_i32(m.layout.queue_base + 4 * i, store)) for i in range(count)]

    # ------------------------------------------------------------------ host actions
    def on_started(self, store: wasmtime.Store) -> None:
        m = self.machine
        for k, func in enumerate(m.entries):
            assert isinstance(func, wasmtime.Func)
            self.tables.register(func, "main", f"enter{k}", None)
        self._instance_made(0, [f"enter{k}" for k in range(len(m.entries))],
                            code_bytes(getattr(m, "main_module", None), shared=True))
        self.record(store, "setup", "instantiate", self.captions.main())

    def on_defined(self, store: wasmtime.Store, added: Sequence[FunctionInfo],
                   source: str) -> None:
        now = self.now(store)
        records = [r for f in added if (r := now.function(f.obj)) is not None]
        detail: dict[str, Any] = {"functions": [f.name for f in added],
                                  "objects": {f.name: f.obj for f in added}, "source": source}
        caption = self.captions.defined(records)
        redefined = [n for n in self.machine.redefined if n in detail["objects"]]
        if redefined:  # only then: a plain definition's detail stays as it always was
            detail["redefined"] = redefined
            caption += (f" Redefined (same name, same function object, new bytecode): "
                        f"{', '.join(redefined)}; every caller reaches the new body.")
        self.record(store, "setup", "define", caption, now=now, detail=detail)

    def on_jit_trapped(self, store: wasmtime.Store, trap: TrapInfo) -> None:
        self.record(store, "generate", "trap", f"The JIT itself trapped: {trap.message}",
                    trap=trap)


def _segment_mode(section: bytes) -> int | None:
    """The flags of the first segment of an element section (its bytes from the section id
    on: id, 5-byte size, count, flags), i.e. its mode: 0 active, 1 passive, 3 declarative."""
    return section[7] if len(section) > 7 and section[6] >= 1 else None


def _changed_at(before: tuple[Any, ...], now: tuple[Any, ...]) -> tuple[int, ...]:
    """The positions of ``now`` not holding ``before``'s very object (identity, tested in C),
    and every position past ``before``'s end."""
    moved = compress(count(), map(is_not, now, before))
    return tuple(moved) + tuple(range(len(before), len(now)))

"""The same main module under Node's V8, recorded by the same recorder (issue 14).

node_host.mjs runs main.wasm under V8 and plays the host (note, instantiate, instantiate_pic)
as machine.py and instantiate.py do for wasmtime; for each host call it reports the note's
arguments, the memory changes, the table (as function keys), vsp and the link global, and
any trap, mapped to wasmtime's trap code names. This module is the Python half: NodeMachine
is a Machine whose store, memory, table, globals and functions are mirrors of V8's, kept
exact at every reported instant, and it replays each report to its listeners, so the ONE
Recorder (recorder.py) makes the steps from the same state it would read from wasmtime. The
host-side work (load, jit_now, call) is Machine's own code, inherited. The mirrors are in
node_mirrors.py, the pipe to the Node process and the replay in node_protocol.py.

What differs between the engines (trap messages, fuel, laziness) is in docs/engines.md.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from dataclasses import replace
from importlib import resources
from typing import Any, Sequence

import wasmtime

from .captions import type_text
from .events import Listener
from .instantiate import INVALID_MODULE, LINK_ERROR, OK, PATCH_TRAPPED
from .layout import STATE_FIELDS, Layout
from .machine import (DEFAULT_FUEL, FAULT_MODES, LINK_STYLES, MAIN_WAT, MAX_MEMORY_PAGES,
                      MAX_PATCH_NOTES, MAX_TABLE_ELEMENTS, NOTE_CALL, PATCH_NOTES, EngineError,
                      Machine)
from .node_mirrors import (NodeFunc, NodeGlobal, NodeTrap, _Export, _Exports, _functype, _ids,
                           _Instance, _Memory, _Store, _Table)
from .node_protocol import NodePipe
from .records import RecordReader
from .scenario import Scenario, drive, with_disassembly
from .snapshot import live_memory
from .trace import Trace, TrapInfo

#: The watchdog for one top-level operation (a call, a JIT run), in place of fuel: V8 has no
#: fuel, so a runaway loop is interrupted after this long (trap code INTERRUPT).
DEFAULT_TIMEOUT_MS = 2_000

#: What the trace's first step says about the engine (its detail["engine"]).
ENGINE_NOTE = ("V8 has no fuel: fuel_used is 0 in every step and a runaway call is stopped "
               "by the host's watchdog (trap INTERRUPT), not by fuel (OUT_OF_FUEL)")


def node_path() -> str | None:
    """The `node` executable (``WASMVIZ_NODE`` first, then PATH), or None."""
    return os.environ.get("WASMVIZ_NODE") or shutil.which("node")


class NodeMachine(NodePipe, Machine):
    """A Machine whose main module runs in a Node process (node_host.mjs), not in wasmtime.

    ``fuel`` is accepted and ignored (V8 has none; docs/engines.md); ``timeout_ms`` bounds
    each top-level operation instead. ``last_elapsed_ms`` is the time V8 spent in the last
    call of one of main's exports, measured inside Node (bench/bench_engines.py reads it).
    """

    def __init__(self, *, record: bool = True, fuel: int = DEFAULT_FUEL,
                 threshold: int = 100, window: int = 100, jit: bool = True,
                 fault: str | None = None, direct_calls: bool = True,
                 link: str = "patch", listeners: Sequence[Listener] = (),
                 timeout_ms: int = DEFAULT_TIMEOUT_MS, node: str | None = None) -> None:
        if link not in LINK_STYLES:
            raise EngineError(f"unknown link style {link!r}; one of {', '.join(LINK_STYLES)}")
        if fault is not None and fault not in FAULT_MODES:
            raise EngineError(f"unknown fault {fault!r}; one of {', '.join(FAULT_MODES)}")
        node = node or node_path()
        if node is None:
            raise EngineError("--host node needs Node.js: `node` is not on PATH "
                              "(Debian: apt-get install nodejs)")
        self.fuel_budget = self.op_budget = fuel
        self.fuel_used, self.op_active = 0, False   # op_active stays False: no fuel to read
        self.functions = {}
        self.modules: list[Any] = []  # type: ignore[assignment]
        self.host_modules = 0   # no module of your own under V8 (docs/engines.md)
        self._instantiating = self._patch_notes = 0
        self.link, self.link_stage, self.link_bases = link, None, None
        self.listeners = list(listeners)
        self.recorder = None
        self.last_elapsed_ms = 0.0
        #: The sum of last_elapsed_ms over every call so far, and the part of it the host
        #: spent in host.instantiate (compile, link, patch; a bench splits the two).
        self.elapsed_ms = self.instantiate_ms = 0.0
        self._guard = False
        self._writes: list[list[Any]] = []
        self._funcs: dict[str, NodeFunc] = {}
        self._types: dict[str, wasmtime.FuncType | None] = {}
        self._pending: int | None = None
        self._store_id = next(_ids)
        self.store = _Store(self)  # type: ignore[assignment]
        self.memory = _Memory(self)  # type: ignore[assignment]
        self.table = _Table(self)  # type: ignore[assignment]
        host = resources.files("wasmviz.engine").joinpath("node_host.mjs")
        try:
            self._proc = subprocess.Popen([node, str(host)], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, text=True, bufsize=1)
        except OSError as exc:
            raise EngineError(f"cannot start Node.js ({node}): {exc}") from None
        constants = {"PATCH_NOTES": PATCH_NOTES, "MAX_PATCH_NOTES": MAX_PATCH_NOTES,
                     "NOTE_CALL": NOTE_CALL, "OK": OK, "INVALID_MODULE": INVALID_MODULE,
                     "LINK_ERROR": LINK_ERROR, "PATCH_TRAPPED": PATCH_TRAPPED,
                     "PROVIDERS": Machine.PROVIDERS, "PIC_PROVIDERS": Machine.PIC_PROVIDERS,
                     "LINK_EXPORTS": Machine.LINK_EXPORTS, "link": link,
                     "STATE_MODULES_OFFSET": 4 * STATE_FIELDS.index("modules")}
        # Listeners are known only below (the recorder), but whether there will be any is
        # known now: without, the host sends no events (Machine's fast path).
        reply = self._command({"op": "init", "wasm": base64.b64encode(main_wasm()).decode(),
                               "report": bool(record or listeners), "timeout_ms": timeout_ms, "max_table": MAX_TABLE_ELEMENTS,
                               "max_pages": MAX_MEMORY_PAGES, "constants": constants})
        self.versions = {"node": reply["node"], "v8": reply["v8"]}
        self._globals: dict[str, int] = dict(reply["globals"])
        for e in reply["exports"]:
            self._types[f"main:{e['name']}"] = _functype(e["type"])
        exports = _Exports({name: NodeGlobal(self, name) for name in self._globals})
        exports.update({k[5:]: self._func(k) for k in self._types})
        self.instance = _Instance(exports)  # type: ignore[assignment]
        self._apply(reply["sync"])
        self.layout = Layout.read(exports, self.store)  # type: ignore[arg-type]
        self.vsp = exports["vsp"]
        self.entries = tuple(exports[f"enter{k}"] for k in range(self.layout.max_params + 1))
        self._fn = {name: _Export(self, name) for name in (
            "alloc", "define", "set_code", "invoke", "enqueue", "jit_flush", "configure",
            "set_fault", "set_direct_calls", "set_link")}  # type: ignore[misc]
        if record:
            self._attach_recorder()
        self._configure(threshold, window, jit, link, direct_calls, fault)

    # ---------------------------------------------------------------- Machine's hooks
    def freeze_table(self) -> None:
        """Cap V8's table size at the table's current size (the table-limit fault)."""
        self._run({"op": "freeze_table"})

    def _guarded(self, thunk: object, phase: str,
                 budget: int | None = None) -> tuple[object, TrapInfo | None]:
        """Run ``thunk`` under the host's watchdog; return (value, None) or (None, trap)."""
        self._guard = True
        try:
            return thunk(), None  # type: ignore[operator]
        except NodeTrap as exc:
            return None, exc.info
        finally:
            self._guard = False

    def _resolve(self, trap: TrapInfo) -> TrapInfo:
        """Decide a NULL_OR_BAD_SIGNATURE the JS host could not (the call was not invoke's)
        from the state it left: every call_indirect main and its JIT code make goes through
        a function object's code slot, so if only null slots (or only slots of another type
        than the callers name) are reachable that way, that is what failed. Both: unknown."""
        if trap.code != "NULL_OR_BAD_SIGNATURE":
            return trap
        functions, _ = RecordReader(self.layout).update(live_memory(self.memory, self.store))
        found = set()
        for f in functions:
            if not 0 < f.code_slot < len(self.table.keys) or not 0 <= f.params < len(
                    self.entries):
                continue
            held = self.table.get(self.store, f.code_slot)
            if held is None:
                found.add("INDIRECT_CALL_TO_NULL")
            elif held._type is not None and type_text(held._type) != type_text(
                    self.entries[f.params].type(self.store)):
                found.add("BAD_SIGNATURE")
        return TrapInfo(found.pop(), trap.message, trap.backtrace) if len(found) == 1 else trap

    def instantiate_bytes(self, data: bytes) -> int:
        raise EngineError("instantiate_bytes is wasmtime's fuzzing entry; not under node")


_MAIN_WASM: bytes | None = None


def main_wasm() -> bytes:
    """main.wat as a binary: the very bytes both engines run."""
    global _MAIN_WASM  # noqa: PLW0603 - converted once per process
    if _MAIN_WASM is None:
        _MAIN_WASM = wasmtime.wat2wasm(MAIN_WAT.read_text())
    return _MAIN_WASM


def run(scenario: Scenario, *, record: bool = True, disassemble: bool = True,
        timeout_ms: int = DEFAULT_TIMEOUT_MS) -> Trace:
    """Run ``scenario`` under Node's V8 and return its trace (scenario.run's twin)."""
    scenario.validate()
    if scenario.redefine or scenario.module is not None:
        # The store's instances and a module of your own are the wasmtime host's to record.
        raise EngineError("redefine and module need the wasmtime host (docs/engines.md)")
    machine = NodeMachine(record=record, fuel=scenario.fuel, threshold=scenario.threshold,
                          window=scenario.window, jit=scenario.jit,
                          fault=scenario.fault if scenario.fault in FAULT_MODES else None,
                          direct_calls=scenario.direct_calls, link=scenario.link,
                          timeout_ms=timeout_ms)
    try:
        result, trap = drive(machine, scenario)
    finally:
        machine.close()
    if machine.recorder is None:
        return Trace((), result, trap, machine.layout)
    trace = _for_v8(machine.recorder.trace(result, trap), machine.versions)  # type: ignore[attr-defined]
    return with_disassembly(trace) if disassemble else trace


#: What may differ between the engines' traces of one scenario (docs/engines.md): a step's
#: fuel, the engine's own words (trap message and backtrace, a validation or link error), and
#: the captions that quote them. Everything else must be identical.
ENGINE_FIELDS = ("fuel_used", "trap_message", "trap_backtrace", "error", "instances")
ENGINE_DETAIL = ("fuel_spent", "fuel_budget", "engine")


def parity_view(trace: Trace) -> list[dict[str, Any]]:
    """Each step as JSON (Step.to_json: phase, kind, table, memory changes, module, edges,
    result, trap code, detail, records) without ENGINE_FIELDS and ENGINE_DETAIL; the caption
    with the engine's name as ``<engine>``, and left out where it quotes the engine's words
    (a step with a trap or an error)."""
    out = []
    for step in trace.steps:
        d = step.to_json()
        for key in ENGINE_FIELDS:
            d.pop(key, None)
        d["detail"] = {k: v for k, v in d["detail"].items() if k not in ENGINE_DETAIL}
        quoted = step.trap is not None or step.error is not None
        d["caption"] = None if quoted else (d["caption"].replace("wasmtime", "<engine>")
                                            .replace("V8", "<engine>"))
        out.append(d)
    return out


def _for_v8(trace: Trace, versions: dict[str, str]) -> Trace:
    """Say which engine ran: the first step's detail names it and says fuel is absent, and
    captions name V8 where the shared captions name wasmtime."""
    steps = [replace(s, caption=s.caption.replace("wasmtime", "V8")) if "wasmtime" in s.caption
             else s for s in trace.steps]
    if steps:
        engine = {"name": "node", **versions, "fuel": None, "note": ENGINE_NOTE}
        steps[0] = replace(steps[0], detail={**steps[0].detail, "engine": engine})
    return replace(trace, steps=tuple(steps))

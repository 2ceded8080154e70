"""What late linking costs under wasmtime and under Node's V8, measured here and now (issue 14).

Shared by bench/bench_engines.py (the README's figures) and the app's costs panel
(wasmviz/ui/costs_dialog.py), so the panel shows the same measurement, run on the learner's own
machine, never figures copied from somewhere.

1. Per generated module, generate -> compile -> link -> patch -> call, recording off: main's
   JIT writes a module, the host compiles, instantiates and patches it, main calls it.
2. fib(n) run by main's interpreter and by its JIT code, under each engine.

Both engines run in one process run, interleaved sample by sample, so noise from other work on
the machine hits them alike; the figures that matter are the ratios. How each side is timed
(docs/engines.md, "Costs"): wasmtime in Python around the Machine calls (jit_now, call), i.e.
with wasmtime-py's host and FFI, which is wasmviz's host; V8 inside Node (performance.now around
each of main's exports the host runs), i.e. with the JS host but without the pipe to Python,
which a page would not have either. wasmtime meters fuel on every run; V8 has no fuel.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

from .events import Listener
from .machine import Machine
from .node_engine import NodeMachine, node_path
from .recorder import JIT_END

FIB = "def fib(n) = if n < 2 then 1 else fib(n - 1) + fib(n - 2)\n"
#: Under V8 a watchdog replaces fuel; it must not stop fib(30) interpreted (about 0.1 s).
TIMEOUT_MS = 120_000
ENGINES = ("wasmtime", "node")


def expr_source(i: int) -> str:
    """The i-th expression compiled: all different, so no module is a copy of another."""
    return f"(x + {i}) * (x - {i % 7}) % {i + 11} + {i}"


class HostClock(Listener):
    """The time wasmtime's host spends in host.instantiate (compile, link, patch): from main's
    JIT_END note, sent just before it calls the import, to the module's patched event."""

    def __init__(self) -> None:
        self.start, self.total = 0.0, 0.0

    def on_note(self, caller: object, kind: int, a: int, b: int) -> None:
        if kind == JIT_END:
            self.start = time.perf_counter()

    def on_patched(self, caller: object, number: int) -> None:
        self.total += time.perf_counter() - self.start


def _machines(node: bool, jit: bool = True, fuel: int | None = None,
              listeners: tuple[Listener, ...] = ()) -> dict[str, Machine]:
    """A wasmtime machine (with ``listeners``, ``fuel``) and, with ``node``, a V8 one."""
    out: dict[str, Machine] = {"wasmtime": Machine(record=False, jit=jit, listeners=listeners,
                                                   **({"fuel": fuel} if fuel else {}))}
    if node:
        out["node"] = NodeMachine(record=False, jit=jit, timeout_ms=TIMEOUT_MS)
    return out


def _close(machines: Iterable[Machine]) -> None:
    """End the V8 machines' node processes (wasmtime's need nothing)."""
    for m in machines:
        if isinstance(m, NodeMachine):
            m.close()


def per_module(n: int, per_machine: int = 20, node: bool = True,
               progress: Callable[[str], None] | None = None) -> dict[str, list[float]]:
    """Seconds per module under each engine, one sample per module, interleaved: the whole
    flow, and the host's part of it (compile, link, patch), as "<engine> host".

    A fresh pair of machines every ``per_machine`` modules keeps the table a realistic size.
    """
    engines = ENGINES if node else ENGINES[:1]
    times: dict[str, list[float]] = {k: [] for e in engines for k in (e, e + " host")}
    for batch in range(0, n, per_machine):
        if progress:
            progress(f"generated modules {batch + 1}-{min(n, batch + per_machine)} of {n}")
        clock = HostClock()
        machines = _machines(node, listeners=(clock,))
        try:
            names = [f"e{i}" for i in range(batch, min(n, batch + per_machine))]
            for i, name in zip(range(batch, batch + len(names)), names):
                for m in machines.values():
                    m.load(expr_source(i), expr_name=name)
            for m in machines.values():  # warm-up, not counted: V8 compiles main's JIT lazily
                m.load("x + 1", expr_name="warm")
                m.jit_now(["warm"])
                m.call("warm", [1])
            for name in names:
                wt = machines["wasmtime"]
                t0, host0 = time.perf_counter(), clock.total
                status = wt.jit_now([name])
                _, trap = wt.call(name, [5])
                times["wasmtime"].append(time.perf_counter() - t0)
                times["wasmtime host"].append(clock.total - host0)
                if status != 0 or trap is not None:
                    raise RuntimeError(f"wasmtime: status {status}, trap {trap}")
                v8 = machines.get("node")
                if isinstance(v8, NodeMachine):
                    before, host0 = v8.elapsed_ms, v8.instantiate_ms
                    status = v8.jit_now([name])
                    _, trap = v8.call(name, [5])
                    times["node"].append((v8.elapsed_ms - before) / 1e3)
                    times["node host"].append((v8.instantiate_ms - host0) / 1e3)
                    if status != 0 or trap is not None:
                        raise RuntimeError(f"V8: status {status}, trap {trap}")
        finally:
            _close(machines.values())
    return times


def fib(n: int, repeats: int, node: bool = True,
        progress: Callable[[str], None] | None = None,
        versions: dict[str, str] | None = None) -> dict[tuple[str, str], float]:
    """Best-of-``repeats`` seconds for fib(n), per (engine, tier); ``versions`` gets the
    versions of Node and V8 that ran it."""
    machines: dict[tuple[str, str], Machine] = {}
    try:
        for tier in ("interpreter", "jit"):
            for engine, m in _machines(node, jit=tier == "jit", fuel=10**12).items():
                machines[engine, tier] = m
                if versions is not None and isinstance(m, NodeMachine):
                    versions.update(m.versions)
        for (_, tier), m in machines.items():
            m.load(FIB)
            if tier == "jit" and m.jit_now() != 0:
                raise RuntimeError("fib did not compile")
        best = {key: float("inf") for key in machines}
        expected = None
        for r in range(repeats):
            if progress:
                progress(f"fib({n}), run {r + 1} of {repeats}")
            for key, m in machines.items():
                t0 = time.perf_counter()
                value, trap = m.call("fib", [n])
                took = time.perf_counter() - t0
                if isinstance(m, NodeMachine):
                    took = m.last_elapsed_ms / 1e3
                best[key] = min(best[key], took)
                if trap is not None or expected not in (None, value):
                    raise RuntimeError(f"{key}: fib({n}) gave {value}, trap {trap}")
                expected = value
        return best
    finally:
        _close(machines.values())


@dataclass(frozen=True)
class Costs:
    """One measurement: seconds per figure and engine (absent engine: not measured)."""
    modules: int
    fib_n: int
    repeats: int
    versions: dict[str, str]
    #: figure -> engine -> seconds (medians for modules, best-of for fib)
    seconds: dict[str, dict[str, float]] = field(default_factory=dict)
    #: figure -> wasmtime / V8 (modules: the median of the per-module ratios)
    ratios: dict[str, float] = field(default_factory=dict)

    @property
    def engines(self) -> tuple[str, ...]:
        return ENGINES if "node" in self.versions else ENGINES[:1]


#: The figures, in the order a table shows them, with the words it shows them under.
FIGURES = {
    "module": "per generated module, generate -> compile -> link -> patch -> call (median)",
    "module host": "of which the host's compile -> link -> patch (median)",
    "fib interpreter": "fib({n}), main's interpreter",
    "fib jit": "fib({n}), main's JIT code",
}


def measure(modules: int = 120, fib_n: int = 30, repeats: int = 5,
            progress: Callable[[str], None] | None = None) -> Costs:
    """Run both engines (wasmtime only where node is missing) and return what was measured."""
    from importlib.metadata import version  # noqa: PLC0415 - only here

    versions = {"wasmtime": version("wasmtime")}
    node = node_path() is not None
    mod = per_module(modules, node=node, progress=progress)
    best = fib(fib_n, repeats, node=node, progress=progress, versions=versions)
    seconds: dict[str, dict[str, float]] = {"module": {}, "module host": {},
                                            "fib interpreter": {}, "fib jit": {}}
    for engine in (ENGINES if node else ENGINES[:1]):
        seconds["module"][engine] = statistics.median(mod[engine])
        seconds["module host"][engine] = statistics.median(mod[engine + " host"])
        seconds["fib interpreter"][engine] = best[engine, "interpreter"]
        seconds["fib jit"][engine] = best[engine, "jit"]
    ratios: dict[str, float] = {}
    if node:
        for key in ("module", "module host"):
            k = "wasmtime" + key[len("module"):]
            ratios[key] = statistics.median(
                a / b for a, b in zip(mod[k], mod[k.replace("wasmtime", "node")]))
        for key in ("fib interpreter", "fib jit"):
            ratios[key] = seconds[key]["wasmtime"] / seconds[key]["node"]
    return Costs(modules, fib_n, repeats, versions, seconds, ratios)


def speedup(costs: Costs, engine: str) -> float:
    """How many times faster main's JIT code ran fib than main's interpreter, under ``engine``."""
    return costs.seconds["fib interpreter"][engine] / costs.seconds["fib jit"][engine]

"""The same main module under wasmtime and under Node's V8, in one run (issue 14).

1. Cost per generated module, generate -> compile -> link -> patch -> call, recording off:
   main's JIT writes the module, the host compiles, instantiates and patches it, main calls it.
2. fib(30) run by main's interpreter and by its JIT code, under each engine: the speedup.

Both engines run in this one process run, interleaved sample by sample, so noise from other
tenants of this shared machine hits them alike; the figures that matter are the ratios.

How each side is timed (docs/engines.md, "Costs"): wasmtime in Python around the Machine calls
(jit_now, call), i.e. with wasmtime-py's host and FFI, which is wasmviz's host; V8 inside Node
(performance.now around each of main's exports the host runs), i.e. with the JS host but
without the pipe to Python, which a page would not have either. wasmtime meters fuel on every
run (machine.py); V8 has no fuel.

Run: .venv/bin/python bench/bench_engines.py [--quick]   (needs `node`; says so if absent)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wasmviz.engine import Listener, Machine  # noqa: E402
from wasmviz.engine.recorder import JIT_END  # noqa: E402
from wasmviz.engine.node_engine import NodeMachine, node_path  # noqa: E402

FIB = "def fib(n) = if n < 2 then 1 else fib(n - 1) + fib(n - 2)\n"
#: fib(30) interpreted by V8 takes about 0.05 s, by wasmtime about 0.07 s: the watchdog that
#: replaces fuel under V8 must not stop it.
TIMEOUT_MS = 120_000


def expr_source(i: int) -> str:
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


def per_module(n: int, per_machine: int = 20) -> dict[str, list[float]]:
    """Seconds per module under each engine, one sample per module, interleaved: the whole
    flow, and the host's part of it (compile, link, patch), as "<engine> host".

    A fresh pair of machines every ``per_machine`` modules keeps the table a realistic size.
    """
    times: dict[str, list[float]] = {"wasmtime": [], "node": [], "wasmtime host": [],
                                     "node host": []}
    for batch in range(0, n, per_machine):
        clock = HostClock()
        wt = Machine(record=False, listeners=[clock])
        v8 = NodeMachine(record=False, timeout_ms=TIMEOUT_MS)
        try:
            names = [f"e{i}" for i in range(batch, min(n, batch + per_machine))]
            for i, name in zip(range(batch, batch + len(names)), names):
                wt.load(expr_source(i), expr_name=name)
                v8.load(expr_source(i), expr_name=name)
            for m in (wt, v8):  # warm-up, not counted: V8 compiles main's JIT lazily
                m.load("x + 1", expr_name="warm")
                m.jit_now(["warm"])
                m.call("warm", [1])
            for name in names:
                t0, host0 = time.perf_counter(), clock.total
                status = wt.jit_now([name])
                _, trap = wt.call(name, [5])
                times["wasmtime"].append(time.perf_counter() - t0)
                times["wasmtime host"].append(clock.total - host0)
                assert status == 0 and trap is None
                before, host0 = v8.elapsed_ms, v8.instantiate_ms
                status = v8.jit_now([name])
                _, trap = v8.call(name, [5])
                times["node"].append((v8.elapsed_ms - before) / 1e3)
                times["node host"].append((v8.instantiate_ms - host0) / 1e3)
                assert status == 0 and trap is None
        finally:
            v8.close()
    return times


def fib(n: int, repeats: int) -> dict[tuple[str, str], float]:
    """Best-of-``repeats`` seconds for fib(n), per (engine, tier)."""
    machines: dict[tuple[str, str], Machine] = {}
    for tier in ("interpreter", "jit"):
        jit = tier == "jit"
        machines["wasmtime", tier] = Machine(record=False, jit=jit, fuel=10**12)
        machines["node", tier] = NodeMachine(record=False, jit=jit, timeout_ms=TIMEOUT_MS)
    try:
        for (_, tier), m in machines.items():
            m.load(FIB)
            if tier == "jit":
                assert m.jit_now() == 0
        best = {key: float("inf") for key in machines}
        expected = None
        for _ in range(repeats):
            for key, m in machines.items():
                t0 = time.perf_counter()
                value, trap = m.call("fib", [n])
                took = time.perf_counter() - t0
                if isinstance(m, NodeMachine):
                    took = m.last_elapsed_ms / 1e3
                best[key] = min(best[key], took)
                assert trap is None and expected in (None, value), (key, value, trap)
                expected = value
        return best
    finally:
        for m in machines.values():
            if isinstance(m, NodeMachine):
                m.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples (smoke run)")
    args = parser.parse_args()
    if node_path() is None:
        print("bench_engines: `node` is not on PATH; nothing to compare (apt-get install nodejs)")
        return 0
    probe = NodeMachine(record=False)
    versions = probe.versions
    probe.close()
    from importlib.metadata import version  # noqa: PLC0415
    n = 20 if args.quick else 120
    repeats = 2 if args.quick else 5
    mod = per_module(n)
    med = {k: statistics.median(v) for k, v in mod.items()}
    # The ratio column for modules: the median of the per-module ratios (each pair ran back
    # to back), steadier on a shared machine than the ratio of the two medians.
    ratio = {k: statistics.median(a / b for a, b in zip(mod[k], mod[k.replace("wasmtime",
                                                                              "node")]))
             for k in ("wasmtime", "wasmtime host")}
    best = fib(30, repeats)
    print(f"wasmtime-py {version('wasmtime')} (fuel metered) vs Node {versions['node']} "
          f"(V8 {versions['v8']}); {n} modules, fib(30) best of {repeats}\n")
    print("| measured | wasmtime | Node/V8 | wasmtime / V8 |")
    print("|---|---:|---:|---:|")
    print(f"| per generated module, generate -> compile -> link -> patch -> call (median) "
          f"| {med['wasmtime'] * 1e3:.3f} ms | {med['node'] * 1e3:.3f} ms "
          f"| {ratio['wasmtime']:.1f}x |")
    print(f"| of which the host's compile -> link -> patch (median) "
          f"| {med['wasmtime host'] * 1e3:.3f} ms | {med['node host'] * 1e3:.3f} ms "
          f"| {ratio['wasmtime host']:.1f}x |")
    for tier in ("interpreter", "jit"):
        w, v = best["wasmtime", tier], best["node", tier]
        label = "main's interpreter" if tier == "interpreter" else "main's JIT code"
        print(f"| fib(30), {label} | {w * 1e3:.1f} ms | {v * 1e3:.1f} ms | {w / v:.1f}x |")
    speedup = {e: best[e, "interpreter"] / best[e, "jit"] for e in ("wasmtime", "node")}
    print(f"| fib(30), JIT speedup over the interpreter | {speedup['wasmtime']:.1f}x "
          f"| {speedup['node']:.1f}x | |")
    print("\nModules: medians of the samples; the ratio is the median of the per-module ratios "
          "(each pair ran back to back). wasmtime timed in Python around Machine.jit_now and "
          "call; V8 inside Node around main's exports (no pipe). fib: best of the runs.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

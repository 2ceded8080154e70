"""Engine benchmarks: ratios measured in one run (machines here are shared and noisy).

1. Cost per generated module, generate -> compile -> link -> patch -> call,
   (a) with recording off and (b) with full recording, each as a ratio to the floor: compiling,
   instantiating and patching the very same bytes with bare wasmtime, interleaved in this run.
2. Cost per function as the batch grows (1, 4, 16, 64 functions in one module).
3. fib(30) run by the main module's interpreter and by its JIT code, inside wasm: the speedup.
5. The trace's JSON size and the time to write it (Trace.dumps, as `trace --json` does) and to
   read it back, for 50, 100 and 150 functions made hot together: it must grow linearly
   (150 vs 50 at most 3.3x; it grew as k² when every step wrote the whole table and edges).

Run: make bench   (or .venv/bin/python bench/bench_engine.py [--quick])
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_links import BareHost  # noqa: E402  (the floor: the same bytes, nothing else)
from wasmviz.engine import Machine  # noqa: E402
from wasmviz.engine.engine_costs import FIB, expr_source  # noqa: E402

def per_module(n: int, per_machine: int = 20) -> dict[str, float]:
    """Median seconds per module for recording off, full recording, and the bare floor.

    A fresh pair of machines every `per_machine` modules keeps the table at a realistic size
    (the recorder reads every slot at every step).
    """
    times: dict[str, list[float]] = {"off": [], "full": [], "floor": []}
    for batch in range(0, n, per_machine):
        off, full = Machine(record=False), Machine(record=True)
        bare = BareHost("patch")
        names = []
        for i in range(batch, min(n, batch + per_machine)):
            name = f"e{i}"
            off.load(expr_source(i), expr_name=name)
            full.load(expr_source(i), expr_name=name)
            names.append(name)
        assert full.recorder is not None
        for name in names:
            # Interleave the three so that noise from other tenants hits all of them alike.
            t0 = time.perf_counter()
            off.jit_now([name])
            off.call(name, [5])
            t1 = time.perf_counter()
            full.jit_now([name])
            full.call(name, [5])
            t2 = time.perf_counter()
            data = [s.module for s in full.recorder.steps if s.kind == "complete"][-1]
            assert data is not None
            t3 = time.perf_counter()
            bare.bring_to_life(data.data)
            t4 = time.perf_counter()
            times["off"].append(t1 - t0)
            times["full"].append(t2 - t1)
            times["floor"].append(t4 - t3)
    return {k: statistics.median(v) for k, v in times.items()}


def per_function(sizes: tuple[int, ...]) -> dict[int, float]:
    """Median seconds per function when `size` functions share one generated module."""
    out: dict[int, float] = {}
    for size in sizes:
        samples = []
        for _ in range(5):
            m = Machine(record=False)
            src = "".join(f"def f{i}(x) = (x + {i}) * {i + 1} - x / {i + 1}\n" for i in range(size))
            m.load(src)
            t0 = time.perf_counter()
            status = m.jit_now()
            samples.append((time.perf_counter() - t0) / size)
            assert status == 0
        out[size] = statistics.median(samples)
    return out


def fib_speedup(n: int, repeats: int) -> dict[str, float]:
    """Best-of-`repeats` seconds for fib(n): interpreted, JIT with the code-slot template for
    every call, and JIT with direct calls within the batch (the default)."""
    machines = {"interpreter": Machine(record=False, jit=False, fuel=10**12),
                "jit, every call via code slot": Machine(record=False, fuel=10**12,
                                                         direct_calls=False),
                "jit, direct calls in batch": Machine(record=False, fuel=10**12)}
    for name, m in machines.items():
        m.load(FIB)
        if name != "interpreter":
            assert m.jit_now() == 0
    best = {name: float("inf") for name in machines}
    expected = None
    for _ in range(repeats):
        for name, m in machines.items():
            t0 = time.perf_counter()
            value, trap = m.call("fib", [n])
            best[name] = min(best[name], time.perf_counter() - t0)
            assert trap is None and expected in (None, value)
            expected = value
    return best


def hot_together(k: int) -> str:
    """A program of ``k`` functions and a ``main`` that calls them all: made hot in one batch
    (jit_now), the patch sets k slots and relocates k code slots, one step each."""
    defs = "".join(f"def f{i}(x) = x * {i + 1} + {i}\n" for i in range(k))
    return defs + "def main(x) = " + " + ".join(f"f{i}(x)" for i in range(k)) + "\n"


def _timed(call: Callable[[], object]) -> float:
    """Seconds ``call`` takes, the second of two runs (the first warms the caches, which a
    collection, or the other traces, left cold), with no garbage collection inside, as
    timeit times (a full collection walks every live object, all the traces included)."""
    gc.collect()
    gc.disable()
    try:
        call()
        t0 = time.perf_counter()
        call()
        return time.perf_counter() - t0
    finally:
        gc.enable()


def trace_size(ks: tuple[int, ...], repeats: int) -> dict[int, tuple[int, int, float, float]]:
    """For each k: steps, JSON bytes, and the best seconds of Trace.dumps and Trace.loads
    over ``repeats`` rounds (the k interleaved in every round)."""
    from wasmviz.engine import Scenario, Trace  # noqa: PLC0415
    from wasmviz.engine.scenario import run  # noqa: PLC0415

    traces = {k: run(Scenario(source=hot_together(k), call="main", args=(3,), jit_now=True))
              for k in ks}
    texts = {k: traces[k].dumps() for k in ks}
    dumps: dict[int, list[float]] = {k: [] for k in ks}
    loads: dict[int, list[float]] = {k: [] for k in ks}
    for _ in range(repeats):
        for k in ks:
            dumps[k].append(_timed(traces[k].dumps))
        for k in ks:
            loads[k].append(_timed(lambda: Trace.loads(texts[k])))  # noqa: B023
    # The fastest run: what the code costs, without what other tenants took from it.
    return {k: (len(traces[k]), len(texts[k]), min(dumps[k]), min(loads[k])) for k in ks}


def runaway_stop() -> tuple[float, str]:
    """Seconds from calling runaway generated code to wasmtime stopping it, and the trap."""
    from wasmviz.engine import Scenario  # noqa: PLC0415

    scenario = Scenario.for_fault("runaway")
    m = Machine(record=False, fault="runaway", fuel=scenario.fuel)
    m.load("x * x + 3")
    m.jit_now()
    t0 = time.perf_counter()
    _, trap = m.call("expr", [7])
    assert trap is not None
    return time.perf_counter() - t0, trap.code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples (smoke run)")
    args = parser.parse_args()
    n = 20 if args.quick else 120
    m = per_module(n)
    print(f"1. per generated module (median of {n}):")
    print(f"   bare wasmtime floor (compile+instantiate+patch)  {m['floor'] * 1e3:7.3f} ms")
    print(f"   (a) recording off, generate..call                {m['off'] * 1e3:7.3f} ms"
          f"  = {m['off'] / m['floor']:.2f}x floor")
    print(f"   (b) full recording, generate..call               {m['full'] * 1e3:7.3f} ms"
          f"  = {m['full'] / m['floor']:.2f}x floor")
    sizes = (1, 4, 16) if args.quick else (1, 4, 16, 64)
    pf = per_function(sizes)
    print("2. per function as the batch grows (recording off):")
    for size, t in pf.items():
        print(f"   {size:3} functions/module: {t * 1e3:7.3f} ms per function"
              f"  ({pf[1] / t:.1f}x cheaper than 1/module)")
    fib_n = 25 if args.quick else 30
    fib = fib_speedup(fib_n, 2 if args.quick else 5)
    base = fib["interpreter"]
    print(f"3. fib({fib_n}) inside wasm (best of runs, fuel metering on as in the app):")
    for name, t in fib.items():
        print(f"   {name:32} {t * 1e3:8.1f} ms  = {base / t:.1f}x the interpreter")
    stop, code = runaway_stop()
    print(f"4. runaway generated code stopped by fuel after {stop * 1e3:.0f} ms ({code})")
    ks = (50, 100, 150)
    sizes = trace_size(ks, 5 if args.quick else 15)
    print("5. trace JSON for k functions made hot together (best dumps/loads):")
    for k, (steps, size, dumps, loads) in sizes.items():
        print(f"   k={k:3}: {steps:4} steps {size / 1e6:6.2f} MB  dumps {dumps * 1e3:6.1f} ms"
              f"  loads {loads * 1e3:6.1f} ms")
    lo, hi = sizes[ks[0]], sizes[ks[-1]]
    print(f"   {ks[-1]} vs {ks[0]}: size {hi[1] / lo[1]:.2f}x, dumps {hi[2] / lo[2]:.2f}x, "
          f"loads {hi[3] / lo[3]:.2f}x (linear: {ks[-1] / ks[0]:.0f}x; bound 3.3x)")

if __name__ == "__main__":
    main()

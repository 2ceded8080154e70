"""Engine benchmarks: ratios measured in one run (machines here are shared and noisy).

1. Cost per generated module, generate -> compile -> link -> patch -> call,
   (a) with recording off and (b) with full recording, each as a ratio to the floor: compiling,
   instantiating and patching the very same bytes with bare wasmtime, interleaved in this run.
2. Cost per function as the batch grows (1, 4, 16, 64 functions in one module).
3. fib(30) run by the main module's interpreter and by its JIT code, inside wasm: the speedup.

Run: make bench   (or .venv/bin/python bench/bench_engine.py [--quick])
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import wasmtime

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wasmviz.engine import Machine  # noqa: E402
from wasmviz.engine.machine import _engine_and_main  # noqa: E402

FIB = "def fib(n) = if n < 2 then 1 else fib(n - 1) + fib(n - 2)\n"


def expr_source(i: int) -> str:
    return f"(x + {i}) * (x - {i % 7}) % {i + 11} + {i}"


class BareHost:
    """Compile, instantiate and patch given bytes with nothing else: the floor."""

    def __init__(self) -> None:
        self.engine, _ = _engine_and_main()
        self.store = wasmtime.Store(self.engine)
        self.store.set_fuel(10**12)
        funcref = wasmtime.ValType.funcref()
        self.table = wasmtime.Table(self.store, wasmtime.TableType(funcref, wasmtime.Limits(6, None)),
                                    None)
        self.memory = wasmtime.Memory(self.store, wasmtime.MemoryType(wasmtime.Limits(8, None)))
        i32 = wasmtime.ValType.i32()
        self.note = wasmtime.Func(self.store, wasmtime.FuncType([i32, i32, i32], []),
                                  lambda a, b, c: None)

    def link(self, data: bytes) -> None:
        module = wasmtime.Module(self.engine, data)
        instance = wasmtime.Instance(self.store, module, [self.note, self.table, self.memory])
        instance.exports(self.store)["patch"](self.store)  # type: ignore[operator]


def per_module(n: int) -> dict[str, float]:
    """Median seconds per module for recording off, full recording, and the bare floor."""
    off, full = Machine(record=False), Machine(record=True)
    names = []
    for i in range(n):
        name = f"e{i}"
        off.load(expr_source(i), expr_name=name)
        full.load(expr_source(i), expr_name=name)
        names.append(name)
    bare = BareHost()
    times: dict[str, list[float]] = {"off": [], "full": [], "floor": []}
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
        bare.link(data.data)
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


def fib_speedup(n: int, repeats: int) -> tuple[float, float]:
    """Best-of-`repeats` seconds for fib(n) interpreted and JIT-compiled, inside wasm."""
    interp, jit = Machine(record=False, jit=False, fuel=10**12), Machine(record=False, fuel=10**12)
    interp.load(FIB)
    jit.load(FIB)
    jit.jit_now()
    best_i, best_j = float("inf"), float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        ri = interp.call("fib", [n])
        t1 = time.perf_counter()
        rj = jit.call("fib", [n])
        t2 = time.perf_counter()
        assert ri == rj and ri[1] is None
        best_i, best_j = min(best_i, t1 - t0), min(best_j, t2 - t1)
    return best_i, best_j


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
    ti, tj = fib_speedup(fib_n, 2 if args.quick else 3)
    print(f"3. fib({fib_n}) inside wasm: interpreter {ti * 1e3:.1f} ms, JIT {tj * 1e3:.1f} ms"
          f"  = {ti / tj:.1f}x speedup")


if __name__ == "__main__":
    main()

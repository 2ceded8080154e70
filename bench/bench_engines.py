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

The measurement itself is wasmviz/engine/engine_costs.py, which the app's costs panel runs too.

Run: .venv/bin/python bench/bench_engines.py [--quick]   (needs `node`; says so if absent)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wasmviz.engine.engine_costs import FIGURES, measure, speedup  # noqa: E402
from wasmviz.engine.node_engine import node_path  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples (smoke run)")
    args = parser.parse_args()
    if node_path() is None:
        print("bench_engines: `node` is not on PATH; nothing to compare (apt-get install nodejs)")
        return 0
    costs = measure(modules=20 if args.quick else 120, fib_n=30, repeats=2 if args.quick else 5)
    v = costs.versions
    print(f"wasmtime-py {v['wasmtime']} (fuel metered) vs Node {v['node']} (V8 {v['v8']}); "
          f"{costs.modules} modules, fib({costs.fib_n}) best of {costs.repeats}\n")
    print("| measured | wasmtime | Node/V8 | wasmtime / V8 |")
    print("|---|---:|---:|---:|")
    for key, words in FIGURES.items():
        w, n = costs.seconds[key]["wasmtime"], costs.seconds[key]["node"]
        digits = 3 if key.startswith("module") else 1
        print(f"| {words.format(n=costs.fib_n)} | {w * 1e3:.{digits}f} ms | {n * 1e3:.{digits}f} ms "
              f"| {costs.ratios[key]:.1f}x |")
    print(f"| fib({costs.fib_n}), JIT speedup over the interpreter "
          f"| {speedup(costs, 'wasmtime'):.1f}x | {speedup(costs, 'node'):.1f}x | |")
    print("\nModules: medians of the samples; the ratio is the median of the per-module ratios "
          "(each pair ran back to back). wasmtime timed in Python around Machine.jit_now and "
          "call; V8 inside Node around main's exports (no pipe). fib: best of the runs.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

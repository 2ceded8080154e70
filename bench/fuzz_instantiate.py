"""Push 10,000 mutated generated modules through the host's instantiate path; print the counts.

Every mutant must end in a status (0 ok, 1 invalid, 2 link error, 3 patch trapped); anything
else is counted as "exception: ..." and makes the script exit 1. Usage:
    .venv/bin/python bench/fuzz_instantiate.py [COUNT] [SEED]
"""

from __future__ import annotations

import collections
import random
import sys
import time

from wasmviz.engine import Scenario, run
from wasmviz.engine.machine import Machine

NAMES = {0: "0 linked and patched", 1: "1 invalid module", 2: "2 link error",
         3: "3 patch trapped"}


def mutate(seed: bytes, rng: random.Random) -> bytes:
    data = bytearray(seed)
    for _ in range(rng.randint(1, 6)):
        at = rng.randrange(max(len(data), 1))
        how = rng.random()
        if how < 0.6 and data:
            data[at] = rng.randrange(256)
        elif how < 0.8 and data:
            del data[at]
        elif how < 0.95:
            data.insert(at, rng.randrange(256))
        else:
            del data[at:]
    return bytes(data)


def main(count: int = 10_000, seed: int = 1) -> int:
    trace = run(Scenario(exprs=("x * x + 3",), args=(7,), jit_now=True), disassemble=False)
    module = next(s.module.data for s in trace.steps if s.module is not None)
    rng = random.Random(seed)
    counts: collections.Counter[str] = collections.Counter()
    start = time.perf_counter()
    machine = None
    for i in range(count):
        if i % 100 == 0:  # a fresh machine now and then keeps its recorded trace small
            machine = Machine(fuel=20_000_000)
            machine.load("x * x + 3", expr_name="expr")
        assert machine is not None
        try:
            counts[NAMES[machine.instantiate_bytes(mutate(module, rng))]] += 1
        except Exception as exc:  # noqa: BLE001 - counting them is the point
            counts[f"exception: {type(exc).__name__}: {str(exc)[:80]}"] += 1
    took = time.perf_counter() - start
    for name, n in sorted(counts.items()):
        print(f"{n:7,}  {name}")
    print(f"{count:,} mutants in {took:.1f} s")
    return 1 if any(k.startswith("exception") for k in counts) else 0


if __name__ == "__main__":
    sys.exit(main(*(int(a) for a in sys.argv[1:3])))

"""Interpreter, JIT code and a Python reference with i32 semantics agree on random programs."""

from hypothesis import HealthCheck, given, settings

from strategies import program_and_args
from wasmviz.engine import Machine, compile_program
from wasmviz.engine.reference import ReferenceTrap, evaluate

EVEN_ODD = ("def even(n) = if n == 0 then 1 else odd(n - 1)\n"
            "def odd(n) = if n == 0 then 0 else even(n - 1)\n")
FIB = "def fib(n) = if n < 2 then 1 else fib(n - 1) + fib(n - 2)\n"


def outcome(source: str, name: str, args: tuple[int, ...], jit: bool,
            direct_calls: bool = True) -> object:
    m = Machine(record=False, jit=jit, direct_calls=direct_calls)
    m.load(source)
    if jit:
        assert m.jit_now() == 0
    value, trap = m.call(name, args)
    return trap.code if trap else value


def expected(source: str, name: str, args: tuple[int, ...]) -> object:
    try:
        return evaluate(compile_program(source), name, args)
    except ReferenceTrap as trap:
        return trap.code


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program_and_args())
def test_tiers_and_reference_agree(case: tuple[str, str, tuple[int, ...]]) -> None:
    source, name, args = case
    want = expected(source, name, args)
    assert outcome(source, name, args, jit=False) == want
    assert outcome(source, name, args, jit=True) == want
    assert outcome(source, name, args, jit=True, direct_calls=False) == want


def test_recursion_and_mutual_recursion_in_both_tiers() -> None:
    for jit in (False, True):
        assert outcome(FIB, "fib", (15,), jit) == 987
        assert outcome(EVEN_ODD, "even", (41,), jit) == 0
        assert outcome(EVEN_ODD, "odd", (41,), jit) == 1
    assert outcome(FIB, "fib", (15,), True, direct_calls=False) == 987
    assert outcome(EVEN_ODD, "even", (41,), True, direct_calls=False) == 0


def test_i32_edge_cases_in_both_tiers() -> None:
    cases = {
        "x / 0": "INTEGER_DIVISION_BY_ZERO", "x % 0": "INTEGER_DIVISION_BY_ZERO",
        "(0 - 2147483647 - 1) / x": "INTEGER_OVERFLOW",
        "(0 - 2147483647 - 1) % x": 0, "-7 / 2 + x": -4, "-7 % 2 + x": -1 - 1,
    }
    for source, want in cases.items():
        for jit in (False, True):
            assert outcome(source, "expr", (-1,), jit) == want, (source, jit)

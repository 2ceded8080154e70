"""Tests for the reference evaluator (wasmviz.engine.reference): exact i32 semantics and traps."""

from __future__ import annotations

import sys

import pytest
from hypothesis import assume, given, settings
from strategies import i32s, program_and_args

from wasmviz.engine.frontend import compile_program
from wasmviz.engine.reference import (
    DEFAULT_MAX_DEPTH,
    DIVISION_BY_ZERO,
    INT_MAX,
    INT_MIN,
    OVERFLOW,
    STACK_OVERFLOW,
    ReferenceTrap,
    div_s,
    evaluate,
    rem_s,
    wrap_i32,
)

MIN_SRC = "(0-2147483647-1)"  # INT_MIN: there is no negative literal


def run(source: str, *args: int) -> int:
    """Evaluate a bare expression of `x` (x defaults to 0)."""
    return evaluate(compile_program(source), "expr", args or (0,))


def trap_of(source: str, *args: int) -> ReferenceTrap:
    with pytest.raises(ReferenceTrap) as info:
        run(source, *args)
    return info.value


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("2147483647 + 1", INT_MIN),
        (f"{MIN_SRC} - 1", INT_MAX),
        ("65536 * 65536", 0),
        ("65537 * 65537", 131073),
        ("4294967295", -1),
        ("2147483648", INT_MIN),
        (f"-{MIN_SRC}", INT_MIN),  # 0 - INT_MIN wraps back to INT_MIN
        ("-2147483647 - 1", INT_MIN),
        ("2147483647 * 2", -2),
    ],
)
def test_wrap_around(source: str, expected: int) -> None:
    assert run(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("7 / 2", 3),
        ("-7 / 2", -3),  # truncates toward zero, unlike Python's //
        ("7 / -2", -3),
        ("-7 / -2", 3),
        ("7 % 2", 1),
        ("-7 % 2", -1),  # the remainder has the sign of the dividend
        ("7 % -2", 1),
        ("-7 % -2", -1),
        (f"{MIN_SRC} % -1", 0),  # no trap, unlike division
        (f"{MIN_SRC} / 1", INT_MIN),
        (f"{MIN_SRC} / 2", -(2**30)),
        ("4294967295 / 2", 0),  # -1 / 2
    ],
)
def test_division_and_remainder(source: str, expected: int) -> None:
    assert run(source) == expected


@pytest.mark.parametrize(
    ("source", "code", "column"),
    [
        ("1 / 0", DIVISION_BY_ZERO, 3),
        ("1 % (x - x)", DIVISION_BY_ZERO, 3),
        (f"{MIN_SRC} / -1", OVERFLOW, 18),
        (f"x / -1 + {MIN_SRC} / (0 - 1)", OVERFLOW, 27),
    ],
)
def test_traps(source: str, code: str, column: int) -> None:
    trap = trap_of(source, 5)
    assert trap.code == code
    assert (trap.line, trap.column) == (1, column)


def test_int_min_divided_by_minus_one_through_arguments() -> None:
    program = compile_program("def d(a, b) = a / b\ndef r(a, b) = a % b")
    with pytest.raises(ReferenceTrap) as info:
        evaluate(program, "d", (INT_MIN, -1))
    assert info.value.code == OVERFLOW
    assert evaluate(program, "r", (INT_MIN, -1)) == 0


@pytest.mark.parametrize(
    ("source", "expected"),
    [("-1 < 1", 1), ("4294967295 < 0", 1), ("3 >= 3", 1), ("3 > 3", 0), ("2 == 2", 1),
     ("2 != 2", 0), ("1 <= 0", 0), (f"{MIN_SRC} < 2147483647", 1)],
)  # fmt: skip
def test_comparisons_are_signed_and_give_1_or_0(source: str, expected: int) -> None:
    assert run(source) == expected


def test_if_is_lazy() -> None:
    assert run("if 0 then 1 / 0 else 5") == 5
    assert run("if x then 7 else 1 / 0", 3) == 7
    assert run("if x then 7 else 8", -1) == 7  # any non-zero is true
    assert trap_of("if x then 7 else 1 % 0", 0).code == DIVISION_BY_ZERO


def test_evaluation_order_is_left_to_right() -> None:
    # both operands trap; the left one must be the one reported (as the bytecode runs it first)
    assert trap_of(f"(1 / 0) + ({MIN_SRC} / -1)").code == DIVISION_BY_ZERO
    program = compile_program("def f(a, b) = a\nf(1 / 0, 1 % 0)")
    with pytest.raises(ReferenceTrap) as info:
        evaluate(program, "expr", (0,))
    assert (info.value.line, info.value.column) == (2, 5)  # the '/', not the '%'


FIB = "def fib(n) = if n < 2 then n else fib(n - 1) + fib(n - 2)"


@pytest.mark.parametrize(
    ("n", "expected"), [(0, 0), (1, 1), (2, 1), (3, 2), (10, 55), (15, 610), (-5, -5)]
)
def test_fib(n: int, expected: int) -> None:
    assert evaluate(compile_program(FIB), "fib", (n,)) == expected


def test_fib_wraps_like_i32() -> None:
    program = compile_program(
        "def fibi(n, a, b) = if n == 0 then a else fibi(n - 1, b, a + b)\n"
        "def fib(n) = fibi(n, 0, 1)"
    )
    assert evaluate(program, "fib", (30,)) == 832040
    assert evaluate(program, "fib", (50,)) == wrap_i32(12586269025)


EVEN_ODD = (
    "def even(n) = if n == 0 then 1 else odd(n - 1)\n"
    "def odd(n) = if n == 0 then 0 else even(n - 1)\n"
)


@pytest.mark.parametrize(("n", "even"), [(0, 1), (1, 0), (2, 1), (7, 0), (100, 1), (5001, 0)])
def test_mutual_recursion(n: int, even: int) -> None:
    program = compile_program(EVEN_ODD)
    assert evaluate(program, "even", (n,)) == even
    assert evaluate(program, "odd", (n,)) == 1 - even


DEPTH = "def d(n) = if n == 0 then 0 else 1 + d(n - 1)"


def test_recursion_limit_is_exact() -> None:
    program = compile_program(DEPTH)
    # d(n) makes n nested calls below the entry call: depth n + 1
    assert evaluate(program, "d", (49,), max_depth=50) == 49
    with pytest.raises(ReferenceTrap) as info:
        evaluate(program, "d", (50,), max_depth=50)
    assert info.value.code == STACK_OVERFLOW
    assert (info.value.line, info.value.column) == (1, 38)  # the call d(n - 1)


def test_default_recursion_limit_does_not_use_the_python_stack() -> None:
    program = compile_program(DEPTH)
    assert DEFAULT_MAX_DEPTH == 10000
    limit = sys.getrecursionlimit()
    assert evaluate(program, "d", (DEFAULT_MAX_DEPTH - 1,)) == DEFAULT_MAX_DEPTH - 1
    with pytest.raises(ReferenceTrap) as info:
        evaluate(program, "d", (DEFAULT_MAX_DEPTH,))
    assert info.value.code == STACK_OVERFLOW
    assert sys.getrecursionlimit() == limit


def test_infinite_recursion_traps() -> None:
    program = compile_program("def loop(n) = loop(n + 1)\nloop(x)")
    with pytest.raises(ReferenceTrap) as info:
        evaluate(program, "expr", (0,))
    assert info.value.code == STACK_OVERFLOW


def test_arguments_are_wrapped_and_checked() -> None:
    program = compile_program("x + 1")
    assert evaluate(program, "expr", (4294967295,)) == 0
    assert evaluate(program.ast, "expr", (1,)) == 2  # a plain AST sequence works too
    with pytest.raises(ValueError):
        evaluate(program, "expr", ())
    with pytest.raises(KeyError):
        evaluate(program, "nope", (1,))


@given(i32s(), i32s())
def test_div_rem_identity(a: int, b: int) -> None:
    assume(b != 0 and not (a == INT_MIN and b == -1))
    q, r = div_s(a, b), rem_s(a, b)
    assert wrap_i32(q * b + r) == a
    assert abs(r) < abs(b)
    assert r == 0 or (r < 0) == (a < 0)
    assert abs(q) == abs(a) // abs(b)


@given(i32s(), i32s())
def test_wrapped_arithmetic_stays_in_range(a: int, b: int) -> None:
    for op, exact in (("+", a + b), ("-", a - b), ("*", a * b)):
        value = evaluate(compile_program(f"def f(a, b) = a {op} b"), "f", (a, b))
        assert INT_MIN <= value <= INT_MAX
        assert (value - exact) % 2**32 == 0


@settings(max_examples=150, deadline=None)
@given(program_and_args())
def test_generated_programs_evaluate_to_i32_or_trap(
    generated: tuple[str, str, tuple[int, ...]],
) -> None:
    source, entry, args = generated
    try:
        value = evaluate(compile_program(source), entry, args)
    except ReferenceTrap as trap:
        assert trap.code in (DIVISION_BY_ZERO, OVERFLOW)
    else:
        assert INT_MIN <= value <= INT_MAX

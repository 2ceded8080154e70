"""Reference evaluator: runs a program's AST with exact wasm i32 semantics.

It is the oracle the interpreter and the JIT are checked against: same results, and the same
traps under wasmtime's TrapCode names. Evaluation is iterative (an explicit task stack), so deep
recursion in the program never touches Python's own stack.
"""

from __future__ import annotations

from collections.abc import Sequence

from .frontend import BinOp, Call, Expr, FunctionDef, If, Num, Program, Unary, Var

__all__ = [
    "INT_MIN",
    "INT_MAX",
    "DIVISION_BY_ZERO",
    "OVERFLOW",
    "STACK_OVERFLOW",
    "DEFAULT_MAX_DEPTH",
    "ReferenceTrap",
    "wrap_i32",
    "div_s",
    "rem_s",
    "apply_binop",
    "evaluate",
]

INT_MIN = -(2**31)
INT_MAX = 2**31 - 1
DIVISION_BY_ZERO = "INTEGER_DIVISION_BY_ZERO"
OVERFLOW = "INTEGER_OVERFLOW"
STACK_OVERFLOW = "STACK_OVERFLOW"
DEFAULT_MAX_DEPTH = 10000


class ReferenceTrap(Exception):
    """A wasm trap: `code` is a wasmtime TrapCode name; line/column locate it (0 if unknown)."""

    def __init__(self, code: str, line: int = 0, column: int = 0) -> None:
        where = f" at line {line}, column {column}" if line else ""
        super().__init__(f"{code}{where}")
        self.code = code
        self.line = line
        self.column = column


def parse_i32(text: str) -> int:
    """Return the i32 argument ``text`` spells (decimal, 0x hex, ...; -2**31 .. 2**32-1, the
    upper half wrapping as wasm's i32.const does); raises ValueError saying what is wrong."""
    try:
        value = int(text.strip(), 0)
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not an integer") from None
    if not INT_MIN <= value <= 0xFFFFFFFF:
        raise ValueError(f"{value} does not fit in an i32")
    return value


def wrap_i32(value: int) -> int:
    """Return `value` reduced modulo 2**32 into the signed range INT_MIN..INT_MAX."""
    return ((value + 2**31) & 0xFFFFFFFF) - 2**31


def div_s(a: int, b: int) -> int:
    """Return i32.div_s(a, b) (truncating); raises ReferenceTrap on b == 0 or INT_MIN / -1."""
    if b == 0:
        raise ReferenceTrap(DIVISION_BY_ZERO)
    if a == INT_MIN and b == -1:
        raise ReferenceTrap(OVERFLOW)
    q = abs(a) // abs(b)  # Python's // floors; wasm truncates toward zero
    return q if (a < 0) == (b < 0) else -q


def rem_s(a: int, b: int) -> int:
    """Return i32.rem_s(a, b) (sign of a; INT_MIN % -1 == 0); raises ReferenceTrap on b == 0."""
    if b == 0:
        raise ReferenceTrap(DIVISION_BY_ZERO)
    r = abs(a) % abs(b)
    return r if a >= 0 else -r


def apply_binop(op: str, a: int, b: int) -> int:
    """Return the i32 result of source operator `op`; raises ReferenceTrap for / and %."""
    if op == "+":
        return wrap_i32(a + b)
    if op == "-":
        return wrap_i32(a - b)
    if op == "*":
        return wrap_i32(a * b)
    if op == "/":
        return div_s(a, b)
    if op == "%":
        return rem_s(a, b)
    if op == "==":
        return int(a == b)
    if op == "!=":
        return int(a != b)
    if op == "<":
        return int(a < b)
    if op == ">":
        return int(a > b)
    if op == "<=":
        return int(a <= b)
    if op == ">=":
        return int(a >= b)
    raise ValueError(f"unknown operator {op!r}")


# Task tags for the explicit evaluation stack.
_EVAL, _NEG, _BIN, _BRANCH, _CALL, _RETURN = range(6)


def evaluate(
    program: Program | Sequence[FunctionDef],
    name: str,
    args: Sequence[int],
    *,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> int:
    """Return the i32 result of calling function `name` with `args` (wrapped to i32).

    The entry call is depth 1; a call that would exceed `max_depth` raises
    ReferenceTrap(STACK_OVERFLOW). Division traps raise ReferenceTrap(DIVISION_BY_ZERO or
    OVERFLOW). Raises KeyError for an unknown `name`, ValueError for the wrong number of args.
    """
    defs = {d.name: d for d in (program.ast if isinstance(program, Program) else program)}
    if name not in defs:
        raise KeyError(f"no function named {name!r}")
    entry = defs[name]
    if len(args) != len(entry.params):
        raise ValueError(f"{name!r} takes {len(entry.params)} arguments, got {len(args)}")
    values: list[int] = []
    env = dict(zip(entry.params, (wrap_i32(a) for a in args)))
    tasks: list[tuple[int, Expr, dict[str, int]]] = [(_EVAL, entry.body, env)]
    depth = 1
    while tasks:
        tag, node, env = tasks.pop()
        if tag == _EVAL:
            if isinstance(node, Num):
                values.append(node.value)
            elif isinstance(node, Var):
                values.append(env[node.name])
            elif isinstance(node, Unary):
                tasks += [(_NEG, node, env), (_EVAL, node.operand, env)]
            elif isinstance(node, BinOp):
                # pushed in reverse: the left operand is evaluated first, as in the bytecode
                tasks += [(_BIN, node, env), (_EVAL, node.right, env), (_EVAL, node.left, env)]
            elif isinstance(node, If):
                tasks += [(_BRANCH, node, env), (_EVAL, node.cond, env)]
            else:
                tasks.append((_CALL, node, env))
                tasks += [(_EVAL, a, env) for a in reversed(node.args)]
        elif tag == _NEG:
            values[-1] = wrap_i32(-values[-1])
        elif tag == _BIN:
            assert isinstance(node, BinOp)
            b, a = values.pop(), values.pop()
            try:
                values.append(apply_binop(node.op, a, b))
            except ReferenceTrap as trap:
                raise ReferenceTrap(trap.code, node.line, node.column) from None
        elif tag == _BRANCH:
            assert isinstance(node, If)
            # only the chosen branch is evaluated
            tasks.append((_EVAL, node.then_ if values.pop() != 0 else node.else_, env))
        elif tag == _CALL:
            assert isinstance(node, Call)
            callee = defs[node.name]
            k = len(callee.params)
            frame = dict(zip(callee.params, values[len(values) - k :]))
            del values[len(values) - k :]
            depth += 1
            if depth > max_depth:
                raise ReferenceTrap(STACK_OVERFLOW, node.line, node.column)
            tasks += [(_RETURN, node, env), (_EVAL, callee.body, frame)]
        else:
            depth -= 1
    return values.pop()

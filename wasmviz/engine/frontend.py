"""The front end: source -> checked AST (`syntax`) -> bytecode, plus a pretty printer.

This is the host's part of the system, as an embedder's would be: it writes bytecode into main
memory, and the main module interprets and JIT-compiles it. The grammar is in `syntax`.
`compile_program` returns a `Program` (AST + bytecode per function) or raises `SourceError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .bytecode import Op, encode
from .syntax import *  # noqa: F403 - the AST and parser are part of this module's API
from .syntax import _OPS, _UINT_MAX, COMPARISONS, MAX_DEPTH, MAX_PARAMS, SourceError

# ---------------------------------------------------------------- pretty printer

_PRECEDENCE = {**{op: 1 for op in COMPARISONS}, "+": 2, "-": 2, "*": 3, "/": 3, "%": 3}


def _fmt(e: Expr, level: int) -> str:
    """Source for `e` in a context accepting precedence >= level (0 expr .. 4 unary)."""
    if isinstance(e, Num):
        return str(e.value & _UINT_MAX)  # unsigned spelling re-parses to the same Num
    if isinstance(e, Var):
        return e.name
    if isinstance(e, Call):
        return f"{e.name}({', '.join(_fmt(a, 0) for a in e.args)})"
    if isinstance(e, Unary):
        return f"-{_fmt(e.operand, 4)}"
    if isinstance(e, BinOp):
        p = _PRECEDENCE[e.op]
        # left-associative: the right operand binds tighter; comparisons do not chain at all
        s = f"{_fmt(e.left, max(p, 2))} {e.op} {_fmt(e.right, p + 1)}"
        return f"({s})" if level > p else s
    s = f"if {_fmt(e.cond, 0)} then {_fmt(e.then_, 0)} else {_fmt(e.else_, 0)}"
    return f"({s})" if level > 0 else s


def format_expr(e: Expr) -> str:
    """Return canonical source for an expression (minimal parentheses)."""
    return _fmt(e, 0)


def format_program(defs: Sequence[FunctionDef]) -> str:
    """Return canonical source for a program; parsing it gives an equal AST."""
    bodies = [format_expr(d.body) for d in defs]
    if len(defs) > 1 and defs[-1].is_expression:
        # Whitespace is insignificant, so a bare expression starting with '-' would continue
        # the last body as a subtraction, and one starting with '(' would turn a body ending
        # in a name into a call. Parentheses (which add no AST node) keep them apart.
        if bodies[-1].startswith("-"):
            bodies[-1] = f"({bodies[-1]})"
        if not bodies[-2].endswith(")"):
            bodies[-2] = f"({bodies[-2]})" if bodies[-1].startswith("(") else bodies[-2]
    lines = [body if d.is_expression else f"def {d.name}({', '.join(d.params)}) = {body}"
             for d, body in zip(defs, bodies)]  # fmt: skip
    return "".join(line + "\n" for line in lines)


# ---------------------------------------------------------------- compiler


@dataclass(frozen=True)
class FunctionCode:
    """Bytecode of one function, CALL immediates left 0.

    `calls` lists (offset of a CALL immediate in `code`, callee name); `source_map` lists
    (instruction offset, line, column) for every instruction; `source_span` is the
    (start, end) character range of the definition in the source.
    """

    name: str
    params: tuple[str, ...]
    code: bytes
    calls: tuple[tuple[int, str], ...]
    line: int
    column: int
    source_span: tuple[int, int]
    source_map: tuple[tuple[int, int, int], ...] = ()


class _Emitter:
    def __init__(self, params: tuple[str, ...]) -> None:
        self.params = params
        self.code = bytearray()
        self.calls: list[tuple[int, str]] = []
        self.source_map: list[tuple[int, int, int]] = []

    def emit(self, e: Expr, op: Op, immediate: int | None = None) -> int:
        """Append one instruction attributed to `e`; return its offset."""
        at = len(self.code)
        self.source_map.append((at, e.line, e.column))
        self.code += encode(op, immediate)
        return at

    def patch(self, at: int, target: int) -> None:
        self.code[at + 1 : at + 5] = target.to_bytes(4, "little", signed=True)

    def expr(self, e: Expr) -> None:
        if isinstance(e, Num):
            self.emit(e, Op.CONST, e.value)
        elif isinstance(e, Var):
            self.emit(e, Op.ARG, self.params.index(e.name))
        elif isinstance(e, Unary):
            self.emit(e, Op.CONST, 0)
            self.expr(e.operand)
            self.emit(e, Op.SUB)
        elif isinstance(e, BinOp):
            self.expr(e.left)
            self.expr(e.right)
            self.emit(e, _OPS[e.op])
        elif isinstance(e, If):
            self.expr(e.cond)
            if_at = self.emit(e, Op.IF, 0)
            self.expr(e.then_)
            else_at = self.emit(e, Op.ELSE, 0)
            self.patch(if_at, len(self.code))  # just after ELSE: start of the else-branch
            self.expr(e.else_)
            self.emit(e, Op.END)
            self.patch(else_at, len(self.code))  # just after END
        else:
            for a in e.args:
                self.expr(a)
            at = self.emit(e, Op.CALL, 0)
            self.calls.append((at + 1, e.name))


def compile_function(d: FunctionDef) -> FunctionCode:
    """Return the bytecode of a checked definition (see docs/abi.md, "Bytecode")."""
    em = _Emitter(d.params)
    em.expr(d.body)
    em.emit(d.body, Op.RET)
    return FunctionCode(d.name, d.params, bytes(em.code), tuple(em.calls), d.line, d.column,
                        d.span, tuple(em.source_map))  # fmt: skip


@dataclass(frozen=True)
class Program:
    """A compiled program: `functions` in definition order (bare expression last), `ast`."""

    functions: tuple[FunctionCode, ...]
    ast: tuple[FunctionDef, ...]
    source: str = ""

    def function(self, name: str) -> FunctionCode:
        """Return the compiled function `name`; raises KeyError."""
        for f in self.functions:
            if f.name == name:
                return f
        raise KeyError(name)

    def definition(self, name: str) -> FunctionDef:
        """Return the AST of function `name`; raises KeyError."""
        for d in self.ast:
            if d.name == name:
                return d
        raise KeyError(name)

    def link(self, addresses: Mapping[str, int]) -> dict[str, bytes]:
        """Return name -> code with each CALL immediate set to the callee's object address.

        Raises ValueError if a callee has no address or it does not fit in 32 bits.
        """
        linked: dict[str, bytes] = {}
        for f in self.functions:
            code = bytearray(f.code)
            for at, callee in f.calls:
                if callee not in addresses:
                    raise ValueError(f"no address given for function '{callee}'")
                address = addresses[callee]
                if not 0 <= address <= _UINT_MAX:
                    raise ValueError(f"address {address} of '{callee}' does not fit in 32 bits")
                code[at : at + 4] = address.to_bytes(4, "little")
            linked[f.name] = bytes(code)
        return linked


def compile_program(source: str, expr_name: str = "expr") -> Program:
    """Parse, check and compile `source`; the bare expression (if any) is named `expr_name`.

    Returns a Program; raises SourceError (with line, column and message) for bad source.
    """
    defs = parse_program(source, expr_name)
    return Program(tuple(compile_function(d) for d in defs), defs, source)

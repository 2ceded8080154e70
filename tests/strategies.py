"""Hypothesis strategies for random well-formed source programs and i32 arguments.

The generator is written independently of `wasmviz.engine.frontend` (its own precedence-aware
printer) so that it tests the parser rather than mirroring it. Function i may call only
functions j < i, so there is no recursion and every evaluation terminates.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

INT_MIN = -(2**31)
INT_MAX = 2**31 - 1
MAX_PARAMS = 4
KEYWORDS = frozenset({"def", "if", "then", "else"})
EXPR_NAME = "expr"  # the name compile_program gives the bare expression by default

# Precedence of a rendered expression: what it may be used as without parentheses.
IF, CMP, SUM, TERM, UNARY, ATOM = range(6)

# Literal spellings (text, precedence), including the extremes of i32.
LITERALS: tuple[tuple[str, int], ...] = (
    ("0", ATOM),
    ("1", ATOM),
    ("-1", UNARY),
    ("2147483647", ATOM),
    ("(0-2147483647-1)", ATOM),  # INT_MIN: there is no negative literal
    ("2147483648", ATOM),  # wraps to INT_MIN
    ("4294967295", ATOM),  # wraps to -1
)
BINARY: dict[str, int] = {"+": SUM, "-": SUM, "*": TERM, "/": TERM, "%": TERM}
COMPARE = ("<", ">", "<=", ">=", "==", "!=")

identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True).filter(
    lambda s: s not in KEYWORDS and s != EXPR_NAME
)
# Separators: whitespace is insignificant, comments run to the end of the line.
_sep = st.sampled_from([" ", " ", " ", "\n", "\t", "  ", " # note\n", "\n\n    "])
_op_sep = st.sampled_from(["", " ", " ", " ", "\n", " # why not\n"])


def i32s() -> st.SearchStrategy[int]:
    """Signed i32 values, with the edge cases drawn often."""
    edges = st.sampled_from([0, 1, -1, 2, -2, INT_MAX, INT_MIN, INT_MIN + 1, INT_MAX - 1])
    return st.one_of(edges, st.integers(INT_MIN, INT_MAX))


def _wrap(text: str, prec: int, need: int) -> str:
    return f"({text})" if prec < need else text


@dataclass(frozen=True)
class _Scope:
    params: tuple[str, ...]
    callees: tuple[tuple[str, int], ...]  # (name, arity) of functions this body may call


@st.composite
def _expr(draw: st.DrawFn, scope: _Scope, depth: int) -> tuple[str, int]:
    """Return (source text, precedence) of a random expression of at most `depth` levels."""
    kinds = ["lit", "lit", "int"] + (["var", "var"] if scope.params else [])
    if depth > 0:
        kinds += ["neg", "bin", "bin", "cmp", "if", "paren"] + (["call"] if scope.callees else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "lit":
        return draw(st.sampled_from(LITERALS))
    if kind == "int":
        return str(draw(st.integers(0, 2**32 - 1))), ATOM
    if kind == "var":
        return draw(st.sampled_from(scope.params)), ATOM
    sub = _expr(scope, depth - 1)
    if kind == "neg":
        text, prec = draw(sub)
        return f"-{draw(_op_sep)}{_wrap(text, prec, UNARY)}", UNARY
    if kind == "paren":
        text, _ = draw(sub)
        return f"({draw(_op_sep)}{text}{draw(_op_sep)})", ATOM
    if kind == "bin":
        op = draw(st.sampled_from(sorted(BINARY)))
        p = BINARY[op]
        (lt, lp), (rt, rp) = draw(sub), draw(sub)
        # left-associative: the right operand must bind tighter than the operator
        sep = draw(_op_sep)
        return f"{_wrap(lt, lp, p)}{sep}{op}{sep}{_wrap(rt, rp, p + 1)}", p
    if kind == "cmp":
        op = draw(st.sampled_from(COMPARE))
        (lt, lp), (rt, rp) = draw(sub), draw(sub)
        sep = draw(_op_sep)
        return f"{_wrap(lt, lp, SUM)}{sep}{op}{sep}{_wrap(rt, rp, SUM)}", CMP
    if kind == "if":
        (c, _), (t, _), (e, _) = draw(sub), draw(sub), draw(sub)
        s = [draw(_sep) for _ in range(6)]
        return f"if{s[0]}{c}{s[1]}then{s[2]}{t}{s[3]}else{s[4]}{e}", IF
    name, arity = draw(st.sampled_from(scope.callees))
    args = [draw(sub)[0] for _ in range(arity)]
    return f"{name}({(',' + draw(_op_sep)).join(args)})", ATOM


@st.composite
def programs(draw: st.DrawFn, max_functions: int = 4, max_depth: int = 4) -> tuple[str, str, int]:
    """Return (source, entry function name, entry arity) of a random well-formed program.

    1..max_functions functions with 0..4 parameters; the last one may be the bare expression
    (named EXPR_NAME, parameter `x`). The entry is the last function.
    """
    n = draw(st.integers(1, max_functions))
    names = draw(st.lists(identifiers, min_size=n, max_size=n, unique=True))
    bare = draw(st.booleans())
    callees: list[tuple[str, int]] = []
    heads: list[str] = []  # "def f(a, b) =" plus layout, one per definition
    bodies: list[str] = []
    body, is_bare = "", False
    for i, name in enumerate(names):
        is_bare = bare and i == n - 1
        if is_bare:
            params: list[str] = ["x"]
        else:
            k = draw(st.integers(0, MAX_PARAMS))
            params = draw(st.lists(identifiers, min_size=k, max_size=k, unique=True))
        scope = _Scope(tuple(params), tuple(callees))
        body, _ = draw(_expr(scope, draw(st.integers(0, max_depth))))
        if is_bare:
            break
        s = [draw(_sep) for _ in range(3)]
        heads.append(f"def{s[0]}{name}({', '.join(params)}){s[1]}={s[2]}")
        bodies.append(body)
        callees.append((name, len(params)))
    if is_bare and bodies:
        # Whitespace is insignificant: a bare expression starting with '-' would continue the
        # last body as a subtraction, and one starting with '(' would turn a last body ending
        # in a name into a call. Parentheses keep them apart without changing the AST.
        if body.startswith("-"):
            body = f"({body})"
        if body.startswith("(") and not bodies[-1].endswith(")"):
            bodies[-1] = f"({bodies[-1]})"
    lines = [h + b for h, b in zip(heads, bodies)] + ([body] if is_bare else [])
    source = "\n".join(lines) + draw(st.sampled_from(["", "\n", "  # end\n"]))
    if is_bare:
        return source, EXPR_NAME, 1
    return source, names[-1], callees[-1][1]


@st.composite
def program_and_args(draw: st.DrawFn) -> tuple[str, str, tuple[int, ...]]:
    """Return (source, entry name, arguments) for a random program."""
    source, entry, arity = draw(programs())
    args = tuple(draw(i32s()) for _ in range(arity))
    return source, entry, args


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """``original`` (a module's bytes) with one to six bytes set, deleted, inserted or the rest
    cut off: what a buggy JIT or a bad file could hand the host."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        how = draw(st.sampled_from(["set", "delete", "insert", "truncate"]))
        if how == "set" and data:
            data[at] = draw(st.integers(0, 255))
        elif how == "delete" and data:
            del data[at]
        elif how == "insert":
            data.insert(at, draw(st.integers(0, 255)))
        elif how == "truncate":
            del data[at:]
    return bytes(data)

"""The source language's syntax: AST, lexer, parser and name checks.

Grammar (whitespace and newlines are insignificant; `#` starts a comment to end of line)::

    program := { def } [ expr ]
    def     := 'def' NAME '(' [ NAME { ',' NAME } ] ')' '=' expr
    expr    := 'if' expr 'then' expr 'else' expr | cmp
    cmp     := sum [ ('<' | '>' | '<=' | '>=' | '==' | '!=') sum ]   # non-associative
    sum     := term { ('+' | '-') term }
    term    := unary { ('*' | '/' | '%') unary }
    unary   := '-' unary | atom
    atom    := INT | NAME | NAME '(' [ expr { ',' expr } ] ')' | '(' expr ')'

Keywords: def if then else. NAME is [A-Za-z_][A-Za-z0-9_]*. INT is decimal 0..4294967295 and
wraps to i32 (4294967295 is -1). A function has at most MAX_PARAMS parameters with distinct
names; function names are unique. A body may use only its own parameters and may call any
function defined anywhere in the program (so mutual recursion works) with the right number of
arguments. The optional bare expression becomes a function of one parameter `x`, named by the
caller (`expr_name`). Values are i32 with wasm semantics (see `reference`); unary minus `-e`
means `0 - e`.

`parse_program` returns the checked AST or raises `SourceError`; `frontend` compiles it.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from .bytecode import Op, encode

MAX_PARAMS = 4
MAX_NESTING = 60  # parentheses / if / call nesting; bounds the parser's Python recursion
MAX_DEPTH = 200  # expression tree depth; bounds recursion in the compiler and printer
KEYWORDS = frozenset({"def", "if", "then", "else"})
COMPARISONS = ("<", ">", "<=", ">=", "==", "!=")
_UINT_MAX = 2**32 - 1
_OPS = {"+": Op.ADD, "-": Op.SUB, "*": Op.MUL, "/": Op.DIV, "%": Op.REM, "==": Op.EQ,
        "!=": Op.NE, "<": Op.LT, ">": Op.GT, "<=": Op.LE, ">=": Op.GE}  # fmt: skip
_PUNCT = ("<=", ">=", "==", "!=", "+", "-", "*", "/", "%", "<", ">", "(", ")", ",", "=")
_CHAR_HINTS = {
    "!": ": did you mean '!='?",
    "&": ": there are no boolean operators; use nested 'if'",
    "|": ": there are no boolean operators; use nested 'if'",
    ";": ": expressions need no separator",
}


class SourceError(Exception):
    """A compile error at a 1-based `line` and `column`; str() is 'line L, column C: message'."""

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(f"line {line}, column {column}: {message}")
        self.line = line
        self.column = column
        self.message = message


# ---------------------------------------------------------------- AST
# Positions are excluded from equality so that trees can be compared structurally
# (e.g. a program and its pretty-printed re-parse).


@dataclass(frozen=True)
class Node:
    """Base of expression nodes: 1-based source position (keyword-only, ignored by ==)."""

    line: int = field(default=0, compare=False, kw_only=True)
    column: int = field(default=0, compare=False, kw_only=True)


@dataclass(frozen=True)
class Num(Node):
    """Integer literal, already wrapped to a signed i32."""

    value: int


@dataclass(frozen=True)
class Var(Node):
    """Use of a parameter."""

    name: str


@dataclass(frozen=True)
class Unary(Node):
    """`-operand` (op is always '-'); positioned at the operator."""

    op: str
    operand: Expr


@dataclass(frozen=True)
class BinOp(Node):
    """Arithmetic or comparison; positioned at the operator (where a trap is reported)."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class If(Node):
    """`if cond then then_ else else_`; positioned at the `if` keyword."""

    cond: Expr
    then_: Expr
    else_: Expr


@dataclass(frozen=True)
class Call(Node):
    """Call of a function by name; positioned at the name."""

    name: str
    args: tuple[Expr, ...]


Expr = Num | Var | Unary | BinOp | If | Call


@dataclass(frozen=True)
class FunctionDef:
    """A definition (or the bare expression, `is_expression`); span = source char range."""

    name: str
    params: tuple[str, ...]
    body: Expr
    is_expression: bool = False
    line: int = field(default=0, compare=False)
    column: int = field(default=0, compare=False)
    span: tuple[int, int] = field(default=(0, 0), compare=False)


# ---------------------------------------------------------------- lexer


@dataclass(frozen=True)
class _Token:
    kind: str  # 'int' | 'name' | 'kw' | 'op' | 'eof'
    text: str
    line: int
    column: int
    start: int
    end: int

    def describe(self) -> str:
        if self.kind == "eof":
            return "the end of the program"
        if self.kind == "int":
            return f"number {self.text}"
        return f"name '{self.text}'" if self.kind == "name" else f"'{self.text}'"


def _tokenize(src: str) -> list[_Token]:
    """Return the tokens of `src`, ending with an 'eof' token; raises SourceError."""
    tokens: list[_Token] = []
    pos, line, line_start = 0, 1, 0
    while True:
        while pos < len(src) and (src[pos] in " \t\r\f\v\n" or src[pos] == "#"):
            if src[pos] == "#":
                while pos < len(src) and src[pos] != "\n":
                    pos += 1
            elif src[pos] == "\n":
                line, line_start = line + 1, pos + 1
                pos += 1
            else:
                pos += 1
        col = pos - line_start + 1
        if pos == len(src):
            tokens.append(_Token("eof", "", line, col, pos, pos))
            return tokens
        ch, start = src[pos], pos
        if ch.isascii() and (ch.isalnum() or ch == "_"):
            while pos < len(src) and src[pos].isascii() and (src[pos].isalnum() or src[pos] == "_"):
                pos += 1
            text = src[start:pos]
            if text[0].isdigit():
                if not text.isdigit():
                    raise SourceError(line, col, f"invalid number '{text}'")
                if len(text.lstrip("0")) > 10 or int(text) > _UINT_MAX:  # no huge int()
                    raise SourceError(line, col, f"literal out of range: {text} is larger than "
                                      f"{_UINT_MAX} (numbers are 32-bit)")  # fmt: skip
                kind = "int"
            else:
                kind = "kw" if text in KEYWORDS else "name"
            tokens.append(_Token(kind, text, line, col, start, pos))
            continue
        op = next((p for p in _PUNCT if src.startswith(p, pos)), None)
        if op is None:
            shown = repr(ch) if ch.isprintable() else ascii(ch)
            raise SourceError(line, col, f"unexpected character {shown}{_CHAR_HINTS.get(ch, '')}")
        pos += len(op)
        tokens.append(_Token("op", op, line, col, start, pos))


# ---------------------------------------------------------------- parser


class _Parser:
    """Recursive descent over the token list; every method raises SourceError on bad input."""

    def __init__(self, src: str) -> None:
        self.tokens = _tokenize(src)
        self.i = 0
        self.nesting = 0
        self.depth: dict[int, int] = {}  # id(node) -> tree depth, to enforce MAX_DEPTH

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def advance(self) -> _Token:
        tok = self.tokens[self.i]
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return tok

    def at(self, kind: str, text: str | None = None) -> bool:
        return self.tok.kind == kind and (text is None or self.tok.text == text)

    def fail(self, message: str) -> SourceError:
        """Error at the current token; at the end of input, just after the last real token."""
        tok = self.tok
        if tok.kind == "eof" and self.i > 0:
            prev = self.tokens[self.i - 1]
            return SourceError(prev.line, prev.column + len(prev.text), message)
        return SourceError(tok.line, tok.column, message)

    def node(self, tok: _Token, make: Callable[..., Expr], *fields: object) -> Expr:
        """Return make(*fields) positioned at `tok`; raises SourceError past MAX_DEPTH."""
        kids = [f for f in fields if isinstance(f, Node)]
        kids += [a for f in fields if isinstance(f, tuple) for a in f]
        depth = 1 + max((self.depth[id(k)] for k in kids), default=0)
        if depth > MAX_DEPTH:
            raise SourceError(tok.line, tok.column, f"expression too deep (more than "
                              f"{MAX_DEPTH} levels): split it into functions")  # fmt: skip
        node = make(*fields, line=tok.line, column=tok.column)
        self.depth[id(node)] = depth
        return node

    def program(self, expr_name: str) -> list[FunctionDef]:
        defs: list[FunctionDef] = []
        while self.at("kw", "def"):
            defs.append(self.definition())
        if not self.at("eof"):
            first = self.tok
            body = self.expr()
            if self.at("kw", "def"):
                raise self.fail("definitions must come before the program's expression")
            if not self.at("eof"):
                raise self.fail(f"unexpected {self.tok.describe()} after the end of the expression")
            span = (first.start, self.tokens[self.i - 1].end)
            defs.append(FunctionDef(expr_name, ("x",), body, True, first.line, first.column, span))
        if not defs:
            raise SourceError(1, 1, "empty program: write an expression, or definitions "
                              "such as def f(n) = n + 1")  # fmt: skip
        return defs

    def definition(self) -> FunctionDef:
        start = self.advance()
        name = self.tok
        if name.kind != "name":
            what = f"'{name.text}' is a keyword, not a function name" if name.kind == "kw" else (
                f"expected a function name after 'def', found {name.describe()}")
            raise self.fail(what)
        self.advance()
        if not self.at("op", "("):
            raise self.fail(f"expected '(' after the function name '{name.text}'")
        self.advance()
        params: list[str] = []
        while not self.at("op", ")"):
            if params:
                if not self.at("op", ","):
                    raise self.fail(f"expected ',' or ')' in the parameters of '{name.text}'")
                self.advance()
            p = self.tok
            if p.kind != "name":
                raise self.fail(f"'{p.text}' is a keyword, not a parameter name" if p.kind == "kw"
                                else f"expected a parameter name, found {p.describe()}")
            if p.text in params:
                raise self.fail(f"duplicate parameter '{p.text}' in '{name.text}'")
            if len(params) == MAX_PARAMS:
                raise self.fail(f"too many parameters: '{name.text}' may have at most "
                                f"{MAX_PARAMS}")  # fmt: skip
            params.append(self.advance().text)
        self.advance()
        if not self.at("op", "="):
            hint = " (a definition is def f(a, b) = expression)"
            raise self.fail(f"expected '=' after the parameters of '{name.text}'{hint}")
        self.advance()
        body = self.expr()
        span = (start.start, self.tokens[self.i - 1].end)
        return FunctionDef(name.text, tuple(params), body, False, name.line, name.column, span)

    def expr(self) -> Expr:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise self.fail(f"expression nested too deeply (more than {MAX_NESTING} levels)")
        try:
            if not self.at("kw", "if"):
                return self.cmp()
            tok = self.advance()
            cond = self.expr()
            if not self.at("kw", "then"):
                raise self.fail("expected 'then' after the condition")
            self.advance()
            then_ = self.expr()
            if not self.at("kw", "else"):
                raise self.fail("expected 'else' after the then-branch (every 'if' needs one)")
            self.advance()
            else_ = self.expr()
            return self.node(tok, If, cond, then_, else_)
        finally:
            self.nesting -= 1

    def cmp(self) -> Expr:
        left = self.sum()
        if self.at("op", "="):  # '=' only belongs after a def's parameters
            raise self.fail("unexpected '=': to compare two values use '=='")
        if self.tok.kind == "op" and self.tok.text in COMPARISONS:
            tok = self.advance()
            right = self.sum()
            left = self.node(tok, BinOp, tok.text, left, right)
            if self.tok.kind == "op" and self.tok.text in COMPARISONS:
                raise self.fail("chained comparison: comparisons cannot be chained; "
                                "add parentheses, e.g. (a < b) < c")  # fmt: skip
        return left

    def sum(self) -> Expr:
        return self.chain(("+", "-"), self.term)

    def term(self) -> Expr:
        return self.chain(("*", "/", "%"), self.unary)

    def chain(self, ops: tuple[str, ...], operand: Callable[[], Expr]) -> Expr:
        """A left-associative chain `operand { op operand }` (the sum and term rules)."""
        left = operand()
        while self.tok.kind == "op" and self.tok.text in ops:
            tok = self.advance()
            left = self.node(tok, BinOp, tok.text, left, operand())
        return left

    def unary(self) -> Expr:
        minus: list[_Token] = []  # a loop, not recursion, so '- - - x' costs no Python stack
        while self.at("op", "-"):
            minus.append(self.advance())
        e = self.atom()
        for tok in reversed(minus):
            e = self.node(tok, Unary, "-", e)
        return e

    def atom(self) -> Expr:
        tok = self.tok
        if tok.kind == "int":
            self.advance()
            value = int(tok.text)
            value = value - 2**32 if value >= 2**31 else value  # literals wrap to i32
            return self.node(tok, Num, value)
        if tok.kind == "name":
            self.advance()
            if not self.at("op", "("):
                return self.node(tok, Var, tok.text)
            return self.call(tok)
        if tok.kind == "op" and tok.text == "(":
            self.advance()
            e = self.expr()
            if not self.at("op", ")"):
                where = f"line {tok.line}, column {tok.column}"
                if self.at("eof"):
                    raise self.fail(f"unterminated expression: missing ')' to close the '(' "
                                    f"at {where}")  # fmt: skip
                raise self.fail(f"missing ')' to close the '(' at {where}, "
                                f"found {self.tok.describe()}")  # fmt: skip
            self.advance()
            return e
        if tok.kind == "eof":
            prev = self.tokens[self.i - 1].text if self.i > 0 else ""
            raise self.fail(f"unterminated expression: expected a value after '{prev}'")
        if tok.kind == "op" and tok.text == "=":
            raise self.fail("unexpected '=': to compare two values use '=='")
        raise self.fail(f"expected a number, a name or '(', found {tok.describe()}")

    def call(self, name: _Token) -> Expr:
        self.advance()  # '('
        args: list[Expr] = []
        while not self.at("op", ")"):
            if args:
                if self.at("eof"):
                    raise self.fail(f"unterminated call: missing ')' to close '{name.text}('")
                if not self.at("op", ","):
                    raise self.fail(f"expected ',' or ')' in the arguments of '{name.text}', "
                                    f"found {self.tok.describe()}")  # fmt: skip
                self.advance()
            args.append(self.expr())
        self.advance()
        return self.node(name, Call, name.text, tuple(args))


# ---------------------------------------------------------------- name checks


def _did_you_mean(name: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _check(defs: Sequence[FunctionDef]) -> None:
    """Raise SourceError for duplicate names, unknown names/functions or wrong arities."""
    table: dict[str, FunctionDef] = {}
    for d in defs:
        if d.name in table:
            first = table[d.name]
            if d.is_expression or first.is_expression:
                other = first if d.is_expression else d
                raise SourceError(other.line, other.column, f"'{d.name}' is the name given to "
                                  "the program's expression; rename this function")  # fmt: skip
            raise SourceError(d.line, d.column, f"duplicate definition: '{d.name}' is already "
                              f"defined at line {first.line}")  # fmt: skip
        table[d.name] = d
    callable_ = {n: d for n, d in table.items() if not d.is_expression}
    for d in defs:
        stack: list[Expr] = [d.body]
        while stack:
            e = stack.pop()
            if isinstance(e, Var) and e.name not in d.params:
                if e.name in callable_:
                    msg = f"'{e.name}' is a function: call it like {e.name}(...)"
                elif d.is_expression:
                    msg = f"unknown name '{e.name}': the expression can only use 'x'"
                else:
                    known = ", ".join(d.params) if d.params else "none"
                    msg = (f"unknown name '{e.name}'{_did_you_mean(e.name, d.params)}: "
                           f"the parameters of '{d.name}' are: {known}")  # fmt: skip
                raise SourceError(e.line, e.column, msg)
            if isinstance(e, Call):
                callee = callable_.get(e.name)
                if callee is None:
                    if e.name in d.params:
                        msg = f"'{e.name}' is a parameter, not a function"
                    else:
                        msg = f"unknown function '{e.name}'{_did_you_mean(e.name, list(callable_))}"
                    raise SourceError(e.line, e.column, msg)
                want, got = len(callee.params), len(e.args)
                if want != got:
                    s = "" if want == 1 else "s"
                    raise SourceError(e.line, e.column, f"wrong number of arguments: '{e.name}' "
                                      f"takes {want} argument{s}, but {got} "
                                      f"{'was' if got == 1 else 'were'} given")  # fmt: skip
            if isinstance(e, Unary):
                stack.append(e.operand)
            elif isinstance(e, BinOp):
                stack += [e.right, e.left]
            elif isinstance(e, If):
                stack += [e.else_, e.then_, e.cond]
            elif isinstance(e, Call):
                stack += reversed(e.args)


def parse_program(source: str, expr_name: str = "expr") -> tuple[FunctionDef, ...]:
    """Return the checked AST of `source` (bare expression last); raises SourceError."""
    defs = _Parser(source).program(expr_name)
    _check(defs)
    return tuple(defs)

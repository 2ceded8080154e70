"""Tests for the front end (wasmviz.engine.frontend) and the disassembler (bytecode)."""

from __future__ import annotations

import struct
from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from strategies import program_and_args, programs

from wasmviz.engine.bytecode import HAS_IMMEDIATE, Op, disassemble, encode, instruction_size
from wasmviz.engine.frontend import (
    MAX_PARAMS,
    BinOp,
    Call,
    If,
    Num,
    Program,
    SourceError,
    Unary,
    Var,
    compile_program,
    format_program,
    parse_program,
)
from wasmviz.engine.reference import ReferenceTrap, apply_binop, evaluate


def i32(v: int) -> str:
    """Hex of an i32 LE immediate, for readable expected bytes."""
    return struct.pack("<i", v).hex()


def code_of(source: str, name: str = "expr") -> bytes:
    return compile_program(source).function(name).code


# ------------------------------------------------------------------ exact bytecode


@pytest.mark.parametrize(
    ("source", "expected_hex"),
    [
        # CONST 1, CONST 2, ADD, RET
        ("1 + 2", "01" + i32(1) + "01" + i32(2) + "03" + "00"),
        # ARG 0, CONST 0, CONST 3, SUB, MUL, RET   (unary minus is 0 - e)
        ("x * -3", "02" + i32(0) + "01" + i32(0) + "01" + i32(3) + "04" + "05" + "00"),
        # literals wrap to i32: 4294967295 is -1, 2147483648 is INT_MIN
        ("4294967295", "01ffffffff00"),
        ("2147483648", "010000008000"),
        # left associativity: (10 - 4) - 3
        ("10 - 4 - 3", "01" + i32(10) + "01" + i32(4) + "04" + "01" + i32(3) + "04" + "00"),
        # precedence: 1 + (2 * 3)
        ("1 + 2 * 3", "01" + i32(1) + "01" + i32(2) + "01" + i32(3) + "05" + "03" + "00"),
        ("(1 + 2) * 3", "01" + i32(1) + "01" + i32(2) + "03" + "01" + i32(3) + "05" + "00"),
        ("x / 7 % 5", "02" + i32(0) + "01" + i32(7) + "06" + "01" + i32(5) + "07" + "00"),
    ],
)
def test_exact_bytes(source: str, expected_hex: str) -> None:
    assert code_of(source).hex() == expected_hex


@pytest.mark.parametrize(
    ("op", "opcode"), [("==", 8), ("!=", 9), ("<", 10), (">", 11), ("<=", 12), (">=", 13)]
)
def test_comparison_opcodes(op: str, opcode: int) -> None:
    assert code_of(f"x {op} 5") == bytes.fromhex("02" + i32(0) + "01" + i32(5)) + bytes([opcode, 0])


def test_arg_immediate_is_parameter_index() -> None:
    code = code_of("def f(a, b, c, d) = d - a\nf(1, 2, 3, x)", "f")
    assert code.hex() == "02" + i32(3) + "02" + i32(0) + "04" + "00"


def test_if_else_offsets() -> None:
    # 0 ARG 0 | 5 IF | 10 CONST 7 | 15 ELSE | 20 CONST 8 | 25 END | 26 RET
    code = code_of("if x then 7 else 8")
    expected = ("02" + i32(0) + "0e" + i32(20) + "01" + i32(7) + "0f" + i32(26)
                + "01" + i32(8) + "10" + "00")  # fmt: skip
    assert code.hex() == expected


def test_nested_if_offsets_follow_the_abi_shape() -> None:
    code = code_of("if x then (if x - 1 then 1 else 2) else (if 0 then 3 else 4) + 5")
    ins = disassemble(code)
    by_offset = {i.offset: i for i in ins}
    ifs = [i for i in ins if i.op is Op.IF]
    assert len(ifs) == 3
    for if_ in ifs:
        assert if_.immediate is not None
        # IF jumps just past its ELSE; that ELSE jumps just past the matching END
        else_ = by_offset[if_.immediate - instruction_size(Op.ELSE)]
        assert else_.op is Op.ELSE and else_.immediate is not None
        assert by_offset[else_.immediate - 1].op is Op.END
    # the outer else-branch is `(if ...) + 5`: ADD, then the outer END, then RET
    assert [i.op for i in ins[-3:]] == [Op.ADD, Op.END, Op.RET]


# ------------------------------------------------------------------ calls and linking

SUB_SOURCE = "def f(a, b) = a - b\nf(x, 1)"


def test_calls_record_immediate_offsets() -> None:
    program = compile_program(SUB_SOURCE)
    expr = program.function("expr")
    # ARG 0 | CONST 1 | CALL at 10, immediate at 11 | RET
    assert expr.code.hex() == "02" + i32(0) + "01" + i32(1) + "11" + i32(0) + "00"
    assert expr.calls == ((11, "f"),)
    assert program.function("f").calls == ()
    assert [f.name for f in program.functions] == ["f", "expr"]
    assert program.function("f").params == ("a", "b")
    assert program.function("expr").params == ("x",)


def test_link_fills_call_addresses() -> None:
    program = compile_program("def g(n) = n * 2\ndef f(a, b) = g(a) + g(b)\nf(x, 3)")
    linked = program.link({"g": 0x1000, "f": 0x1020, "expr": 0x1040})
    f = program.function("f")
    assert len(f.calls) == 2
    for at, callee in f.calls:
        assert callee == "g"
        assert linked["f"][at : at + 4] == (0x1000).to_bytes(4, "little")
        assert f.code[at : at + 4] == bytes(4)  # unlinked code is unchanged
    assert linked["expr"][-5:-1] == (0x1020).to_bytes(4, "little")
    assert linked["g"] == program.function("g").code
    assert list(linked) == ["g", "f", "expr"]
    names = {0x1000: "g", 0x1020: "f"}
    assert [i.text for i in disassemble(linked["f"], names) if i.op is Op.CALL] == ["CALL g"] * 2
    with pytest.raises(ValueError, match="'g'"):
        program.link({"f": 0x1020, "expr": 0x1040})


def test_mutual_recursion_compiles() -> None:
    program = compile_program(
        "def even(n) = if n == 0 then 1 else odd(n - 1)\n"
        "def odd(n) = if n == 0 then 0 else even(n - 1)\n"
        "even(x)"
    )
    assert [c for _, c in program.function("even").calls] == ["odd"]
    assert [c for _, c in program.function("odd").calls] == ["even"]


def test_positions_and_spans() -> None:
    source = "# header\ndef  sq(n) =\n  n * n\nsq(x) + 1"
    program = compile_program(source)
    sq = program.function("sq")
    assert (sq.line, sq.column) == (2, 6)
    assert source[sq.source_span[0] : sq.source_span[1]] == "def  sq(n) =\n  n * n"
    body = program.definition("sq").body
    assert isinstance(body, BinOp) and (body.line, body.column) == (3, 5)
    expr = program.function("expr")
    assert (expr.line, expr.column) == (4, 1)
    assert source[slice(*expr.source_span)] == "sq(x) + 1"
    # every instruction is attributed to a source position
    assert [o for o, _, _ in sq.source_map] == [i.offset for i in disassemble(sq.code)]


def test_ast_shape() -> None:
    f0, d = parse_program("def f0() = 1\nif -x < 2 then f0() else 3")
    assert f0.name == "f0" and not f0.is_expression and f0.body == Num(1)
    assert d.name == "expr" and d.is_expression and d.params == ("x",)
    assert d.body == If(BinOp("<", Unary("-", Var("x")), Num(2)), Call("f0", ()), Num(3))


def test_expr_name_is_chosen_by_the_caller() -> None:
    program = compile_program("x + 1", expr_name="main")
    assert [f.name for f in program.functions] == ["main"]


def test_only_definitions_is_a_program() -> None:
    assert [f.name for f in compile_program("def one() = 1").functions] == ["one"]


# ------------------------------------------------------------------ disassembler


def test_disassembly_text() -> None:
    code = code_of("def fib(n) = if n < 2 then n else fib(n - 1) + fib(n - 2)", "fib")
    texts = [i.text for i in disassemble(code, {0x1000: "fib"})]
    assert texts[:6] == ["ARG 0", "CONST 2", "LT", "IF else@26", "ARG 0", "ELSE end@60"]
    assert texts[-1] == "RET"
    assert [i.text for i in disassemble(code) if i.op is Op.CALL] == ["CALL 0x0", "CALL 0x0"]
    assert [i.text for i in disassemble(code_of("-3"))] == ["CONST 0", "CONST 3", "SUB", "RET"]
    assert disassemble(bytes([1]) + (-3).to_bytes(4, "little", signed=True))[0].text == "CONST -3"


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        (bytes([3, 99]), "offset 1: unknown opcode 99"),
        (bytes([0, 1, 2, 0]), "offset 1: CONST immediate is cut off"),
        (bytes.fromhex("0e03000000" + "00"), "offset 0: IF target 3"),
        (bytes.fromhex("0f00010000"), "offset 0: ELSE target 256"),
    ],
)
def test_malformed_code(code: bytes, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        disassemble(code)


def test_encode_rejects_bad_immediates() -> None:
    with pytest.raises(ValueError):
        encode(Op.ADD, 1)
    with pytest.raises(ValueError):
        encode(Op.CONST)
    with pytest.raises(ValueError):
        encode(Op.CALL, 2**32)
    assert encode(Op.CALL, 2**32 - 1) == bytes([17, 255, 255, 255, 255])


def test_opcode_numbers_match_the_abi() -> None:
    assert [op.name for op in sorted(Op)] == [
        "RET", "CONST", "ARG", "ADD", "SUB", "MUL", "DIV", "REM", "EQ", "NE", "LT", "GT",
        "LE", "GE", "IF", "ELSE", "END", "CALL",
    ]  # fmt: skip
    assert {op.name for op in HAS_IMMEDIATE} == {"CONST", "ARG", "IF", "ELSE", "CALL"}


# ------------------------------------------------------------------ errors

ERRORS: list[tuple[str, int, int, str]] = [
    ("1 $ 2", 1, 3, "unexpected character '$'"),
    ("x ! 2", 1, 3, "did you mean '!='?"),
    ("1 +", 1, 4, "unterminated expression: expected a value after '+'"),
    ("(1 + 2", 1, 7, "unterminated expression: missing ')' to close the '(' at line 1, column 1"),
    ("(1 2)", 1, 4, "missing ')' to close the '(' at line 1, column 1, found number 2"),
    ("def f(a) =\n  f(a", 2, 6, "unterminated call: missing ')' to close 'f('"),
    ("def f(a) = f(a b)", 1, 16, "expected ',' or ')' in the arguments of 'f'"),
    ("def fib(n) = n\nfob(x)", 2, 1, "unknown function 'fob' (did you mean 'fib'?)"),
    ("def f(n) = zzz(n)", 1, 12, "unknown function 'zzz'"),
    ("def f(n) = n\nf(1, 2)", 2, 1,
     "wrong number of arguments: 'f' takes 1 argument, but 2 were given"),
    ("def g(a, b) = a\ng(1)", 2, 1, "'g' takes 2 arguments, but 1 was given"),
    ("def f(count) = cuont + 1", 1, 16, "unknown name 'cuont' (did you mean 'count'?)"),
    ("x + y", 1, 5, "unknown name 'y': the expression can only use 'x'"),
    ("def f() = n", 1, 11, "unknown name 'n'"),
    ("def f(n) = f", 1, 12, "'f' is a function: call it like f(...)"),
    ("def f(n) = n(1)", 1, 12, "'n' is a parameter, not a function"),
    ("def f() = 1\n\ndef f() = 2", 3, 5, "duplicate definition: 'f' is already defined at line 1"),
    ("def f(a, b, a) = 1", 1, 13, "duplicate parameter 'a' in 'f'"),
    ("def f(a, b, c, d, e) = 1", 1, 19, f"too many parameters: 'f' may have at most {MAX_PARAMS}"),
    ("1 + 4294967296", 1, 5, "literal out of range"),
    ("x\n + " + "9" * 5000, 2, 4, "literal out of range"),
    ("", 1, 1, "empty program"),
    ("  # only a comment\n", 1, 1, "empty program"),
    ("1 < 2 < 3", 1, 7, "chained comparison"),
    ("x == 1 != 0", 1, 8, "chained comparison"),
    ("if x\n  then 1", 2, 9, "expected 'else' after the then-branch"),
    ("if x > 0\nelse 1", 2, 1, "expected 'then' after the condition"),
    ("if x = 1 then 2 else 3", 1, 6, "unexpected '=': to compare two values use '=='"),
    ("1 2", 1, 3, "unexpected number 2 after the end of the expression"),
    ("1\ndef f() = 2", 2, 1, "definitions must come before the program's expression"),
    ("def () = 1", 1, 5, "expected a function name after 'def'"),
    ("def if() = 1", 1, 5, "'if' is a keyword, not a function name"),
    ("def f(then) = 1", 1, 7, "'then' is a keyword, not a parameter name"),
    ("def f 1", 1, 7, "expected '(' after the function name 'f'"),
    ("def f(a b) = 1", 1, 9, "expected ',' or ')' in the parameters of 'f'"),
    ("def f(a) 1", 1, 10, "expected '=' after the parameters of 'f'"),
    ("def f(a) = )", 1, 12, "expected a number, a name or '(', found ')'"),
    ("12ab", 1, 1, "invalid number '12ab'"),
    ("def expr(x) = 1\nexpr(x)", 1, 5, "'expr' is the name given to the program's expression"),
    ("(" * 70 + "1" + ")" * 70, 1, 61, "nested too deeply"),
    ("+".join(["1"] * 250), 1, 400, "expression too deep"),
]


@pytest.mark.parametrize(
    ("source", "line", "column", "fragment"), ERRORS, ids=[e[0][:24] for e in ERRORS]
)
def test_error_messages(source: str, line: int, column: int, fragment: str) -> None:
    with pytest.raises(SourceError) as info:
        compile_program(source)
    err = info.value
    assert fragment in err.message
    assert (err.line, err.column) == (line, column), err.message
    assert str(err) == f"line {line}, column {column}: {err.message}"


def test_error_str_format_matches_the_docs() -> None:
    with pytest.raises(SourceError) as info:
        compile_program("def f(n) =\n  if n 1 else 2")
    assert str(info.value) == "line 2, column 8: expected 'then' after the condition"


def test_literal_bounds() -> None:
    assert code_of("0 + 4294967295")[5:10] == bytes([1, 255, 255, 255, 255])
    with pytest.raises(SourceError, match="4294967296"):
        compile_program("4294967296")


# ------------------------------------------------------------------ pretty printing


@pytest.mark.parametrize(
    "source",
    [
        "def f(n) = 1\n(-x)",  # a leading '-' must not continue the previous body
        "def f(n) = n + 0\n(x + 1) * 2",  # a leading '(' must not make a call of 'n'
        "def f(a, b) = -(a + b) * -a - -b + 0\n(if x then 1 else 2) + (x < 1) + (1 - (2 - 3))",
        "4294967295 + 2147483648",
    ],
)
def test_format_program_round_trip(source: str) -> None:
    ast = parse_program(source)
    text = format_program(ast)
    assert parse_program(text) == ast
    assert format_program(parse_program(text)) == text


# ------------------------------------------------------------------ properties


def run_bytecode(linked: Mapping[int, tuple[int, bytes]], obj: int, args: list[int]) -> int:
    """A tiny independent interpreter for linked bytecode (no recursion limit: test-only)."""
    nparams, code = linked[obj]
    assert len(args) == nparams
    stack: list[int] = []
    pc = 0
    while True:
        op = Op(code[pc])
        imm = struct.unpack_from("<i", code, pc + 1)[0] if op in HAS_IMMEDIATE else 0
        pc += instruction_size(op)
        if op is Op.RET:
            return stack.pop()
        if op is Op.CONST:
            stack.append(imm)
        elif op is Op.ARG:
            stack.append(args[imm])
        elif Op.ADD <= op <= Op.GE:
            b, a = stack.pop(), stack.pop()
            symbol = {Op.ADD: "+", Op.SUB: "-", Op.MUL: "*", Op.DIV: "/", Op.REM: "%",
                      Op.EQ: "==", Op.NE: "!=", Op.LT: "<", Op.GT: ">", Op.LE: "<=",
                      Op.GE: ">="}[op]  # fmt: skip
            stack.append(apply_binop(symbol, a, b))
        elif op is Op.IF:
            if stack.pop() == 0:
                pc = imm
        elif op is Op.ELSE:
            pc = imm
        elif op is Op.CALL:
            k = linked[imm][0]
            call_args = stack[len(stack) - k :]
            del stack[len(stack) - k :]
            stack.append(run_bytecode(linked, imm, call_args))


def link_at_fake_addresses(program: Program) -> tuple[dict[str, int], dict[int, tuple[int, bytes]]]:
    addresses = {f.name: 0x1000 + 32 * i for i, f in enumerate(program.functions)}
    linked = program.link(addresses)
    params = {f.name: len(f.params) for f in program.functions}
    return addresses, {addresses[n]: (params[n], code) for n, code in linked.items()}


@settings(max_examples=200, deadline=None)
@given(programs())
def test_generated_programs_compile_and_disassemble(generated: tuple[str, str, int]) -> None:
    source, entry, arity = generated
    program = compile_program(source)
    assert len(program.function(entry).params) == arity
    addresses, _ = link_at_fake_addresses(program)
    names = {a: n for n, a in addresses.items()}
    for f in program.functions:
        ins = disassemble(f.code, names)
        assert ins[-1].op is Op.RET and sum(i.op is Op.RET for i in ins) == 1
        # round trip: re-encoding the decoded instructions gives the same bytes
        assert b"".join(encode(i.op, i.immediate) for i in ins) == f.code
        assert sum(i.op is Op.IF for i in ins) == sum(i.op is Op.END for i in ins)
        assert sorted(at - 1 for at, _ in f.calls) == [i.offset for i in ins if i.op is Op.CALL]


@settings(max_examples=200, deadline=None)
@given(programs())
def test_pretty_source_round_trip_is_stable(generated: tuple[str, str, int]) -> None:
    ast = parse_program(generated[0])
    text = format_program(ast)
    assert parse_program(text) == ast
    assert format_program(parse_program(text)) == text


@settings(max_examples=200, deadline=None)
@given(program_and_args())
def test_bytecode_agrees_with_the_reference(generated: tuple[str, str, tuple[int, ...]]) -> None:
    source, entry, args = generated
    program = compile_program(source)
    addresses, linked = link_at_fake_addresses(program)
    try:
        expected: int | str = evaluate(program, entry, args)
    except ReferenceTrap as trap:
        expected = trap.code
    try:
        got: int | str = run_bytecode(linked, addresses[entry], list(args))
    except ReferenceTrap as trap:
        got = trap.code
    assert got == expected

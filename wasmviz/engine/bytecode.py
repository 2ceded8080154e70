"""The interpreter's bytecode (docs/abi.md, section "Bytecode"): opcodes, encoding, disassembly.

One opcode byte, followed for some opcodes by an i32 little-endian immediate. This module is
the single Python-side definition of that format; the compiler (`frontend`) encodes with
`encode`, the UI shows code with `disassemble`.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum

__all__ = [
    "Op",
    "HAS_IMMEDIATE",
    "IMMEDIATE_SIZE",
    "Instruction",
    "instruction_size",
    "encode",
    "disassemble",
]


class Op(IntEnum):
    """Opcode numbers, exactly as in the ABI table."""

    RET = 0
    CONST = 1
    ARG = 2
    ADD = 3
    SUB = 4
    MUL = 5
    DIV = 6
    REM = 7
    EQ = 8
    NE = 9
    LT = 10
    GT = 11
    LE = 12
    GE = 13
    IF = 14
    ELSE = 15
    END = 16
    CALL = 17


# Opcodes followed by an i32 little-endian immediate.
HAS_IMMEDIATE: frozenset[Op] = frozenset({Op.CONST, Op.ARG, Op.IF, Op.ELSE, Op.CALL})
IMMEDIATE_SIZE = 4

_I32 = struct.Struct("<i")
_INT_MIN = -(2**31)
_UINT_MAX = 2**32 - 1


def instruction_size(op: Op) -> int:
    """Return the encoded size in bytes of an instruction with opcode `op` (1 or 5)."""
    return 1 + IMMEDIATE_SIZE if op in HAS_IMMEDIATE else 1


def encode(op: Op, immediate: int | None = None) -> bytes:
    """Return the bytes of one instruction.

    `immediate` is required exactly for the ops in HAS_IMMEDIATE; it may be given signed
    (-2**31..2**31-1) or unsigned (up to 2**32-1, e.g. an address) and is stored as i32 LE.
    Raises ValueError on a missing, superfluous or out-of-range immediate.
    """
    if op not in HAS_IMMEDIATE:
        if immediate is not None:
            raise ValueError(f"{op.name} takes no immediate")
        return bytes((op,))
    if immediate is None:
        raise ValueError(f"{op.name} needs an i32 immediate")
    if not _INT_MIN <= immediate <= _UINT_MAX:
        raise ValueError(f"immediate {immediate} does not fit in 32 bits")
    return bytes((op,)) + (immediate & _UINT_MAX).to_bytes(4, "little")


@dataclass(frozen=True)
class Instruction:
    """One decoded instruction: byte offset, opcode, signed immediate (or None), display text."""

    offset: int
    op: Op
    immediate: int | None
    text: str


def _text(op: Op, imm: int | None, names: Mapping[int, str]) -> str:
    if imm is None:
        return op.name
    if op is Op.IF:
        return f"IF else@{imm}"
    if op is Op.ELSE:
        return f"ELSE end@{imm}"
    if op is Op.CALL:
        address = imm & _UINT_MAX  # addresses are unsigned; names are keyed that way
        name = names.get(address, names.get(imm))
        return f"CALL {name}" if name is not None else f"CALL 0x{address:x}"
    return f"{op.name} {imm}"


def disassemble(code: bytes, names: Mapping[int, str] = {}) -> list[Instruction]:
    """Decode `code` into instructions; `names` maps callee object address -> display name.

    Raises ValueError (naming the offset) for an unknown opcode, a truncated immediate, or an
    IF/ELSE target that is not an instruction boundary (or the end) of `code`.
    """
    out: list[Instruction] = []
    pos = 0
    while pos < len(code):
        byte = code[pos]
        try:
            op = Op(byte)
        except ValueError:
            raise ValueError(f"offset {pos}: unknown opcode {byte}") from None
        imm: int | None = None
        if op in HAS_IMMEDIATE:
            if pos + 1 + IMMEDIATE_SIZE > len(code):
                raise ValueError(f"offset {pos}: {op.name} immediate is cut off by the end of code")
            (imm,) = _I32.unpack_from(code, pos + 1)
        out.append(Instruction(pos, op, imm, _text(op, imm, names)))
        pos += instruction_size(op)
    # Jumps may only land on an instruction (or just past the last one), otherwise the
    # interpreter and the JIT would decode garbage.
    boundaries = {ins.offset for ins in out} | {len(code)}
    for ins in out:
        if ins.op in (Op.IF, Op.ELSE) and ins.immediate not in boundaries:
            raise ValueError(
                f"offset {ins.offset}: {ins.op.name} target {ins.immediate} "
                "is not the start of an instruction"
            )
    return out

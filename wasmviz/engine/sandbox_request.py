"""What the sandbox's inputs ask for, as a Scenario. No Qt.

The sandbox panel (ui/sandbox.py) builds every run it asks for here, from what its widgets
hold; the app builds its first run here too, from the saved inputs, before its window exists,
so that a child process can start recording it while the window is built (issue 11,
engine/child_run.py). One builder, so both give the same scenario for the same inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..safe_files import MAX_SOURCE_BYTES
from .scenario import Scenario

if TYPE_CHECKING:
    from .frontend import Program

#: The sandbox's "Tier-up after" and "Times to call" when the app starts.
DEFAULT_THRESHOLD = 100
DEFAULT_REPEAT = 1


@dataclass(frozen=True)
class SandboxInputs:
    """The sandbox's inputs as typed: the editor's source, the arguments ("7" or "3, 4"),
    the function to call (empty: the last defined), tier-up threshold, calls and link style."""

    source: str
    args: str = ""
    call: str = ""
    threshold: int = DEFAULT_THRESHOLD
    repeat: int = DEFAULT_REPEAT
    link: str = "patch"


@dataclass(frozen=True)
class Session:
    """What earlier runs of this sandbox session left: the expressions a JIT now of an
    expression compiles again first, and the last program run (Redefine loads over it) with
    the functions it defines."""

    exprs: tuple[str, ...] = ()
    program: str | None = None
    names: frozenset[str] = frozenset()

    def earlier_exprs(self, source: str) -> list[str]:
        """The session's expressions the next JIT now recompiles before ``source``'s: the
        editor's own expression, if already listed, moves to the end."""
        current = source.strip()
        return [e for e in self.exprs if e != current]


@dataclass(frozen=True)
class Built:
    """A scenario the inputs ask for, and the functions its run defines (for Redefine)."""

    scenario: Scenario
    names: frozenset[str] = frozenset()


def parse_args(text: str) -> tuple[int, ...]:
    """The arguments typed ("7", "3, -4"); ValueError saying which one is not an i32."""
    from .reference import parse_i32  # noqa: PLC0415 - with the compiler, as build's parse
    text = text.strip()
    if not text:
        return ()
    try:
        return tuple(parse_i32(part) for part in text.split(","))
    except ValueError as exc:
        raise ValueError(f"argument {exc}") from None


def build(inputs: SandboxInputs, jit_now: bool, *, program: Program | None = None,
          redefine: bool = False, session: Session = Session()) -> Built:
    """The scenario ``inputs`` ask for; raises SourceError (bad source) or ValueError.

    ``program`` is the source already compiled (the sandbox parses a long one in a worker).
    With ``redefine`` the run is the session's last program, then the editor's loaded into the
    same run (its functions of the same name are redefined), each followed by the call."""
    from .frontend import compile_program  # noqa: PLC0415 - the compiler, when first built
    source = inputs.source
    if len(source) > MAX_SOURCE_BYTES:
        raise ValueError(f"the source is {len(source):,} characters; the sandbox takes at "
                         f"most {MAX_SOURCE_BYTES:,}")
    if program is None:
        program = compile_program(source)
    args = parse_args(inputs.args)
    bare = len(program.ast) == 1 and program.ast[0].is_expression
    if bare and jit_now:
        if len(args) != 1:
            raise ValueError("an expression takes one argument, x")
        exprs = session.earlier_exprs(source) + [source.strip()]
        return Built(_scenario(inputs, exprs=tuple(exprs), args=args))
    call = inputs.call.strip() or program.functions[-1].name
    names = [f.name for f in program.functions]
    if call not in names:
        raise ValueError(f"no function named {call!r} (defined: {', '.join(names)})")
    wanted = len(program.function(call).params)
    if len(args) != wanted:
        raise ValueError(f"{call} takes {wanted} argument(s), {len(args)} given")
    if redefine:
        earlier = session.program
        if earlier is None or bare:
            raise ValueError("Redefine needs a program run earlier in this session and a "
                             "program in the editor")
        again = sorted(set(names) & session.names)
        if not again or call not in session.names:
            raise ValueError(f"the editor's program must define {call} again (and the "
                             f"session's program define it too); it redefines "
                             f"{', '.join(again) or 'nothing'}")
        return Built(_scenario(inputs, source=earlier, call=call, args=args, jit_now=True,
                               window=inputs.threshold, redefine=(source,)),
                     session.names | set(names))
    return Built(_scenario(inputs, source=source, call=call, args=args, jit_now=jit_now,
                           window=inputs.threshold), frozenset(names))


def _scenario(inputs: SandboxInputs, **fields: Any) -> Scenario:
    """A Scenario with the inputs' tier-up threshold, number of calls and link style."""
    return Scenario(threshold=inputs.threshold, repeat=inputs.repeat, link=inputs.link,
                    **fields)

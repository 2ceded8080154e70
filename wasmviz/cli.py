"""Command line: `wasmviz` (the app), `wasmviz trace ...` (a run printed as steps),
`wasmviz lessons check|list` (lesson files held against the real run).

Exit status: 0 on success (a requested fault included), 1 when the run ends in a trap nobody
asked for (e.g. a division by zero), 2 with a message on stderr for bad usage or bad source.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import textwrap
from pathlib import Path
from typing import Callable, Sequence, TextIO, TypeVar

# Only what describes a run: the app's start (launch_app) must not import wasmtime or the
# compiler front end, which its first run imports in a process of its own (issue 11).
from .engine.options import EngineError
from .engine.scenario import FAULTS, LINKS, Scenario, run
from .engine.trace import Step, Trace
from .safe_files import MAX_SOURCE_BYTES, read_small_text

T = TypeVar("T")

#: Options whose value may start with "-" (an expression "-x", an argument "-5"): argparse
#: would take "-x" for an option, so main() joins them as "--expr=-x" first (review D16).
_VALUE_OPTIONS = ("--expr", "--arg")


def _int(text: str) -> int:
    from .engine.reference import parse_i32  # noqa: PLC0415 - see the imports
    try:
        return parse_i32(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wasmviz", description="Watch a JIT generate, link and patch code inside "
                                    "WebAssembly (late linking), run for real in wasmtime.")
    parser.add_argument("--lesson", metavar="NAME_OR_PATH",
                        help="open the app on a lesson: a shipped lesson's name or number "
                             "(e.g. 03) or a lesson file")
    sub = parser.add_subparsers(dest="command")
    ls = sub.add_parser("lessons", help="list or check lesson files",
                        description="List the shipped lessons, or check lesson files against "
                                    "the real run.")
    lsub = ls.add_subparsers(dest="lessons_command", required=True)
    chk = lsub.add_parser("check", help="validate lessons and verify every expectation",
                          description="Validate each lesson file and run its scenario in "
                                      "wasmtime to verify every expectation. Exit 0 only when "
                                      "all pass.")
    chk.add_argument("files", nargs="*", type=Path, metavar="FILE",
                     help="lesson files (default: every shipped lesson)")
    lsub.add_parser("list", help="list the shipped lessons in order")
    t = sub.add_parser("trace", help="run a scenario and print its steps",
                       description="Run a scenario in wasmtime and print every recorded step.")
    t.add_argument("--expr", action="append", default=[], metavar="EXPR",
                   help="an expression over x, JIT-compiled at once into its own module "
                        "(repeat for several modules)")
    t.add_argument("--arg", action="append", type=_int, default=[], metavar="N",
                   help="argument for each expression's x (default 0)")
    t.add_argument("--source", type=Path, metavar="FILE", help="a program file (def f(n) = ...)")
    t.add_argument("--call", nargs="+", metavar=("NAME", "ARG"),
                   help="with --source: the function to call and its arguments")
    t.add_argument("--redefine", action="append", default=[], type=Path, metavar="FILE",
                   help="with --source: after the call, load this program into the same run "
                        "(a function it defines again is redefined: main frees its old slot, "
                        "the JIT reuses it) and call again; repeat for more")
    t.add_argument("--jit-now", action="store_true",
                   help="compile every function at once instead of waiting for tier-up")
    t.add_argument("--no-jit", action="store_true", help="interpret only; never compile")
    t.add_argument("--no-direct-calls", action="store_true",
                   help="generated code makes every call through the callee's code slot, "
                        "even to a function of the same batch")
    t.add_argument("--fault", choices=FAULTS, help="run a scenario that ends in this fault")
    t.add_argument("--link", choices=LINKS, default="patch",
                   help="how each generated module is linked in: patch (an exported patch "
                        "the host calls; the default), start (the module's start function, "
                        "during instantiation) or pic (position-independent: main reserves "
                        "the room, the host passes __table_base/__memory_base, then calls "
                        "__wasm_apply_data_relocs)")
    t.add_argument("--module", type=Path, metavar="FILE",
                   help="a .wat or .wasm module of your own, linked by the host right after "
                        "set-up, in place of the JIT's output; its imports are matched to what "
                        "main offers by name, then by kind (docs/foreign-modules.md)")
    t.add_argument("--call-slot", nargs="+", metavar=("N", "ARG"),
                   help="with --module: after any --call, call table slot N directly with "
                        "the ARGs, through call_indirect with the type their number implies, "
                        "(i32 x k) -> i32 (for main's convention pass self last)")
    t.add_argument("--threshold", type=int, default=100,
                   help="interpreted calls before a function is hot (default 100)")
    t.add_argument("--window", type=int, default=100,
                   help="interpreted calls a batch waits for more hot functions (default 100)")
    t.add_argument("--fuel", type=int, default=None, help="fuel per top-level operation")
    t.add_argument("--host", choices=("wasmtime", "node"), default="wasmtime",
                   help="the engine that runs the main module: wasmtime (default) or node "
                        "(Node's V8; no fuel; docs/engines.md)")
    t.add_argument("--repeat", type=int, default=1, help="call the function this many times")
    t.add_argument("--json", action="store_true", help="print the trace as JSON")
    t.add_argument("--no-disasm", action="store_true",
                   help="leave out the WAT and annotated binary (faster)")
    return parser


def scenario_from_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Scenario:
    """Return the Scenario the trace command describes (exits with status 2 if malformed)."""
    source = None
    call, call_args = None, tuple(args.arg)
    if args.source is not None:
        try:
            # A regular file under the cap: /dev/zero or a FIFO was read forever (review D9).
            source = read_small_text(args.source, MAX_SOURCE_BYTES, "program")
        except (OSError, ValueError) as exc:
            parser.error(f"cannot read {args.source}: {exc}")
        if not args.call:
            parser.error("--source needs --call NAME [ARGS...]")
        call = args.call[0]
        try:
            call_args = tuple(_int(a) for a in args.call[1:])
        except argparse.ArgumentTypeError as exc:
            parser.error(f"--call: {exc}")
    elif args.call:
        parser.error("--call needs --source FILE")
    later: list[str] = []
    for path in args.redefine:
        if source is None:
            parser.error("--redefine needs --source FILE --call NAME ...")
        try:
            later.append(read_small_text(path, MAX_SOURCE_BYTES, "program"))
        except (OSError, ValueError) as exc:
            parser.error(f"cannot read {path}: {exc}")
    exprs = tuple(args.expr)
    if args.call_slot and args.module is None:
        parser.error("--call-slot needs --module FILE")
    if source is None:
        if not exprs and args.fault is None and not (args.module and args.call_slot):
            parser.error("give --expr EXPR, --source FILE --call NAME ..., or --fault FAULT")
        if len(call_args) > 1:
            parser.error("an expression has one argument, x: give --arg once")
        call_args = call_args or (0,)
    if args.host == "node" and args.fuel is not None:
        parser.error("--fuel needs --host wasmtime: V8 has no fuel (docs/engines.md)")
    if args.host == "node" and (args.redefine or args.module is not None):
        # The store's instances and a module of your own are recorded by the wasmtime host
        # only (docs/engines.md, "Instances"): refused, rather than run without them.
        parser.error("--redefine and --module need --host wasmtime (docs/engines.md)")
    if args.fault is not None and args.no_jit:
        # Every fault is in the JIT's work: without it the run had no fault and said nothing.
        parser.error(f"--fault {args.fault} needs the JIT; leave out --no-jit")
    base = Scenario.for_fault(args.fault, link=args.link) if args.fault else Scenario()
    if source is None and not exprs:
        exprs, call_args = base.exprs, base.args
    scenario = Scenario(exprs=exprs if source is None else (), args=call_args, source=source,
                        call=call, jit_now=args.jit_now, jit=not args.no_jit, fault=args.fault,
                        threshold=args.threshold, window=args.window,
                        fuel=args.fuel if args.fuel is not None else base.fuel,
                        repeat=args.repeat, direct_calls=not args.no_direct_calls,
                        link=args.link, redefine=tuple(later))
    # Bounds (fuel, repeat, ...) are checked by run() before anything runs: cmd_trace prints
    # the ScenarioError (an EngineError) and exits 2.
    return scenario


def format_step(step: Step, previous: Step | None, width: int) -> str:
    """Return a readable multi-line rendering of one step."""
    head = f"[{step.index:3}] {step.phase}/{step.kind}"
    lines = [head]
    body = textwrap.wrap(step.caption, width=max(40, width - 8))
    lines += ["      " + ln for ln in body]
    for change in step.memory_changes[:6]:
        old, new = change.old[:16].hex(" "), change.new[:16].hex(" ")
        more = " ..." if len(change.new) > 16 else ""
        label = f" {change.label}" if change.label else ""
        lines.append(f"      mem 0x{change.address:05x}{label} ({len(change.new)} B): "
                     f"{old}{more} -> {new}{more}")
    if len(step.memory_changes) > 6:
        lines.append(f"      ... and {len(step.memory_changes) - 6} more memory changes")
    if previous is None or previous.table != step.table:
        lines.append("      table: " + " | ".join(f"{s.index}:{s.label}" for s in step.table))
    if step.instances and (previous is None or previous.instances != step.instances):
        lines.append("      store: " + instances_text(step))
    if step.module is not None and step.kind in ("complete", "compiled", "invalid"):
        lines.append(f"      module {step.module.number}: {len(step.module.data)} bytes, "
                     f"sections " + ", ".join(s.name for s in step.module.sections))
    if step.result is not None:
        lines.append(f"      result: {step.result}")
    if step.trap is not None:
        lines.append(f"      trap: {step.trap.code}: {step.trap.message}")
    if step.error is not None:
        lines.append(f"      error: {step.error}")
    return "\n".join(lines)


def instances_text(step: Step) -> str:
    """The instances the store holds at ``step``: each with the functions the table still
    references, and the compiled code it keeps alive."""
    parts = []
    for i in step.instances:
        held = ", ".join(i.in_table) if i.in_table else "nothing in the table"
        parts.append(f"{i.name} ({held}; {i.code_bytes:,} B code)")
    return f"{len(step.instances)} instance(s): " + " | ".join(parts)


def print_trace(trace: Trace, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    width = shutil.get_terminal_size((100, 24)).columns
    previous = None
    for step in trace:
        print(format_step(step, previous, width), file=out)
        previous = step
    summary = f"result: {trace.result}" if trace.trap is None else f"trap: {trace.trap.code}"
    if trace.instances_measured is not None:  # before the summary, which ends the output
        print(f"\nstore: {trace.instances_measured} instance(s) at the end, measured with "
              f"wasmtime's instance limit", file=out)
    print(f"\n{len(trace)} steps; {summary}", file=out)


def cmd_trace(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    scenario = scenario_from_args(args, parser)
    if args.module is not None:
        return cmd_trace_module(args, parser, scenario)
    if args.host == "node":
        from .engine import node_engine  # noqa: PLC0415 - only when asked for
        trace = _recorded(lambda: node_engine.run(scenario, disassemble=not args.no_disasm))
    else:
        trace = _recorded(lambda: run(scenario, disassemble=not args.no_disasm))
    if trace is None:
        return 2
    _show(trace, args)
    if trace.trap is not None and scenario.fault is None:
        return 1
    return 0


def cmd_trace_module(args: argparse.Namespace, parser: argparse.ArgumentParser,
                     scenario: Scenario) -> int:
    """``--module FILE``: the run with the user's module linked in place of the JIT's output
    (engine/foreign.py). Exit 2 when the file cannot be read or assembled, or the module is
    invalid or refused (an import main cannot satisfy): the trace is printed, then why."""
    from .engine.foreign import read_module, run_foreign  # noqa: PLC0415
    slot = None
    if args.call_slot:
        try:
            slot = (_int(args.call_slot[0]), [_int(a) for a in args.call_slot[1:]])
        except argparse.ArgumentTypeError as exc:
            parser.error(f"--call-slot: {exc}")
    ran = _recorded(lambda: run_foreign(scenario, read_module(args.module), call_slot=slot,
                                        disassemble=not args.no_disasm))
    if ran is None:
        return 2
    _show(ran.trace, args)
    if ran.message:
        print(f"wasmviz: {ran.message}", file=sys.stderr)
    return ran.exit_code


def _recorded(record: Callable[[], T]) -> T | None:
    """What ``record`` returns; None (having said why on stderr) when the file, the source
    or the request was refused, which is exit 2 (a module file refused is an EngineError)."""
    from .engine.frontend import SourceError  # noqa: PLC0415 - see the imports
    try:
        return record()
    except SourceError as exc:
        print(f"wasmviz: bad source: {exc}", file=sys.stderr)
    except EngineError as exc:
        print(f"wasmviz: {exc}", file=sys.stderr)
    return None


def _show(trace: Trace, args: argparse.Namespace) -> None:
    if args.json:
        # One dumps and one write: json.dump's chunked writes took most of the time.
        sys.stdout.write(trace.dumps() + "\n")
    else:
        print_trace(trace)


def join_values(argv: Sequence[str]) -> list[str]:
    """``--expr -x`` -> ``--expr=-x`` (and --arg), so a value may start with a minus."""
    out: list[str] = []
    items = list(argv)
    i = 0
    while i < len(items):
        if items[i] in _VALUE_OPTIONS and i + 1 < len(items) and items[i + 1].startswith("-") \
                and not items[i + 1].startswith("--"):
            out.append(f"{items[i]}={items[i + 1]}")
            i += 2
        else:
            out.append(items[i])
            i += 1
    return out


def main(argv: Sequence[str] | None = None) -> int:
    words = join_values(sys.argv[1:] if argv is None else argv)
    if not words:
        return launch_app()   # the app, as most starts are: no parser to build (issue 11)
    parser = build_parser()
    args = parser.parse_args(words)
    if args.command == "trace":
        return cmd_trace(args, parser)
    if args.command == "lessons":
        from .lessons.cli import cmd_lessons  # noqa: PLC0415 - only this command needs it
        return cmd_lessons(args)
    return launch_app(args.lesson)


def launch_app(lesson: str | None = None) -> int:
    """Open the desktop app (on ``lesson`` if given)."""
    if lesson is not None:
        from .lessons import LessonError, find  # noqa: PLC0415
        try:
            find(lesson)
        except LessonError as exc:
            print(f"wasmviz: --lesson {exc}", file=sys.stderr)
            return 2
    from .ui.app import run_app  # noqa: PLC0415 - Qt is imported only when the app is asked for
    return int(run_app(lesson=lesson))

if __name__ == "__main__":
    sys.exit(main())

"""Scenarios: a declarative description of a run, and running one into a Trace.

The CLI, the app's sandbox and the lessons all describe what to run as a Scenario, so the same
run gives the same trace wherever it is asked for. A scenario always runs in a fresh Machine:
a fault in one run can never leak into the next.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Mapping

from .options import DEFAULT_FUEL, FAULT_MODES, LINK_STYLES, EngineError
from .trace import ModuleInfo, Step, Trace, TrapInfo

if TYPE_CHECKING:
    from .machine import Machine

#: A runaway loop gets a small budget by default, so it stops well within a second.
RUNAWAY_FUEL = 20_000_000
#: The least fuel a run may give each call. Set-up (instantiating main, defining functions,
#: a JIT run the host asks for) has its own budget (machine.SETUP_FUEL), so this only has to
#: cover a call: an expression such as x * x + 3 costs well under 1,000 units, JIT-compiled or
#: interpreted (tests/test_link_styles.py runs it at exactly this fuel in every link style).
MIN_FUEL = 1_000
#: Upper bounds (review D7, D8). Fuel: ten times the default, so a runaway loop still stops in
#: seconds (wasmtime's fuel is a u64: 2**64 wrapped to 0 and 10**30 to 5e18, i.e. no limit).
#: Repeat: the sandbox's cap; each call records two steps in memory.
MAX_FUEL = 10 * DEFAULT_FUEL
MAX_REPEAT = 1000
#: Programs a scenario may redefine in, one after another (each adds a JIT run and calls).
MAX_REDEFINE = 20

#: Faults a scenario may ask for: the JIT's own bugs, plus one the host causes.
FAULTS = tuple(FAULT_MODES) + ("table-limit",)

#: One line per fault for menus and lists: what goes wrong, and what the learner will see.
FAULT_DESCRIPTIONS: dict[str, str] = {
    "null-slot": "patch forgets table.set, so call_indirect finds a null slot "
                 "(trap: indirect call to null)",
    "bad-signature": "the JIT declares the function with the wrong type, so call_indirect's "
                     "signature check fails (trap: bad signature, both types named)",
    "out-of-bounds": "patch relocates the code slot past the end of the table, so "
                     "call_indirect's index is out of bounds (trap: table out of bounds)",
    "invalid-module": "the JIT emits an i32.add with nothing on the stack, so wasmtime "
                      "rejects the module and the function stays interpreted",
    "runaway": "each compiled body starts with an endless loop, so the call runs until "
               "fuel stops it (trap: out of fuel)",
    "link-mismatch": "the module imports a memory far larger than main's, so linking fails "
                     "and the function stays interpreted",
    "table-limit": "the host caps the table at its size, so patch's table.grow returns -1 and "
                   "patch traps (unreachable); the function stays interpreted",
}


#: The link styles a scenario may ask for (docs/abi.md, "Link styles"), in menu order.
LINKS = tuple(LINK_STYLES)

#: One line per link style for menus and lists: who puts the code in the table, and when.
LINK_DESCRIPTIONS: dict[str, str] = {
    "patch": "the host instantiates the module, then calls its exported patch, which grows "
             "the table, table.sets each function and relocates the code slots",
    "start": "the module's start function does the linking during instantiation: "
             "table.grow, table.init from a passive element segment (one for the new slots, "
             "one per free slot reused), the relocations",
    "pic": "position-independent, like a dynamic loader: main reserves the slots first, an "
           "active element segment at __table_base places the functions at instantiation, "
           "__wasm_apply_data_relocs relocates; a dylink.0 section says how much room",
}


@dataclass(frozen=True)
class Scenario:
    """What to run.

    ``exprs``: bare expressions over ``x``; each becomes its own function, is JIT-compiled into
    its own module (so several fill several slots) and is called with ``args``.
    ``source`` with ``call``: a program, and the function and arguments to call; it tiers up
    by call counts unless ``jit_now``. ``repeat`` calls it that many times.
    ``link``: how each generated module is linked in (LINKS); every fault applies to every
    style (docs/abi.md says what each fault does in each).
    ``redefine``: with a program, later programs loaded into the same run, in order, after
    ``call`` has run: a function they define again (same name, same arity, new body) is
    redefined -- main frees its old table slot and the JIT reuses it (docs/abi.md, "The life
    of code") -- then, compiled at once if ``jit_now``, ``call`` runs again with ``args``.
    """

    exprs: tuple[str, ...] = ()
    args: tuple[int, ...] = ()
    source: str | None = None
    call: str | None = None
    jit_now: bool = False
    jit: bool = True
    fault: str | None = None
    threshold: int = 100
    window: int = 100
    fuel: int = DEFAULT_FUEL
    repeat: int = 1
    direct_calls: bool = True
    link: str = "patch"
    redefine: tuple[str, ...] = ()
    #: A module of your own (docs/foreign-modules.md): a file of wasmviz/data/modules by name,
    #: or WAT text. The host links it right after set-up, in place of the JIT run.
    module: str | None = None

    def validate(self) -> None:
        """Raise ScenarioError if the scenario is not runnable as described."""
        if not self.exprs and self.source is None:
            raise ScenarioError("nothing to run: give an expression or a program", "exprs")
        if self.source is not None and self.call is None:
            raise ScenarioError("a program needs a function to call", "call")
        if self.redefine and self.source is None:
            raise ScenarioError("redefine needs a program (source and call) to redefine in",
                                "redefine")
        if len(self.redefine) > MAX_REDEFINE:
            raise ScenarioError(f"redefine takes at most {MAX_REDEFINE} programs, not "
                                f"{len(self.redefine)}", "redefine")
        if self.link not in LINKS:
            raise ScenarioError(f"unknown link style {self.link!r}; one of: {', '.join(LINKS)}",
                                "link")
        if self.fault is not None and self.fault not in FAULTS:
            raise ScenarioError(f"unknown fault {self.fault!r}; one of: {', '.join(FAULTS)}",
                                "fault")
        # Arguments are 32-bit, like the language's literals: say so rather than silently wrap.
        bad = [a for a in self.args if not -(2**31) <= a <= 2**32 - 1]
        if bad:
            raise ScenarioError(f"args must be 32-bit numbers (-2147483648 to 4294967295), "
                                f"not {bad[0]}", "args")
        # One message per field, so whoever wrote the scenario knows which number to fix.
        for name, least in (("threshold", 1), ("window", 0), ("fuel", MIN_FUEL), ("repeat", 1)):
            value = getattr(self, name)
            if value < least:
                raise ScenarioError(f"{name} must be at least {least}, not {value}", name)
        for name, most in (("fuel", MAX_FUEL), ("repeat", MAX_REPEAT)):
            value = getattr(self, name)
            if value > most:
                raise ScenarioError(f"{name} must be at most {most:,}, not {value:,}", name)
        # The main module keeps these in 32-bit fields: a larger number would wrap around.
        for name in ("threshold", "window"):
            if getattr(self, name) > 2**31 - 1:
                raise ScenarioError(f"{name} must be at most {2**31 - 1:,}, not "
                                    f"{getattr(self, name):,}", name)

    @staticmethod
    def for_fault(fault: str, expr: str = "x * x + 3", arg: int = 7,
                  link: str = "patch") -> Scenario:
        """Return the standard scenario that ends in ``fault`` (in link style ``link``)."""
        fuel = RUNAWAY_FUEL if fault == "runaway" else DEFAULT_FUEL
        return Scenario(exprs=(expr,), args=(arg,), jit_now=True, fault=fault, fuel=fuel,
                        link=link)

    @staticmethod
    def from_mapping(data: Mapping[str, Any]) -> Scenario:
        """Build a scenario from plain data (a lesson file's table); ScenarioError if malformed."""
        known = set(Scenario.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ScenarioError(f"unknown field {unknown[0]!r}; a scenario has: "
                                f"{', '.join(Scenario.__dataclass_fields__)}", unknown[0])
        values = dict(data)
        for key, kind in _FIELD_TYPES.items():
            if key in values and not _is(values[key], kind):
                raise ScenarioError(f"{key} must be {_TYPE_NAMES[kind]}, not {values[key]!r}",
                                    key)
        for key in ("exprs", "args", "redefine"):
            if key in values:
                values[key] = tuple(values[key])
        if values.get("fault") == "runaway" and "fuel" not in values:
            values["fuel"] = RUNAWAY_FUEL
        scenario = replace(Scenario(), **values)
        scenario.validate()
        return scenario


# Plain data (TOML, JSON) gives lists, numbers and text; say which a field wants, rather than
# letting a string of expressions become a tuple of characters.
_FIELD_TYPES = {"exprs": "texts", "args": "ints", "source": "text", "call": "text",
                "jit_now": "bool", "jit": "bool", "fault": "text", "threshold": "int",
                "window": "int", "fuel": "int", "repeat": "int", "direct_calls": "bool",
                "link": "text", "redefine": "texts", "module": "text"}
_TYPE_NAMES = {"texts": "a list of texts", "ints": "a list of whole numbers", "text": "text",
               "bool": "true or false", "int": "a whole number"}


class ScenarioError(EngineError):
    """A scenario that cannot run as described; ``field`` names the field at fault, if one is."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _is(value: Any, kind: str) -> bool:
    def is_int(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)
    if kind in ("texts", "ints"):
        item = (lambda v: isinstance(v, str)) if kind == "texts" else is_int
        return isinstance(value, (list, tuple)) and all(item(v) for v in value)
    return {"text": isinstance(value, str), "bool": isinstance(value, bool),
            "int": is_int(value)}[kind]


def drive(machine: Machine, scenario: Scenario) -> tuple[int | None, TrapInfo | None]:
    """Do what ``scenario`` asks of ``machine`` (any engine's): load, compile, call; return
    the last call's (result, trap). A program, then each redefinition in the same run (the
    old code's instance stays; the trace counts it), then each expression in its own module;
    the first trap ends it."""
    result: int | None = None
    trap: TrapInfo | None = None
    if scenario.source is not None:
        for i, program in enumerate((scenario.source, *scenario.redefine)):
            result, trap = _load_and_call(machine, scenario, program, scenario.call or "",
                                          redefine=i > 0)
            if trap:
                return result, trap
    many = len(scenario.exprs) > 1
    for i, expr in enumerate(scenario.exprs, start=1):
        name = f"expr{i}" if many else "expr"
        result, trap = _load_and_call(machine, scenario, expr, name, expr_name=name)
        if trap:
            break
    return result, trap


def _load_and_call(machine: Machine, scenario: Scenario, text: str, call: str, *,
                   expr_name: str | None = None,
                   redefine: bool = False) -> tuple[int | None, TrapInfo | None]:
    """Load ``text`` (a program, or an expression defined as ``expr_name``), compile it at
    once if the scenario says so (an expression always, a program with jit_now), and call
    ``call`` as often as the scenario says."""
    if expr_name is None:
        machine.load(text, redefine=redefine)
    else:
        machine.load(text, expr_name=expr_name)
    if scenario.fault == "table-limit" and not redefine:
        machine.freeze_table()
    if scenario.jit and (expr_name is not None or scenario.jit_now):
        machine.jit_now(None if expr_name is None else [expr_name])
    return call_repeated(machine, call, scenario)


def run(scenario: Scenario, *, record: bool = True, disassemble: bool = True) -> Trace:
    """Run ``scenario`` in a fresh Machine and return its trace.

    Raises ``frontend.SourceError`` for bad source and EngineError for bad requests; traps and
    faults are not errors, they end the trace as steps.
    """
    scenario.validate()
    if scenario.module is not None:
        from .foreign import run_foreign, shipped_or_text  # noqa: PLC0415 - it imports us
        return run_foreign(scenario, shipped_or_text(scenario.module), record=record,
                           disassemble=disassemble).trace
    # Here, not at the top: describing a scenario (the app's window, the CLI's parser) must not
    # import wasmtime (options.py says why).
    from .machine import Machine  # noqa: PLC0415
    machine = Machine(record=record, fuel=scenario.fuel, threshold=scenario.threshold,
                      window=scenario.window, jit=scenario.jit,
                      fault=scenario.fault if scenario.fault in FAULT_MODES else None,
                      direct_calls=scenario.direct_calls, link=scenario.link)
    result, trap = drive(machine, scenario)
    if machine.recorder is None:
        return Trace((), result, trap, machine.layout)
    # Last, as it leaves a probe instance behind: what wasmtime's store really holds, to set
    # beside the instances the steps list (they agree; tests/test_slot_reuse.py checks it).
    # A run that redefined something ends with a step saying so (its old code is still there).
    measured = machine.measure_instances()
    if scenario.redefine:
        machine.recorder.record_store(machine.store, measured)  # type: ignore[attr-defined]
    trace = replace(machine.recorder.trace(result, trap), instances_measured=measured)
    return with_disassembly(trace) if disassemble else trace


def call_repeated(machine: Machine, name: str,
                  scenario: Scenario) -> tuple[int | None, TrapInfo | None]:
    """Call ``name`` ``scenario.repeat`` times, stopping at the first trap; return the last."""
    result, trap = None, None
    for _ in range(scenario.repeat):
        result, trap = machine.call(name, scenario.args)
        if trap:
            break
    return result, trap


def with_disassembly(trace: Trace) -> Trace:
    """Return ``trace`` with each generated module's WAT and annotated binary filled in."""
    from . import disasm  # noqa: PLC0415 - wasm-tools, only once there is a module to show
    def fill(step: Step) -> Step:
        if step.module is None or step.module.wat is not None:
            return step
        wat, dump = disasm.describe(step.module.data)
        module: ModuleInfo = replace(step.module, wat=wat, dump=dump)
        return replace(step, module=module)
    return replace(trace, steps=tuple(fill(s) for s in trace.steps))

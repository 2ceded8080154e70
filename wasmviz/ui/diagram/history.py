"""What the steps before the current one tell the diagram: the modules so far and the JIT buffer.

Qt-free: only recorded steps are read, so stepping back gives the same answer as arriving.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...engine.trace import ModuleInfo, Trace

#: A module's link function, by link style: the export the host calls (patch, pic), or the
#: start function wasm runs inside instantiation (start).
LINK_FUNCTIONS = {"patch": "patch", "start": "start", "pic": "__wasm_apply_data_relocs"}


@dataclass
class ModuleState:
    """A generated module as far as the trace has got: its functions and how far it went."""

    number: int
    functions: tuple[str, ...] = ()
    status: str = "writing"   # writing, written, compiled, linked, patched, failed
    problem: str = ""         # a few words, for a failed module
    #: How it links itself in ("patch", "start", "pic"), read from its own bytes; "" until
    #: the module is complete.
    link: str = ""
    #: pic only: the bases the host passed as env.__table_base / env.__memory_base, once
    #: the link step recorded them.
    table_base: int | None = None
    memory_base: int | None = None
    #: pic only: the slots main reserved for it before instantiating (link/table.grow, by
    #: main): (first, count).
    reserved: tuple[int, int] | None = None
    #: How the host bound its imports (import -> what main offered), once linked.
    bindings: dict[str, str] = field(default_factory=dict)


def module_link(module: ModuleInfo) -> str:
    """How ``module`` links itself in, read from its sections, never from a setting: a start
    section means a start function (style ``start``); a ``dylink.0`` custom section means
    position-independent code (``pic``); otherwise the host calls its exported ``patch``."""
    for s in module.sections:
        if s.name == "start":
            return "start"
        if s.name == "custom" and b"dylink.0" in module.data[s.start:s.end]:
            return "pic"
    return "patch"


_last_link: list[object] = [None, ""]


def trace_link(trace: Trace) -> str:
    """The link style of ``trace``'s generated modules (its first module's), "" if it has none.

    Kept for the last trace: the frame asks at every step, and the answer cannot change."""
    if _last_link[0] is not trace:
        first = next((s.module for s in trace.steps if s.module is not None and s.module.data),
                     None)
        _last_link[:] = [trace, module_link(first) if first is not None else ""]
    return str(_last_link[1])


@dataclass
class JitFill:
    """The batch in the JIT buffer: which module, and the sections written so far."""

    module: int
    start: int
    end: int
    sections: list[tuple[str, int, int]] = field(default_factory=list)


_STATUS_AT = {("compile", "compiled"): "compiled", ("link", "linked"): "linked",
              ("patch", "patched"): "patched"}
_FAILURE_AT = {("compile", "invalid"): "invalid module", ("link", "link-error"): "link error",
               ("patch", "trap"): "patch trapped"}
#: What a failed module's title says, where its link style names the failure better.
_FAILURE_BY_LINK = {("patch trapped", "pic"): "relocations trapped",
                    ("link error", "start"): "start function trapped"}


def history(trace: Trace, index: int) -> tuple[dict[int, ModuleState], JitFill | None]:
    """Return the modules seen up to step ``index`` and what the JIT buffer holds then.

    Read only from recorded steps, in order, so stepping back gives the same answer as
    arriving; each step says which module it is about (``module``, ``detail``, byte labels).
    """
    modules: dict[int, ModuleState] = {}
    jit: JitFill | None = None
    for step in trace.steps[: index + 1]:
        d, at = step.detail, (step.phase, step.kind)
        number = step.module.number if step.module else d.get("module")
        if at == ("generate", "begin"):
            guess = max(modules, default=0) + 1   # the bytes' labels confirm it below
            modules[guess] = ModuleState(guess, tuple(d.get("functions", ())))
            jit = JitFill(guess, d.get("address", 0), d.get("address", 0))
        elif step.phase == "generate" and "end" in d and jit is not None:
            for c in step.memory_changes:
                words = c.label.split()
                if words[:1] == ["module"] and words[1].isdigit() and int(words[1]) != jit.module:
                    modules[int(words[1])] = modules.pop(jit.module)
                    modules[int(words[1])].number = jit.module = int(words[1])
            jit.end = max(jit.end, d["end"])
            jit.sections.append((d.get("section", "?"), d["start"], d["end"]))
        if isinstance(number, int):
            m = modules.setdefault(number, ModuleState(number))
            if step.module:
                m.functions = step.module.functions or m.functions
                m.status = "written" if m.status == "writing" else m.status
                m.link = m.link or (module_link(step.module) if step.module.data else "")
                if jit is not None and jit.module == number:
                    jit.end = max(jit.end, step.module.address + len(step.module.data))
            if at == ("link", "linked") and "table_base" in d:
                m.table_base, m.memory_base = d.get("table_base"), d.get("memory_base")
            if at == ("link", "linked") and isinstance(d.get("bindings"), list):
                m.bindings = {b["import"]: b["provider"] for b in d["bindings"]
                              if isinstance(b, dict) and "import" in b and "provider" in b}
            if at in _STATUS_AT and m.status != "failed":
                m.status = _STATUS_AT[at]
            if at in _FAILURE_AT:
                m.status, m.problem = "failed", _FAILURE_AT[at]
                # A start function's trap fails the instantiation (the step names the trap);
                # a link error without one is the imports' fault, in any style.
                if at != ("link", "link-error") or "trap" in d:
                    m.problem = _FAILURE_BY_LINK.get((m.problem, m.link), m.problem)
        if at == ("link", "table.grow") and d.get("by") == "main" and jit is not None \
                and jit.module in modules:
            modules[jit.module].reserved = (d.get("base", 0), d.get("delta", 0))
        if at == ("link", "no-room") and jit is not None and jit.module in modules:
            # pic: main's own table.grow failed, so the module was never compiled.
            modules[jit.module].status, modules[jit.module].problem = "failed", "no room"
        if step.kind == "jit-done" and d.get("status", 0) != 0 and modules:
            last = modules[max(modules)]
            if last.status != "failed":
                last.status, last.problem = "failed", f"instantiate returned {d['status']}"
    return modules, jit

"""What the steps before the current one tell the diagram: the modules so far and the JIT buffer.

Qt-free: only recorded steps are read, so stepping back gives the same answer as arriving.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...engine.trace import Trace


@dataclass
class ModuleState:
    """A generated module as far as the trace has got: its functions and how far it went."""

    number: int
    functions: tuple[str, ...] = ()
    status: str = "writing"   # writing, written, compiled, linked, patched, failed
    problem: str = ""         # a few words, for a failed module


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
                if jit is not None and jit.module == number:
                    jit.end = max(jit.end, step.module.address + len(step.module.data))
            if at in _STATUS_AT and m.status != "failed":
                m.status = _STATUS_AT[at]
            if at in _FAILURE_AT:
                m.status, m.problem = "failed", _FAILURE_AT[at]
        if step.kind == "jit-done" and d.get("status", 0) != 0 and modules:
            last = modules[max(modules)]
            if last.status != "failed":
                last.status, last.problem = "failed", f"instantiate returned {d['status']}"
    return modules, jit

"""Matching a foreign module's imports to what main offers, and reading its sections.

By name first; then, for toolchain conventions, by kind and type (the module's only memory
import to main.memory, its only funcref table import to main.table); whatever is left is
refused, with the reason, before anything is instantiated (docs/foreign-modules.md). Kept
apart from the host that links the module (foreign_machine.py); every name here is still
importable from wasmviz.engine.foreign.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import wasmtime

from .captions import SECTION_NAMES
from .instantiate import _func_type, read_u32
from .instantiate import extern_kind as _kind
from .machine import Machine
from .trace import Section


@dataclass(frozen=True)
class Binding:
    """One import of the module and what main gives it: ``provider`` (None: nothing), ``how``
    it was matched (``name``, ``kind`` or ``refused``) and, when refused, why."""

    name: str
    kind: str
    type: str
    provider: str | None
    how: str
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"import": self.name, "kind": self.kind, "type": self.type,
                "provider": self.provider, "how": self.how, "reason": self.reason}


class ForeignImportError(Exception):
    """An import the host will not satisfy, as the link-error step's reason."""


def _type_text(t: Any) -> str:
    kind = _kind(t)
    if kind == "func":
        return _func_type(t)
    if kind in ("table", "memory"):
        lim = t.limits
        unit = " pages" if kind == "memory" else ""
        most = f", at most {lim.max}{unit}" if lim.max is not None else ""
        what = f"{t.element} " if kind == "table" else ""
        flags = (" shared" if getattr(t, "is_shared", False) else "") + \
            (" 64-bit" if getattr(t, "is_64", False) else "")
        return f"{what}at least {lim.min}{unit}{most}{flags}"
    if kind == "global":
        return f"{'mutable' if t.mutable else 'immutable'} {t.content}"
    return str(t)


def _offers(m: Machine) -> dict[str, tuple[str, str]]:
    """What main offers a foreign module, by name: (kind, type as text)."""
    s = m.store
    offers = {"host.note": ("func", "(i32 i32 i32) -> ()"),
              "main.table": ("table", f"funcref of {m.table.size(s)} slots, no maximum"),
              "main.memory": ("memory", f"{m.memory.size(s)} pages, no maximum"),
              "env.__table_base": ("global", "immutable i32"),
              "env.__memory_base": ("global", "immutable i32")}
    for name, item in m.instance.exports(s).items():
        if isinstance(item, wasmtime.Global):
            ty = item.type(s)
            if not ty.mutable and str(ty.content) == "i32":
                offers[f"main.{name}"] = ("global", "immutable i32")
    return offers


def _fits(m: Machine, provider: str, t: Any) -> str | None:
    """Why main's ``provider`` cannot be given to an import of type ``t`` (None: it can)."""
    s = m.store
    if provider == "host.note":
        ok = [str(p) for p in t.params] == ["i32"] * 3 and not t.results
        return None if ok else "host.note is (i32 i32 i32) -> ()"
    if provider in ("main.table", "main.memory"):
        table = provider == "main.table"
        size = m.table.size(s) if table else m.memory.size(s)
        unit = "slots" if table else "pages"
        if table and str(t.element) != "funcref":
            return f"main.table holds funcref, not {t.element}"
        if not table and (getattr(t, "is_shared", False) or getattr(t, "is_64", False)):
            return "main.memory is an unshared 32-bit memory"
        if t.limits.min > size:
            return f"{provider} has {size} {unit}, fewer than the {t.limits.min} it asks for"
        if t.limits.max is not None:
            return f"{provider} has no maximum, so it cannot promise at most {t.limits.max}"
        return None
    ok = not t.mutable and str(t.content) == "i32"   # the bases and main's layout globals
    return None if ok else f"{provider} is an immutable i32"


def match_imports(m: Machine, module: wasmtime.Module) -> list[Binding]:
    """Bind each import of ``module``, in import order: by name first; then, for toolchain
    conventions, the module's only memory import to main.memory and its only funcref table
    import to main.table. Whatever is left is refused, with the reason."""
    offers = _offers(m)
    imports = list(module.imports)
    kinds = [_kind(i.type) for i in imports]
    memories = kinds.count("memory")
    tables = sum(1 for i, k in zip(imports, kinds)
                 if k == "table" and str(i.type.element) == "funcref")
    out = []
    for imp, kind in zip(imports, kinds):
        name, t = f"{imp.module}.{imp.name}", imp.type
        how, provider = "name", name if name in offers else None
        if provider is None and kind == "memory" and memories == 1:
            how, provider = "kind", "main.memory"
        elif provider is None and kind == "table" and tables == 1 and \
                str(t.element) == "funcref":
            how, provider = "kind", "main.table"
        if provider is None:
            many = {"memory": memories, "table": tables}.get(kind, 0) > 1
            out.append(Binding(name, kind, _type_text(t), None, "refused",
                               f"main offers no {kind} named {name}" + (
                                   f", and the module imports more than one {kind}, so "
                                   f"matching by kind cannot tell which one is main's"
                                   if many else "")))
            continue
        if offers[provider][0] != kind:
            out.append(Binding(name, kind, _type_text(t), None, "refused",
                               f"{provider} is a {offers[provider][0]}, not a {kind}"))
            continue
        why = _fits(m, provider, t)
        out.append(Binding(name, kind, _type_text(t), None if why else provider,
                           "refused" if why else how, why or ""))
    return out


def describe_offers(m: Machine, kind: str) -> str:
    """Main's offers of ``kind`` (all of them when it offers none of that kind), in words."""
    offers = _offers(m)
    same = [f"{n} ({k} {t})" for n, (k, t) in offers.items() if k == kind]
    return "; ".join(same) if same else \
        "no " + kind + "; it offers " + "; ".join(f"{n} ({k})" for n, (k, _) in offers.items())


def module_sections(data: bytes) -> tuple[Section, ...]:
    """The header and each section of a module, as byte ranges (what main's SECTION notes
    give for its own modules); stops at the first malformed section."""
    if len(data) < 8:
        return ()
    out = [Section(0, "header", 0, 8)]
    at = 8
    while at < len(data):
        sid = data[at]
        try:
            size, p = read_u32(data, at + 1)
        except (IndexError, ValueError):
            break
        end = p + size
        if end > len(data):
            break
        out.append(Section(sid, SECTION_NAMES.get(sid, f"#{sid}"), at, end))
        at = end
    return tuple(out)

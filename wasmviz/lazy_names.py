"""Names a package exports, each imported from its home module when first asked for (PEP 562).

The engine and the lessons packages export their public names this way, so that importing one
name (the app's window wants Trace and Scenario at start-up) does not import every module of
the package, wasmtime included (issue 11: start-up).
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Mapping


def lazy_exports(package: str, homes: Mapping[str, str],
                 namespace: dict[str, Any]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``homes`` maps each exported name to the
    submodule (relative, without the dot) that defines it; a name found is kept in
    ``namespace`` (the package's globals), so it is looked up once."""
    def __getattr__(name: str) -> Any:  # noqa: N807 - the PEP 562 hook's own name
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{home}", package), name)
        namespace[name] = value
        return value
    return __getattr__

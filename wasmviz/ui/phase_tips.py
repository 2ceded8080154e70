"""What each phase of a run means, for the tooltips of the diagram's phase chips and the event
log: one wording for both. The link and patch phases read differently in each link style
(docs/abi.md, "Link styles"); the trace's own modules say which style it is
(diagram.history.trace_link).
"""

from __future__ import annotations

PHASE_TIPS = {
    "setup": "Setup: wasmtime instantiates the main module and the host's front end writes "
             "the program into its memory.",
    "generate": "Generate: the main module's template JIT writes a new module's bytes into "
                "its own linear memory.",
    "compile": "Compile: the host hands those bytes to wasmtime, which validates and compiles "
               "them.",
    "link": "Link: the host instantiates the new module, importing main's table and memory.",
    "patch": "Patch: the new module's patch grows the table, installs its functions and "
             "relocates their code slots.",
    "call": "Call: main calls through the table with call_indirect and reaches the new code.",
}
#: The link and patch phases as each link style has them (the trace's modules say which).
LINK_PHASE_TIPS = {
    "start": {"link": "Link: the host instantiates the new module, and its start function "
                      "runs inside that instantiation: table.grow, table.init from a "
                      "passive segment, the relocations.",
              "patch": "Patch: nothing is left to patch (the start function did it); main "
                       "records the status instantiate returned."},
    "pic": {"link": "Link: main reserves the slots first (table.grow); the host instantiates "
                    "the module with env.__table_base and env.__memory_base, and its active "
                    "element segment fills the slots.",
            "patch": "Patch: the host calls the module's __wasm_apply_data_relocs, which "
                     "relocates the code slots."},
}


def phase_tip(phase: str, link: str = "") -> str:
    """What ``phase`` means in a trace whose modules link in style ``link``."""
    return LINK_PHASE_TIPS.get(link, {}).get(phase) or PHASE_TIPS.get(phase, phase)

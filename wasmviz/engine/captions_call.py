"""Captions of the call phase: tier-up, a top-level call and how it ran, its callbacks into the
interpreter, traps, and the step that ends a trace at the recorder's step cap.

Mixed into captions.Captions (the one object the recorder holds), like the other phases'.
Facts (the code slot read, the records, the trap) are read by the caller and passed in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

from .captions_words import TRAP_WHY, call_text, hexaddr

if TYPE_CHECKING:
    from .trace import VmState

#: What a function object's state says about why it was not compiled (layout.FUNC_STATES).
_NOT_COMPILED = {"cold": "not compiled",
                 "hot": "hot and queued for the JIT, but not compiled yet",
                 "failed": "not compiled: its batch failed, so it stays interpreted"}


class CallCaptions:
    """The call phase's wording."""

    def hot(self, name: str, calls: int, vm: VmState) -> str:
        """``calls``: the count main noted; ``vm``: the state block as this step holds it."""
        queue_len, countdown = vm.queue_len, vm.countdown
        return (f"{name} has now been interpreted {calls} times: it is hot. The interpreter "
                f"put it on the JIT queue ({queue_len} function{'s' * (queue_len != 1)} "
                f"queued). The queue is compiled as one batch when the countdown ({countdown} "
                f"more interpreted calls) runs out, or when the host next calls invoke.")

    def flush(self, name: str, args: Sequence[int], queued: Sequence[str]) -> str:
        return (f"The host called main's invoke for {call_text(name, args)}. The JIT queue "
                f"holds {', '.join(queued) or 'nothing'}, so invoke first compiles that batch; "
                f"only then does it read {name}'s code slot.")

    def call(self, name: str, args: Sequence[int], slot: int, target: str,
             problem: str | None, flushed: bool, state: str = "cold") -> str:
        """``slot`` is the code slot main's invoke just read (after any flush), ``target``
        what table slot ``slot`` holds, ``problem`` what is wrong with it, if anything."""
        text = call_text(name, args)
        first = "After that batch, main's invoke" if flushed else "Main's invoke"
        if slot == 0:
            why = _NOT_COMPILED.get(state, "not compiled")
            return (f"{first} read {name}'s code slot: 0 ({why}), so it runs {text} in the "
                    f"bytecode interpreter (which counts every call).")
        if problem is None:
            return (f"{first} read {name}'s code slot: {slot}, so it calls {text} with "
                    f"call_indirect through table slot {slot} -> {target}.")
        return (f"{first} read {name}'s code slot: {slot}, so it calls {text} with "
                f"call_indirect through table slot {slot}. But {problem}.")

    def result(self, name: str, args: Sequence[int], value: int, how: str) -> str:
        return f"{call_text(name, args)} returned {value} ({how})."

    def how(self, name: str, entry_slot: int | None, slot: int, interpreted: int,
            target: str, problem: str | None = None) -> str:
        """How a call ran, from the evidence: the code slot invoke used and ``interpreted``,
        how many times the interpreter entered ``name`` during the call (its call count)."""
        times = f"{interpreted} time{'s' * (interpreted != 1)}"
        if entry_slot is None:
            return "it never reached its code slot"
        if entry_slot == 0 and slot == 0:
            return f"interpreted: the interpreter entered {name} {times}"
        if entry_slot == 0 and problem is not None:
            return (f"interpreted: the interpreter entered {name} {times}; during the call its "
                    f"code slot became {slot}, but {problem}")
        if entry_slot == 0:
            return (f"it started in the interpreter, which entered {name} {times}; during the "
                    f"call its code slot became {slot}, so from then on a call to {name} went "
                    f"to {target}")
        text = f"JIT code via table slot {entry_slot} -> {target}"
        if interpreted:
            text += f"; the interpreter also entered {name} {times}"
        return text

    def trap(self, name: str, args: Sequence[int], code: str, message: str,
             why: str | None = None) -> str:
        why = why or TRAP_WHY.get(code, message)
        return f"{call_text(name, args)} trapped with {code}: {why}. wasmtime said: {message}"

    def out_of_fuel(self, budget: int, flushing: bool = False) -> str:
        who = ("invoke ran out of its fuel budget while compiling the pending batch"
               if flushing else "the call ran out of its fuel budget")
        return (f"{who} ({budget:,} units). That happens with "
                f"runaway code (an endless loop), but also with long legitimate work: fuel "
                f"cannot tell the two apart")

    def bad_signature(self, expected_type: str, actual_type: str, mismatch_slot: int,
                      mismatch_holds: str, mismatch_function: str) -> str:
        return (f"call_indirect expected {expected_type} but slot {mismatch_slot} holds "
                f"{mismatch_holds} of type {actual_type} (the code slot of "
                f"{mismatch_function} points there), and wasm checks every indirect call's "
                f"signature")

    def callback(self, d: Mapping[str, Any]) -> str:
        """JIT code called a function that is not compiled, through an interpreter entry."""
        name, callers, n = d["function"], d["callers"], len(d["args"])
        who = f"JIT code of {' or '.join(callers)}" if callers else "JIT code"
        state = _NOT_COMPILED.get(d["state"], "not compiled")
        text = (f"Callback into the interpreter: {who} called {call_text(name, d['args'])}. "
                f"Its code slot is {d['code_slot']} ({state}), so the call template took table "
                f"slot {d['slot']}, {d['entry']}: the interpreter's entry for {n} "
                f"parameter{'s' * (n != 1)}. The entry put the "
                f"argument{'s' * (n != 1)} on the interpreter's stack at "
                f"{hexaddr(d['frame'])} and interprets {name}'s bytecode.")
        if d["nth"] == d["budget"]:
            text += (f" This is callback {d['nth']} of this call: further ones are counted "
                     f"but not shown.")
        return text

    def callbacks(self, total: int, shown: int) -> str:
        """The end of a call's caption: its callbacks into the interpreter, if any."""
        if total <= 0:
            return ""
        text = (f" JIT code called back into the interpreter {total} time"
                f"{'s' * (total != 1)}")
        return text + (f" ({total - shown} not shown as steps)." if total > shown else ".")

    def truncated(self, cap: int, dropped: int, result: int | None,
                  trap: str | None) -> str:
        """The last step of a trace that reached the recorder's step cap."""
        text = (f"Recording stopped here: the trace reached its cap of {cap:,} steps, so "
                f"the next {dropped:,} step{'s' * (dropped != 1)} of this run were not "
                f"recorded (the cap keeps a long run from filling memory and the views). "
                f"The table and memory shown are as they were at this step. The run "
                f"itself went on to the end")
        if trap:
            return text + f" and trapped with {trap}."
        return text + (f" and returned {result}." if result is not None else ".")

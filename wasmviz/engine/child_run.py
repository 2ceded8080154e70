"""The app's first run, in a process of its own (issue 11: start-up).

Importing wasmtime and the engine, loading the compiled main module and recording the first
run is about 80 ms of Python. In a worker thread of the app it holds the GIL while the window
is built and painted, so the two add up; in a child process it runs on another core, at the
same time. The app starts the child (``FirstRun()``) before it imports Qt, and sends it the
first run's scenario (``start``) as soon as it has read the saved inputs: the child imports the
engine, loads main, runs it with the same code as ever (scenario.run, in wasmtime) and sends
back the finished trace, which the window collects (``run``) while it is built.

Only the trace crosses, pickled: the two processes are the same wasmviz (the child is started
with the parent's Python and package), and the pipe is theirs alone. If the child cannot start,
dies, or answers anything but a trace or one of the engine's own errors, ``ChildFailed`` says
so and the caller runs the scenario itself (ui/runner.py), so the outcome is the same either
way; tests/test_first_run.py compares the two.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading

from .options import EngineError
from .scenario import Scenario, ScenarioError
from .trace import Trace

#: Long enough for any run the scenario's own fuel allows; a child that takes longer is killed.
ANSWER_TIMEOUT_S = 120


class ChildFailed(Exception):
    """The child gave no usable answer; the scenario has to be run in this process."""


class FirstRun:
    """A child process started now, ready to run one scenario later."""

    def __init__(self) -> None:
        # The same wasmviz as this process, from wherever this one imported it (a checkout a
        # script put on sys.path, a wheel, an editable install): the folder holding the package.
        # Code, not data: data is found with importlib.resources (wasmviz/data).
        import wasmviz  # noqa: PLC0415
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(wasmviz.__file__)))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (package_root,
                                                          env.get("PYTHONPATH"))))
        try:
            self.proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                [sys.executable, "-m", __name__], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        except (OSError, ValueError):
            self.proc = None   # no usable interpreter (an embedded Python): run() says so
        self._asked: Scenario | None = None
        self._exchange: threading.Thread | None = None
        self._answer: tuple[object, ...] | ChildFailed | None = None

    def start(self, scenario: Scenario) -> None:
        """Send ``scenario`` now, so that the child records it while this process builds its
        window; ``run`` then collects the answer. A thread of its own writes and reads (the
        child reads once it is ready, and a long source would fill the pipe)."""
        if self.proc is None or self._asked is not None:
            return
        self._asked = scenario
        proc = self.proc
        self._exchange = threading.Thread(target=self._keep_answer, args=(proc, scenario),
                                          name="wasmviz-first-run", daemon=True)
        self._exchange.start()

    def _keep_answer(self, proc: subprocess.Popen[bytes], scenario: Scenario) -> None:
        try:
            self._answer = _talk(proc, scenario)
        except ChildFailed as exc:
            self._answer = exc

    def run(self, scenario: Scenario) -> Trace:
        """The trace of ``scenario``, recorded in the child. Raises the engine's errors as
        scenario.run would (SourceError, ScenarioError, EngineError), ChildFailed otherwise
        (also when ``start`` sent another scenario). One scenario per child: the child exits
        once it has answered."""
        if self._exchange is not None:
            if scenario != self._asked:
                self.close()
                raise ChildFailed("the child was sent another scenario")
            self._exchange.join(ANSWER_TIMEOUT_S + 10)
            answer, self._answer, self._exchange, self.proc = self._answer, None, None, None
        else:
            proc, self.proc = self.proc, None
            if proc is None:
                raise ChildFailed("no child process (it could not be started, or has answered)")
            answer = _talk(proc, scenario)
        if not isinstance(answer, tuple):
            raise answer if isinstance(answer, ChildFailed) else ChildFailed("no answer")
        return _outcome(answer)

    def close(self) -> None:
        """Stop the child if it was never asked (e.g. the app opened a lesson), or its answer
        will not be collected."""
        proc, self.proc = self.proc, None
        if proc is not None:
            proc.kill()
            if self._exchange is None:
                proc.communicate()
        if self._exchange is not None:
            self._exchange.join(ANSWER_TIMEOUT_S + 10)
            self._exchange = None


def _talk(proc: subprocess.Popen[bytes], scenario: Scenario) -> tuple[object, ...]:
    """Send ``scenario`` to the child and return its answer; ChildFailed if there is none."""
    try:
        out, err = proc.communicate(pickle.dumps(scenario), timeout=ANSWER_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        proc.kill()
        proc.communicate()
        raise ChildFailed(f"the child did not answer: {exc}") from None
    if proc.returncode != 0 or not out:
        tail = err.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise ChildFailed(f"the child exited with {proc.returncode}: {tail[0]}")
    try:
        answer = pickle.loads(out)
    except Exception as exc:  # noqa: BLE001 - anything unreadable: this process runs it
        raise ChildFailed(f"the child's answer cannot be read: {exc!r}") from None
    if not isinstance(answer, tuple) or not answer:
        raise ChildFailed("the child's answer is not one")
    return answer


def _outcome(answer: tuple[object, ...]) -> Trace:
    kind, *rest = answer
    if kind == "trace" and isinstance(rest[0], Trace):
        return rest[0]
    if kind == "source":
        from .frontend import SourceError  # noqa: PLC0415 - the compiler, only when needed
        line, column, message = rest
        raise SourceError(int(line), int(column), str(message))  # type: ignore[call-overload]
    if kind == "scenario":
        raise ScenarioError(str(rest[0]), rest[1])  # type: ignore[arg-type]
    if kind == "engine":
        raise EngineError(str(rest[0]))
    raise ChildFailed(f"the child answered {kind!r}")


def _answer(scenario: Scenario) -> tuple[object, ...]:
    from .frontend import SourceError  # noqa: PLC0415
    from .scenario import run  # noqa: PLC0415
    try:
        return ("trace", run(scenario))
    except SourceError as exc:
        return ("source", exc.line, exc.column, exc.message)
    except ScenarioError as exc:
        return ("scenario", str(exc), exc.field)
    except EngineError as exc:
        return ("engine", str(exc))


def main() -> int:
    # Everything the run will need, loaded while the parent builds its window.
    from . import disasm  # noqa: F401, PLC0415
    from .scenario import run  # noqa: PLC0415
    # One small run, thrown away: a process's first recording run costs about three times a
    # later one (wasmtime's and the recorder's first-use work), and the child has time to spare
    # before the window asks (tests/test_first_run.py checks the traces are the same anyway).
    run(Scenario(exprs=("x + 1",), args=(1,)), disassemble=False)
    data = sys.stdin.buffer.read()
    if not data:
        return 0   # the parent closed without a scenario
    scenario = pickle.loads(data)
    if not isinstance(scenario, Scenario):
        return 2
    sys.stdout.buffer.write(pickle.dumps(_answer(scenario), protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

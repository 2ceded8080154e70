"""The command line: readable steps, JSON with phases/results/traps, clear usage errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from wasmviz.cli import main


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = main(["trace", "--json", "--no-disasm", *argv])
    return code, json.loads(capsys.readouterr().out)


def test_expr_json_has_phases_and_result(capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run_json(capsys, "--expr", "x*x+3", "--arg", "7")
    assert code == 0 and data["result"] == 52
    phases = {s["phase"] for s in data["steps"]}
    assert {"generate", "compile", "link", "patch", "call"} <= phases
    assert data["steps"][-1]["phase"] == "call" and data["steps"][-1]["result"] == 52


@pytest.mark.parametrize("expr, arg, expected", [
    ("(x + 3) * (x - 2) % 7", 12, 3), ("-x / 4", 9, -2), ("x * 65536 * 65536", 3, 0),
    ("if x >= 10 then x - 10 else 10 - x", 4, 6), ("2147483647 + x", 1, -2147483648),
])
def test_expressions_compute_i32_results(capsys: pytest.CaptureFixture[str], expr: str,
                                         arg: int, expected: int) -> None:
    code, data = run_json(capsys, "--expr", expr, "--arg", str(arg))
    assert code == 0 and data["result"] == expected


@pytest.mark.parametrize("fault, trap", [
    ("null-slot", "INDIRECT_CALL_TO_NULL"), ("bad-signature", "BAD_SIGNATURE"),
    ("out-of-bounds", "TABLE_OUT_OF_BOUNDS"), ("runaway", "OUT_OF_FUEL")])
def test_fault_json_names_the_trap(capsys: pytest.CaptureFixture[str], fault: str,
                                   trap: str) -> None:
    code, data = run_json(capsys, "--fault", fault)
    assert code == 0
    assert data["steps"][-1]["trap"] == trap and data["trap"] == trap


def test_invalid_module_fault_reports_validation_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run_json(capsys, "--fault", "invalid-module")
    assert code == 0 and data["result"] == 52
    assert any(s["kind"] == "invalid" and s["error"] for s in data["steps"])


def test_several_exprs_fill_several_slots(capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run_json(capsys, "--expr", "x+1", "--expr", "x+2", "--arg", "1")
    labels = [s["label"] for s in data["steps"][-1]["table"]]
    assert code == 0 and labels[6:] == ["m1.expr1", "m2.expr2"]


def test_source_program_tiers_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "fib.wv"
    src.write_text("# fibonacci\ndef fib(n) = if n < 2 then 1 else fib(n-1) + fib(n-2)\n")
    code, data = run_json(capsys, "--source", str(src), "--call", "fib", "25")
    kinds = [s["kind"] for s in data["steps"]]
    assert code == 0 and data["result"] == 121393
    assert "tier-up" in kinds and "relocation" in kinds


def test_bad_source_exits_2_with_line_and_column(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "--expr", "x + * 2"]) == 2
    err = capsys.readouterr().err
    assert "line 1, column 5" in err


@pytest.mark.parametrize("argv", [["trace"], ["trace", "--call", "f"],
                                  ["trace", "--expr", "x", "--arg", "zz"],
                                  ["trace", "--fault", "nope"]])
def test_bad_usage_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2 and capsys.readouterr().err


def test_unrequested_trap_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "--expr", "1 / x", "--arg", "0"]) == 1
    assert "INTEGER_DIVISION_BY_ZERO" in capsys.readouterr().out


def test_readable_output_and_module_entry_point() -> None:
    proc = subprocess.run([sys.executable, "-m", "wasmviz", "trace", "--expr", "x*x+3",
                           "--arg", "7"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "patch/relocation" in proc.stdout and "result: 52" in proc.stdout


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "wasmviz"
    assert script.exists()
    proc = subprocess.run([str(script), "trace", "--help"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 and "--jit-now" in proc.stdout


def test_too_little_fuel_is_a_usage_error_not_a_crash(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "--expr", "x", "--fuel", "1"]) == 2
    assert "fuel must be at least 1000, not 1" in capsys.readouterr().err


def test_a_runaway_scenario_from_data_gets_the_small_budget() -> None:
    from wasmviz.engine.scenario import RUNAWAY_FUEL, Scenario
    scenario = Scenario.from_mapping({"exprs": ["x"], "fault": "runaway"})
    assert scenario.fuel == RUNAWAY_FUEL == Scenario.for_fault("runaway").fuel
    assert Scenario.from_mapping({"exprs": ["x"], "fault": "runaway", "fuel": 5000}).fuel == 5000


def test_lesson_option_names_an_unknown_lesson(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--lesson", "no-such-lesson"]) == 2
    err = capsys.readouterr().err
    assert "no-such-lesson" in err and "01-why-a-table" in err


@pytest.mark.parametrize("extra", [["--redefine", "wasmviz/data/programs/fib.wv"],
                                   ["--module", "wasmviz/data/modules/handwritten_patch.wat"]])
def test_what_only_the_wasmtime_host_records_is_refused_under_node(
        extra: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    root = Path(__file__).resolve().parents[1]
    argv = ["trace", "--host", "node", "--source", str(root / "wasmviz/data/programs/fib.wv"),
            "--call", "fib", "5"] + [str(root / a) if a.endswith((".wv", ".wat")) else a
                                     for a in extra]
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "need --host wasmtime" in capsys.readouterr().err


def test_call_slot_without_a_module_is_refused_with_a_program_too(
        capsys: pytest.CaptureFixture[str]) -> None:
    root = Path(__file__).resolve().parents[1]
    with pytest.raises(SystemExit) as info:
        main(["trace", "--source", str(root / "wasmviz/data/programs/fib.wv"), "--call", "fib",
              "5", "--call-slot", "1", "2"])
    assert info.value.code == 2 and "--call-slot needs --module" in capsys.readouterr().err

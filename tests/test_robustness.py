"""Bad input of every kind ends in a precise message, never a hang, a crash or a runaway
(review D1-D17 in shared/reviews/robustness-review.md; one test or more per defect)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QUrl

from wasmviz.cli import main
from wasmviz.engine import Scenario, run
from wasmviz.engine.machine import MAX_MEMORY_PAGES, MAX_TABLE_ELEMENTS, Machine
from wasmviz.engine.trace_limits import TraceRejected, load_trace_file, load_trace_text
from wasmviz.lessons import LessonError, load
from wasmviz.safe_files import UnsafeFile, read_small_bytes, read_small_text

LESSON = '''title = "t"
summary = "s"
level = "beginner"

[scenario]
{scenario}

[[step]]
at = "setup/instantiate"
narration = """{narration}"""
'''
EXPR = 'exprs = ["x * x + 3"]\nargs = [7]'


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


# ---------------------------------------------------------------- safe_files
def test_safe_read_refuses_devices_fifos_folders_and_big_files(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 101)
    with pytest.raises(UnsafeFile, match="not a regular file"):
        read_small_bytes("/dev/zero", 100)
    with pytest.raises(UnsafeFile, match="not a regular file"):
        read_small_bytes(fifo(tmp_path / "p"), 100)   # opened without blocking
    with pytest.raises(UnsafeFile, match="not a regular file"):
        read_small_bytes(tmp_path, 100)
    with pytest.raises(UnsafeFile, match="101 bytes is more than the 100"):
        read_small_bytes(big, 100)
    big.write_bytes(b"\xff\xfe")
    with pytest.raises(UnsafeFile, match="not UTF-8"):
        read_small_text(big, 100)
    big.write_text("ok")
    assert read_small_text(big, 100) == "ok"


# ---------------------------------------------------------------- D1, D17: narration
def test_narration_images_come_only_from_the_lessons_folder(qtbot, tmp_path: Path) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage

    from wasmviz.lessons.loader import image_file
    from wasmviz.ui.lesson_panel import _FittedBrowser

    image = QImage(30, 20, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.red)
    image.save(str(tmp_path / "red.png"))
    fifo(tmp_path / "pipe.png")
    browser = _FittedBrowser()
    qtbot.addWidget(browser)
    # Each of these read without end or froze the window before (review D1). Now the pane
    # reads nothing: it shows what the worker read with the lesson (here: red.png only).
    browser.show_markdown("![z](/dev/zero) ![p](pipe.png) ![u](../x.png) "
                          "![f](file:///dev/zero) <img src=\"/dev/zero\"> ![ok](red.png)",
                          {"red.png": QImage(str(tmp_path / "red.png"))})
    browser.resize(400, 200)
    browser.grab()  # lays the document out: every image is asked for now
    assert browser.loadResource(2, QUrl("red.png")).size().width() == 30
    for name in ("/dev/zero", "pipe.png", "../x.png", "file:///dev/zero"):
        assert browser.loadResource(2, QUrl(name)).width() == 1  # the blank placeholder
    assert image_file(tmp_path, "/etc/hostname") is None
    assert image_file(tmp_path, "../x.png") is None
    assert image_file(tmp_path, "file:///dev/zero") is None
    assert image_file(tmp_path, "https://example.com/a.png") is None


def test_narration_file_links_open_nothing(qtbot, monkeypatch) -> None:
    from PySide6.QtGui import QDesktopServices

    from wasmviz.ui import lesson_panel

    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toString()))
    browser = lesson_panel._FittedBrowser()
    qtbot.addWidget(browser)
    browser.setMarkdown("[x](file:///etc/hostname)")
    assert not browser.openLinks() and not browser.openExternalLinks()
    browser.anchorClicked.emit(QUrl("file:///etc/hostname"))
    browser.anchorClicked.emit(QUrl("https://webassembly.org/"))
    assert opened == ["https://webassembly.org/"]
    assert "hostname" not in browser.toPlainText().replace("x", "")


def test_checkpoint_text_shows_no_images() -> None:
    from wasmviz.ui.lesson_checkpoint import no_images

    assert "![" not in no_images("see ![z](/dev/zero)")
    assert "<img" not in no_images('<IMG src="/dev/zero">').lower()


def test_lessons_check_refuses_a_narration_image_outside_the_folder(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(LESSON.format(scenario=EXPR, narration="![z](/dev/zero)"))
    with pytest.raises(LessonError, match="narration image '/dev/zero' is not a file in the "
                                          "lesson's folder"):
        load(bad)
    (tmp_path / "pic.png").write_bytes(b"\x89PNG")
    good = tmp_path / "good.toml"
    good.write_text(LESSON.format(scenario=EXPR, narration="![p](pic.png)"))
    assert load(good).steps[0].narration == "![p](pic.png)"


def test_a_memory_expectation_beyond_any_memory_is_refused(tmp_path: Path) -> None:
    lesson = tmp_path / "far.toml"
    lesson.write_text(LESSON.format(scenario=EXPR, narration="n") +
                      'expect = [{memory = 0x7fffffffffffffff, bytes = "00"}]\n')
    with pytest.raises(LessonError, match="lies beyond the main module's memory"):
        load(lesson)


# ---------------------------------------------------------------- D2: source_file FIFO
def test_a_fifo_as_source_file_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo(tmp_path / "prog.wv")
    lesson = tmp_path / "l.toml"
    lesson.write_text(LESSON.format(scenario='source_file = "prog.wv"\ncall = "f"\nargs = [1]',
                                    narration="n"))
    with pytest.raises(LessonError, match="source_file 'prog.wv' is not a regular file"):
        load(lesson)


# ---------------------------------------------------------------- D3: settings
def test_corrupt_settings_fall_back_with_a_notice(qtbot, tmp_path: Path) -> None:
    from wasmviz.ui.main_window import MainWindow

    path = tmp_path / "bad.ini"
    path.write_text("[window]\ngeometry=hello\nstate=@Variant(garbage)\n"
                    "[player]\nspeed=fast\n[view]\nzoom=1e400\ndark=maybe\n")
    window = MainWindow(settings=QSettings(str(path), QSettings.Format.IniFormat),
                        autorun=False)
    qtbot.addWidget(window)
    assert window.player.speed == 2.0
    texts = [window.messages.item(i).text() for i in range(window.messages.count())]
    notice = next(t for t in texts if "reset to their defaults" in t)
    for key in ("player/speed", "view/zoom", "view/dark", "window/geometry"):
        assert key in notice


# ---------------------------------------------------------------- D4, D12: trace files
@pytest.fixture(scope="module")
def trace_json() -> dict:
    trace = run(Scenario(exprs=("x * x + 3",), args=(7,), jit_now=True), disassemble=False)
    return json.loads(trace.dumps())


def _rejected(data: dict, match: str) -> None:
    with pytest.raises(TraceRejected, match=match):
        load_trace_text(json.dumps(data))


def test_a_trace_this_app_wrote_loads(trace_json: dict, tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps(trace_json))
    assert load_trace_file(path).result == 52


def test_a_trace_claiming_a_billion_pages_is_refused(trace_json: dict) -> None:
    data = json.loads(json.dumps(trace_json))
    data["steps"][3]["memory_pages"] = 10**9
    _rejected(data, rf"step 4: memory_pages is 1000000000; .* 0 to {MAX_MEMORY_PAGES:,}")


@pytest.mark.parametrize("change, match", [
    ({"address": -5}, "address is -5"),
    ({"address": 10**18}, "address is 1000000000000000000"),
    ({"old": "00", "new": "0000"}, "1 old and 2 new bytes"),
    ({"old": "zz", "new": "00"}, None),
    ({"address": 8 * 65536 - 1, "old": "0000", "new": "0101"}, "ends beyond"),
])
def test_bad_memory_changes_are_refused_precisely(trace_json: dict, change: dict,
                                                  match: str | None) -> None:
    data = json.loads(json.dumps(trace_json))
    step = next(s for s in data["steps"] if s["memory_changes"])
    step["memory_changes"][0].update(change)
    _rejected(data, match or "not a wasmviz trace")


def test_other_broken_traces_are_refused_not_raised(trace_json: dict) -> None:
    _rejected({"steps": []}, "no steps")
    _rejected({"nope": 1}, "no list of steps")
    data = json.loads(json.dumps(trace_json))
    data["layout"]["func_size"] = 0
    _rejected(data, "layout.func_size is 0")
    data = json.loads(json.dumps(trace_json))
    data["steps"][0]["table"] = [{"index": 0, "kind": "null"}] * (MAX_TABLE_ELEMENTS + 1)
    _rejected(data, "table slots")
    with pytest.raises(TraceRejected, match="nested too deeply"):
        load_trace_text("[" * 100_000 + "]" * 100_000)
    data = json.loads(json.dumps(trace_json))
    data["steps"][2] = {"memory_pages": 8, "memory_changes": []}
    _rejected(data, "not a wasmviz trace")


def test_the_app_reports_a_bad_trace_in_messages(qtbot, window, tmp_path: Path,
                                                 trace_json: dict) -> None:
    data = json.loads(json.dumps(trace_json))
    data["steps"][0]["memory_pages"] = 10**9
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    count = window.messages.count()
    window.open_trace(str(bad))   # read by a worker
    qtbot.waitUntil(lambda: window.messages.count() > count, timeout=10000)
    last = window.messages.item(window.messages.count() - 1).text()
    assert "memory_pages is 1000000000" in last
    count = window.messages.count()
    window.open_trace("/dev/zero")   # not a small regular file: a worker tries it, and says no
    qtbot.waitUntil(lambda: window.messages.count() > count, timeout=10000)
    assert "not a regular file" in window.messages.item(window.messages.count() - 1).text()


# ---------------------------------------------------------------- D6: sandbox parse
def test_a_long_source_is_parsed_off_the_gui_thread(qtbot) -> None:
    from wasmviz.ui.sandbox import SYNC_PARSE_CHARS, SandboxPanel

    panel = SandboxPanel()
    qtbot.addWidget(panel)
    errors: list[str] = []
    panel.input_error.connect(lambda msg, _where: errors.append(msg))
    panel.editor.setPlainText("def f(x) = " + "-" * (SYNC_PARSE_CHARS * 4) + "x")
    panel.request(jit_now=False)
    assert not errors  # not answered yet: a worker parses
    qtbot.waitUntil(lambda: bool(errors), timeout=20000)
    assert "too deep" in errors[0]
    panel.editor.setPlainText("x" * (300 * 1024))
    panel.request(jit_now=False)
    assert "the sandbox takes at most" in errors[-1]


# ---------------------------------------------------------------- D7, D8, D9, D16: CLI
@pytest.mark.parametrize("extra, message", [
    (["--fuel", str(2**64)], "fuel must be at most"),
    (["--fuel", str(10**30)], "fuel must be at most"),
    (["--repeat", str(10**30)], "repeat must be at most"),
    (["--repeat", "1001"], "repeat must be at most 1,000"),
])
def test_cli_bounds_fuel_and_repeat(capsys, extra: list[str], message: str) -> None:
    assert main(["trace", "--expr", "x", *extra]) == 2
    assert message in capsys.readouterr().err


def test_cli_source_must_be_a_small_regular_file(capsys, tmp_path: Path) -> None:
    for path in ("/dev/zero", str(fifo(tmp_path / "p.wv")), str(tmp_path)):
        with pytest.raises(SystemExit) as exit_:
            main(["trace", "--source", path, "--call", "f"])
        assert exit_.value.code == 2
        assert "not a regular file" in capsys.readouterr().err


def test_cli_takes_a_negative_expression_and_refuses_a_fault_without_jit(capsys) -> None:
    assert main(["trace", "--expr", "-x", "--arg", "-3", "--no-disasm"]) == 0
    assert "result: 3" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["trace", "--fault", "null-slot", "--no-jit"])
    assert "needs the JIT" in capsys.readouterr().err


# ---------------------------------------------------------------- D10: store limits
def test_the_store_limits_table_and_memory_growth() -> None:
    import wasmtime

    machine = Machine(record=False)
    size = machine.table.size(machine.store)
    with pytest.raises(wasmtime.WasmtimeError):
        machine.table.grow(machine.store, MAX_TABLE_ELEMENTS, None)
    assert machine.table.size(machine.store) == size
    machine.table.grow(machine.store, 1000, None)  # generous: a big batch still fits
    with pytest.raises(wasmtime.WasmtimeError):
        machine.memory.grow(machine.store, MAX_MEMORY_PAGES)
    machine.memory.grow(machine.store, 8)


# ---------------------------------------------------------------- D14: a function named patch
def test_a_function_named_patch_is_jit_compiled() -> None:
    trace = run(Scenario(source="def patch(x) = x + 1", call="patch", args=(41,), jit_now=True))
    compiled = next(s for s in trace if s.kind == "compiled")
    assert compiled.detail["exports"] == ["patch", "$patch"]   # the link function keeps `patch`
    done = next(s for s in trace if s.kind == "jit-done")
    assert done.detail["status"] == 0 and done.detail["installed"] == ["patch"]
    slot = next(s for s in trace if s.kind == "relocation").detail["value"]
    assert trace[-1].table[slot].label == "m1.patch"   # the user's name, not `$patch`
    call = next(s for s in trace if s.phase == "call" and s.kind == "call")
    assert (call.detail["via"], call.detail["holds"]) == ("jit", "m1.patch")
    assert trace[-1].kind == "result" and trace[-1].result == 42


def test_ordinary_names_keep_their_exports_and_labels() -> None:
    trace = run(Scenario(source="def patched(x) = x * 2\ndef f(x) = patched(x) + 1", call="f",
                         args=(5,), jit_now=True))
    exports = next(s for s in trace if s.kind == "compiled").detail["exports"]
    assert exports[0] == "patch" and sorted(exports[1:]) == ["f", "patched"]
    labels = {slot.label for slot in trace[-1].table}
    assert {"m1.f", "m1.patched"} <= labels and trace[-1].result == 11


# ---------------------------------------------------------------- trace step cap
FIB = Scenario(source="def f(x) = if x < 2 then x else f(x - 1) + f(x - 2)", call="f",
               args=(10,), repeat=3, threshold=2, window=1)


@pytest.fixture(scope="module")
def capped() -> tuple:
    """The same run recorded in full and with a cap of 12 steps."""
    import wasmviz.engine.recorder as recorder
    full = run(FIB, disassemble=False)
    mp = pytest.MonkeyPatch()
    mp.setattr(recorder, "MAX_STEPS", 12)
    try:
        return full, run(FIB, disassemble=False)
    finally:
        mp.undo()


def test_a_trace_stops_at_its_step_cap_with_a_clear_last_step(capped: tuple) -> None:
    full, trace = capped
    assert len(full) > 12 and len(trace) == 12
    assert [(s.phase, s.kind) for s in trace[:11]] == [(s.phase, s.kind) for s in full[:11]]
    last = trace[-1]
    assert (last.phase, last.kind) == ("call", "truncated")
    assert last.detail["not_recorded"] == len(full) - 11 and last.detail["cap"] == 12
    assert f"the next {len(full) - 11} steps" in last.caption
    assert trace.result == full.result == 55 and f"returned {full.result}" in last.caption
    assert last.table == full[11].table   # the state where recording stopped


def test_the_cli_and_the_app_show_the_capped_step(capped: tuple, qtbot, window,
                                                  tmp_path: Path, capsys,
                                                  monkeypatch) -> None:
    import wasmviz.engine.recorder as recorder
    monkeypatch.setattr(recorder, "MAX_STEPS", 12)
    assert main(["trace", "--expr", "x * x + 3", "--arg", "7", "--no-disasm"]) == 0
    out = capsys.readouterr().out
    assert "Recording stopped here" in out and "returned 52" in out
    path = tmp_path / "capped.json"
    path.write_text(capped[1].dumps())
    window.open_trace(str(path))
    qtbot.waitUntil(lambda: len(window.player.trace) == 12, timeout=10000)
    window.player.to_end()
    qtbot.waitUntil(lambda: "Recording stopped here"
                    in window.centralWidget().accessibleDescription(), timeout=10000)

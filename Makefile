# Two commands do all set-up on a fresh machine: `make run` and `make test`.
# The virtual environment is rebuilt only when pyproject.toml changes, so both are fast the second time.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench screenshots clean

$(STAMP): pyproject.toml
	@echo "Setting up $(VENV): installing wasmviz (editable) with wasmtime, wasm-tools, PySide6, numpy"
	@echo "and the test tools (pytest, pytest-qt, hypothesis). About a minute, once; later runs skip this."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/wasmviz $(ARGS)

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q $(PYTEST_ARGS)

screenshots: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python docs/make_screenshots.py

bench: $(STAMP)
	$(BIN)/python bench/bench_engine.py
	$(BIN)/python bench/bench_engines.py
	$(BIN)/python bench/bench_links.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python bench/bench_ui.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

# Two commands: `make run` (install + run the gateway on embedded defaults) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: run test demo bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.run-installed: pyproject.toml setup.py $(wildcard gateway/classify/*.c) | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

# torch is pinned to the CPU build this machine kind carries (a plain `torch` would pull CUDA wheels).
$(VENV)/.test-installed: pyproject.toml setup.py $(wildcard gateway/classify/*.c) | $(BIN)/python
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e ".[postgres,redis,worker,dev]"
	touch $@

run: $(VENV)/.run-installed
	$(BIN)/gateway db upgrade
	$(BIN)/gateway serve --host $(HOST) --port $(PORT)

test: $(VENV)/.test-installed
	$(BIN)/python -m pytest

demo: $(VENV)/.run-installed
	$(BIN)/gateway db upgrade
	$(BIN)/gateway demo

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache var

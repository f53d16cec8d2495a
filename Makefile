# The two commands: `make demo` and `make test`. Each sets up everything it needs first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stamp-installed

.PHONY: setup demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/shancheng demo

lint: setup
	$(BIN)/ruff format --check src
	$(BIN)/ruff check src
	$(BIN)/mypy
	$(BIN)/lint-imports

test: setup lint
	$(BIN)/pytest -n 2 -p no:cacheprovider tests src/shancheng

bench: setup
	$(BIN)/python benchmarks/search.py
	$(BIN)/python benchmarks/import_city.py

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache .hypothesis

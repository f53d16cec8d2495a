# The two commands: `make demo` and `make test`. Each sets up everything it needs first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stamp-installed

.PHONY: setup demo test lint bench bench-circles bench-planning bench-dashboard clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)
	@# the circles report is checked in headless Chromium (system package, never downloaded)
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

demo: setup
	$(BIN)/shancheng demo
	$(BIN)/shancheng circles evaluate --city data/demo --out data/circles/demo
	$(BIN)/shancheng circles plan --city data/demo --k 10 --out data/plans/demo
	$(BIN)/shancheng cases replay
	$(BIN)/shancheng lifelines live

lint: setup
	$(BIN)/ruff format --check src
	$(BIN)/ruff check src
	$(BIN)/mypy
	$(BIN)/lint-imports

test: setup lint
	$(BIN)/pytest -n 2 --dist loadgroup -p no:cacheprovider tests src/shancheng --ignore=src/shancheng/store/migrations --durations=15

bench: setup
	$(BIN)/python benchmarks/search.py
	$(BIN)/python benchmarks/import_city.py

bench-circles: setup
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/circles.py

bench-planning: setup
	$(BIN)/python -m pip install --quiet 'spopt>=0.7'
	$(BIN)/python benchmarks/planning.py

bench-dashboard: setup
	@# MapLibre GL JS from npm into ~/.cache/shancheng-bench (the script installs it when absent)
	$(BIN)/python benchmarks/dashboard_layers.py

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache .hypothesis

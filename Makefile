# The two commands: `make demo` and `make test`. Each sets up everything it needs first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stamp-installed
# the dashboard (web/): npm ci when the lock file changes, a build when its sources change
WEB_DEPS := web/node_modules/.stamp-ci
WEB_BUILT := web/dist/.stamp-built
WEB_SRC := $(shell find web/src -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json

.PHONY: setup demo serve cluster test lint docs screenshots client classifier bench bench-circles bench-planning bench-cases bench-dashboard bench-transit clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(WEB_DEPS): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $(WEB_DEPS)

$(WEB_BUILT): $(WEB_DEPS) $(WEB_SRC)
	cd web && npm run --silent build
	touch $(WEB_BUILT)

setup: $(STAMP) $(WEB_BUILT)
	@# the circles report and the dashboard are checked in headless Chromium (system package)
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
	@# a Chinese font, so the dashboard's screenshots and e2e pages show 中文, not empty boxes
	@fc-list :lang=zh 2>/dev/null | grep -q . || { apt-get update -qq && apt-get install -y -qq fonts-wqy-microhei >/dev/null; }
	@# and a colour emoji font for the citizen page's category icons (phones have their own)
	@fc-list 2>/dev/null | grep -qi emoji || { apt-get update -qq && apt-get install -y -qq fonts-noto-color-emoji >/dev/null; }
	@# HAProxy: the proxy in front of the API servers in the scaled-out recipe (make cluster)
	@command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || { apt-get update -qq && apt-get install -y -qq haproxy >/dev/null; }

demo: setup
	$(BIN)/shancheng demo
	@# the demo metro (data/demo/transit/metro_gtfs.zip): walk + transit circles and the metro figures
	$(BIN)/shancheng circles evaluate --city data/demo --out data/circles/demo --gtfs data/demo/transit/metro_gtfs.zip
	@# Golden Ideas (金点子): a campaign from the real message board's suggestions and likes, in
	@# the database `make serve` uses; its accepted sports-ground idea is then among the plan's
	@# candidates (docs/ideas.md)
	$(BIN)/shancheng ideas demo
	$(BIN)/shancheng circles plan --city data/demo --k 10 --out data/plans/demo --ideas
	$(BIN)/shancheng cases replay
	@# Credit +: traders at the demo city's markets and riverside streets, a month of cases,
	@# penalties, publicity, tiers and one double-random draw, in the database `make serve` uses
	@# (data/shancheng.sqlite; left as it is when it already holds them) (docs/credit.md)
	$(BIN)/shancheng credit demo
	$(BIN)/shancheng lifelines live
	@echo "The operations center in the browser: make serve, then open http://127.0.0.1:8311/ui/ (docs/dashboard.md)"

# the services scaled out as plain processes: a broker with the shipped settings, two API servers
# behind HAProxy (port 8310), two ingesters on one shared subscription, on the machine's
# PostgreSQL and Redis (docs/services-scale-out.md; Ctrl-C stops them all)
CLUSTER_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
cluster: setup
	$(BIN)/shancheng demo >/dev/null
	$(BIN)/python deploy/cluster/run.py --data-dir data --database-url $(CLUSTER_DATABASE_URL)

# the API and the dashboard on the demo city (migrates the database first; Ctrl-C stops it)
serve: setup
	$(BIN)/shancheng serve

# the case classifier's department model, from the real labelled citizen messages (not shipped:
# ../shared/data/complaints); writes src/shancheng/cases/department_model.npz (README "Classifier")
SHARED_DATA ?= ../shared/data
classifier: $(STAMP)
	$(BIN)/python -m shancheng.cases.classifier_training --data $(SHARED_DATA)/complaints \
		--out src/shancheng/cases/department_model.npz

# the dashboard's screenshots in docs/screenshots, every view in both languages (headless Chromium)
screenshots: setup
	SHANCHENG_UPDATE_SCREENSHOTS=1 $(BIN)/pytest -q -n 1 tests/e2e/test_screenshots.py

# regenerate the dashboard's typed client after an API change (web/src/api/schema.d.ts)
client: $(STAMP) $(WEB_DEPS)
	scripts/generate-client.sh

lint: setup
	$(BIN)/ruff format --check src tests benchmarks deploy
	$(BIN)/ruff check src tests benchmarks deploy
	$(BIN)/mypy
	$(BIN)/lint-imports
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

# the documentation site into site/ (README, docs/, benchmarks/RESULTS.md, the CLI reference from
# --help, the API reference from the docstrings); open site/index.html. --strict: a broken link,
# a page missing from the nav or a docstring that does not parse is an error
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

test: setup lint
	$(BIN)/pytest -n 2 --dist loadgroup -p no:cacheprovider -m "not budget" tests src/shancheng --ignore=src/shancheng/store/migrations --durations=15
	@# time budgets (the dashboard's first render, the live streams' 2 s) alone, once nothing
	@# else runs on the two cores
	@sleep 5
	$(BIN)/pytest -p no:cacheprovider -m budget -s tests/e2e tests/integration

bench: setup
	$(BIN)/python benchmarks/search.py
	$(BIN)/python benchmarks/import_city.py

bench-circles: setup
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/circles.py

bench-planning: setup
	$(BIN)/python -m pip install --quiet 'spopt>=0.7'
	$(BIN)/python benchmarks/planning.py

bench-cases: setup
	@# load generator: wrk (C, light on the CPU the server needs); needs PostgreSQL and Redis
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
	uptime
	$(BIN)/python benchmarks/cases_load.py --workers 2 --duration 30 --get-rate 200

# range RAPTOR over the shared GTFS feeds and the demo city's walk + transit circles (RESULTS.md)
bench-transit: setup
	$(BIN)/python benchmarks/transit.py

bench-dashboard: setup
	@# MapLibre GL JS from npm into ~/.cache/shancheng-bench (the script installs it when absent)
	$(BIN)/python benchmarks/dashboard_layers.py
	@# the first map render and the JavaScript shipped, against the budget (2 s, 400 KB)
	$(BIN)/python benchmarks/dashboard_render.py

clean:
	rm -rf $(VENV) web/node_modules web/dist data site .pytest_cache .mypy_cache .ruff_cache .hypothesis

# The two commands a newcomer needs: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint stack-up stack-down clean frontend chromium

# The entity tagger's compiled core (Rust, pyo3): pip builds it with maturin, cargo fetches the
# crates of its Cargo.lock; rebuilt whenever its sources change.
NATIVE := stream/enrich/entities/native
NATIVE_SOURCES := $(NATIVE)/Cargo.toml $(NATIVE)/Cargo.lock $(NATIVE)/pyproject.toml \
	$(NATIVE)/entities_native.pyi $(wildcard $(NATIVE)/src/*.rs)

$(STAMP): pyproject.toml $(NATIVE_SOURCES)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --force-reinstall --no-deps ./$(NATIVE)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

FRONTEND := rasad/web/frontend
WEB_BUILD := rasad/web/static/index.html

# The web app: exact dependencies from the npm lock file, bundled by Vite into rasad/web/static
# (served by `rasad serve`; the browser never fetches anything from the internet).
$(WEB_BUILD): $(FRONTEND)/package.json $(FRONTEND)/package-lock.json $(FRONTEND)/index.html \
		$(FRONTEND)/vite.config.js $(wildcard $(FRONTEND)/src/*)
	cd $(FRONTEND) && npm ci --no-audit --no-fund && npm run build

frontend: $(WEB_BUILD)

install: $(STAMP) frontend

# Browser tests drive Debian's chromium through Playwright (never a downloaded browser build).
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

# Local stack, topics and indices, then the whole pipeline in the foreground; Ctrl-C stops it.
run: install
	$(BIN)/rasad run

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports
	cd $(NATIVE) && cargo fmt --check && PYO3_PYTHON=$(abspath $(BIN)/python) cargo clippy --locked --quiet -- -D warnings

# Reuses a running stack; stops it afterwards only if this run started it. Test temp dirs live in
# the clone (.pytest-tmp): pytest prunes old runs' dirs under the shared /tmp, which on a machine
# running several suites at once removed live workers' data dirs mid-test.
test: install lint chromium
	@started=0; \
	if ! $(BIN)/rasad stack status >/dev/null 2>&1; then \
		$(BIN)/rasad stack up || exit 1; started=1; \
	fi; \
	$(BIN)/rasad setup; \
	$(BIN)/pytest -q -ra --basetemp=.pytest-tmp; rc=$$?; \
	if [ $$started = 1 ]; then $(BIN)/rasad stack down; fi; \
	exit $$rc

stack-up: install
	$(BIN)/rasad stack up

stack-down: install
	$(BIN)/rasad stack down

clean:
	rm -rf $(VENV) $(NATIVE)/target .rasad .mypy_cache .ruff_cache .pytest_cache .pytest-tmp .import_linter_cache test-artifacts \
		$(FRONTEND)/node_modules

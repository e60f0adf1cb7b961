# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
PYTEST_ARGS ?=
# OAuth redirect URIs and the built-in sandbox's endpoints are built from PUBLIC_URL:
# follow HOST/PORT unless the environment says otherwise.
PUBLIC_URL ?= http://$(HOST):$(PORT)

.PHONY: run test lint bench schemathesis clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "adplatform needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	./scripts/system-deps.sh
	$(BIN)/pip install -q -e ".[test]"
	@touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/python manage.py migrate --no-input -v 0
	PUBLIC_URL=$(PUBLIC_URL) $(BIN)/python manage.py bootstrap
	PUBLIC_URL=$(PUBLIC_URL) $(BIN)/python manage.py runplatform --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The guard rails CI runs before the tests: formatting, lint rules, types.
lint: $(VENV)/.installed-test
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy .

bench: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis

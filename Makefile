# One task runner for people and CI. `make serve` and `make test` are the README's two commands.
# Everything installs once into a project virtual environment (.venv); a stamp file per extra
# skips the install while pyproject.toml is unchanged (the package itself is installed editable).
BASE_PYTHON ?= python3
VENV ?= .venv
PYTHON := $(VENV)/bin/python
PIP := $(PYTHON) -m pip
export PIP_DISABLE_PIP_VERSION_CHECK = 1

.PHONY: install install-test browser java serve demo test lint unit bench fuzz corpus clean

$(PYTHON):
	$(BASE_PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(PYTHON)
	$(PIP) install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(PYTHON)
	$(PIP) install --quiet -e ".[test]"
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

browser:
	@bash scripts/ensure_chromium.sh
	@bash scripts/ensure_office.sh
	npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error

java:
	@bash scripts/ensure_java.sh

serve: install
	$(PYTHON) -m cjsdash.cli serve

demo: install
	$(PYTHON) -m cjsdash.cli demo --force

lint: install-test
	$(PYTHON) -m ruff check .
	$(VENV)/bin/lint-imports

unit: install-test java
	$(PYTHON) -m pytest -m "not browser" -q

test: install-test browser java lint
	$(PYTHON) -m pytest -q --durations=25

bench: install-test
	$(PYTHON) benchmarks/run.py

# Hostile input: 10,000+ mutated files across every loader (CI runs ~400 with the ci profile).
fuzz: install-test
	HYPOTHESIS_PROFILE=fuzz $(PYTHON) -m pytest tests/integration/test_fuzz_loaders.py -q

# Rewrite the malformed-input corpus and its manifest (tests/data/malformed).
corpus:
	$(PYTHON) tests/data/malformed/make_corpus.py

clean:
	rm -rf data/cjsdash.duckdb data/cjsdash.duckdb.wal data/generated tests/artifacts

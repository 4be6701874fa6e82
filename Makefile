# One task runner for people and CI. `make serve` and `make test` are the README's two commands.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip
export PIP_DISABLE_PIP_VERSION_CHECK = 1

.PHONY: install install-test browser serve demo test lint unit bench fuzz corpus clean

install:
	$(PIP) install --quiet -e .

install-test:
	$(PIP) install --quiet -e ".[test]"

browser:
	@bash scripts/ensure_chromium.sh
	npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error

serve: install
	$(PYTHON) -m cjsdash.cli serve

demo: install
	$(PYTHON) -m cjsdash.cli demo --force

lint: install-test
	$(PYTHON) -m ruff check .
	lint-imports

unit: install-test
	$(PYTHON) -m pytest -m "not browser" -q

test: install-test browser lint
	$(PYTHON) -m pytest -q

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

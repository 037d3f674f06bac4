# Two entry points, both from a fresh clone: `make demo` and `make test`.
# Each creates .venv (once) and installs cnnsearch with its test tools into it.

PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: setup demo test test-fast lint docs clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

# The offline demo search: scikit-learn digits, local MLflow + study storage under mlruns/.
demo: setup
	$(BIN)/cnnsearch run search_spaces/digits.toml

# Everything: the layer contract, lint and types, the docs site, then every test (unit and e2e).
test: setup lint docs
	$(BIN)/python -m pytest

# The unit tier only: in process, no training (about a minute).
test-fast: setup
	$(BIN)/python -m pytest tests/unit -m "not slow"

# One-way layers (import-linter), ruff (lint + format) and mypy on the package.
lint: setup
	$(BIN)/lint-imports
	$(BIN)/ruff check cnnsearch tests
	$(BIN)/ruff format --check cnnsearch tests
	$(BIN)/mypy

# The MkDocs site (docs/, mkdocs.yml) into site/; --strict: a broken link or a missing page fails.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

clean:
	rm -rf mlruns exports .pytest_cache site

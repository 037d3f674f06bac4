# Two entry points, both from a fresh clone: `make demo` and `make test`.
# Each creates .venv (once) and installs cnnsearch with its test tools into it.

PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: setup demo test clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

# The offline demo search: scikit-learn digits, local MLflow + study storage under mlruns/.
demo: setup
	$(BIN)/cnnsearch run search_spaces/digits.toml

test: setup
	$(BIN)/python -m pytest

clean:
	rm -rf mlruns exports .pytest_cache

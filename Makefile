# One entry point for everything a person does with this project.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: devnet test test-long bench lint install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

devnet: $(STAMP)
	$(VENV)/bin/harmony devnet

lint: $(STAMP)
	$(VENV)/bin/ruff check harmony tests bench
	$(VENV)/bin/ruff format --check harmony tests bench
	$(VENV)/bin/mypy harmony bench

test: lint
	$(VENV)/bin/pytest -n 2 --dist worksteal -m "not slow" tests

test-long: $(STAMP)
	$(VENV)/bin/pytest -n 2 --dist worksteal tests

bench: $(STAMP)
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

# One entry point for everything a person does with this project.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SOLC   := .tools/node_modules/solc/package.json
SOLC_VERSION := 0.8.37

.PHONY: devnet testnet test test-long bench lint install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# solc-js from npm, for the end-to-end tests that compile and deploy a contract
$(SOLC):
	npm install --no-audit --no-fund --silent --prefix .tools solc@$(SOLC_VERSION)

devnet: $(STAMP)
	$(VENV)/bin/harmony devnet

lint: $(STAMP)
	$(VENV)/bin/ruff check harmony tests bench
	$(VENV)/bin/ruff format --check harmony tests bench
	$(VENV)/bin/mypy harmony bench

# a testnet on network namespaces (needs root): MANIFEST=testnets/rolling-upgrade.toml to pick another
MANIFEST ?= testnets/small.toml
testnet: $(STAMP)
	$(VENV)/bin/harmony testnet run $(MANIFEST)

test: lint $(SOLC)
	$(VENV)/bin/pytest -n 2 --dist worksteal -m "not slow" tests

test-long: $(STAMP) $(SOLC)
	$(VENV)/bin/pytest -n 2 --dist worksteal tests

bench: $(STAMP)
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .tools .mypy_cache .ruff_cache .pytest_cache

# One entry point for everything a person does with this project.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SOLC_VERSION := 0.8.37
# npm tools for the end-to-end tests: solc-js compiles contracts; ethers.js v6 and Hardhat (with its ethers
# plugin and chai) run their suites against a devnet (tests/e2e/test_ethereum_tooling.py)
NPM_TOOLS := solc@$(SOLC_VERSION) ethers@6.17.0 hardhat@2.29.1 @nomicfoundation/hardhat-ethers@3.1.3 chai@4.5.0
TOOLS  := .tools/.installed-$(SOLC_VERSION)-ethers6.17.0-hardhat2.29.1

.PHONY: devnet testnet test test-long bench lint install clean system-tools

# Debian's chromium (the dashboard's browser tests drive it with Playwright; never `playwright install`)
# and prometheus with promtool (the alerting rules' test), installed only when missing
system-tools:
	@command -v chromium >/dev/null && command -v prometheus >/dev/null && command -v promtool >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium prometheus; }

# The package's bytecode is compiled once here: an editable install writes none, and with
# PYTHONDONTWRITEBYTECODE set (as the shells on these machines have it) every node process compiled all of
# harmony again at its start (0.3 s of its 1.3 s of import CPU at load 9; issue 15). A file changed since is
# compiled in memory at each import, as before.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m compileall -q harmony
	touch $(STAMP)

install: $(STAMP)

$(TOOLS):
	npm install --no-audit --no-fund --silent --prefix .tools $(NPM_TOOLS)
	touch $(TOOLS)

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

# --dist loadscope: a module's tests stay on one worker, as the e2e modules need (one devnet per module, tests in
# order); loadgroup cannot do it with pytest 9 (xdist renames node IDs that pytest 9 no longer reads) and
# worksteal splits modules. Modules go in path order (the long e2e ones early, the many short unit ones fill the
# end), not largest-first, which would leave the e2e modules, few tests each but minutes long, for last.
test: lint $(TOOLS) system-tools
	$(VENV)/bin/pytest -n 2 --dist loadscope --no-loadscope-reorder -m "not slow" --durations=30 tests

test-long: $(STAMP) $(TOOLS) system-tools
	$(VENV)/bin/pytest -n 2 --dist loadscope --no-loadscope-reorder tests

bench: $(STAMP)
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done
	@echo "== bench/coding.py on namespaced links"; $(PY) bench/coding.py --block-kib 100 --mbit 25 --latency-ms 40

clean:
	rm -rf $(VENV) .tools .mypy_cache .ruff_cache .pytest_cache

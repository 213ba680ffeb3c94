# Two entry points (see README): `make rehearse` and `make test`.
# Everything they need is installed here from the project's own files.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
STACK ?= dev
# Source of truth for what the linters and type checker look at.
CODE := contract roadmap components provisioner policies secrets functions tests bench scripts __main__.py

.PHONY: setup rehearse test lint lint-ruff lint-format lint-types validate clean lock

setup: $(STAMP)

# Every package, direct or transitive, comes from requirements.lock (pip constraints), so two
# machines never resolve different versions; `make lock` rewrites it after a pin changes.
$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required; set PYTHON=python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	$(BIN)/provisioner build
	bash scripts/ensure-chromium.sh || echo "warning: no chromium; the report browser tests will fail in CI and be skipped here"
	touch $(STAMP)

# The main job: deploy the dev stack into the embedded AWS emulator and prove it works.
rehearse: setup
	$(BIN)/provisioner rehearse --stack $(STACK)

validate: setup
	$(BIN)/provisioner validate

# One target per check, so the pre-commit hooks (.pre-commit-config.yaml) run these same
# commands and nothing else.
lint: lint-ruff lint-format lint-types

lint-ruff: setup
	$(BIN)/ruff check $(CODE)

lint-format: setup
	$(BIN)/ruff format --check $(CODE)

lint-types: setup
	$(BIN)/mypy
	$(BIN)/mypy policies/__main__.py

# Test files are spread over the machine's cores (at most four: each worker holds its own
# session fixtures), whole files to a worker so a file's module fixtures are made once.
test: lint
	$(BIN)/python -m pytest -q -n auto --maxprocesses 4 --dist loadfile

# The lock covers Python 3.11 and later on every platform (uv's universal resolution).
lock: setup
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
		--no-header --quiet -o requirements.lock

clean:
	rm -rf $(VENV) .build .pytest_cache .mypy_cache .ruff_cache

# Two commands on a fresh machine: `make demo` runs the main job, `make test` runs the whole suite.
PYTHON ?= python3.11
# pipefail: a failed pip install must fail the build even though its output is filtered.
SHELL := bash
.SHELLFLAGS := -eo pipefail -c
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck system-deps clean bench

# The first run takes about 3 minutes (mostly downloading and unpacking torch and the Pulumi SDK);
# later runs reuse .venv. Each long step announces itself; pip prints only what it collects.
$(STAMP): requirements.txt runtime/requirements.txt pyproject.toml
	@echo "==> [1/3] creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@echo "==> [2/3] installing the pinned requirements (first run: about 3 minutes)"
	$(BIN)/pip install --progress-bar off -r requirements.txt | { grep --line-buffered -E '^(Collecting|Successfully installed)' || true; } | cut -c1-100
	@echo "==> [3/3] installing phistack itself (editable)"
	$(BIN)/pip install -qq --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Debian packages the real test components need (rsyslog, SoftHSM2, Chromium); idempotent.
system-deps:
	scripts/install-system-deps.sh

demo: $(STAMP)
	$(BIN)/phistack demo

test: $(STAMP) system-deps
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

bench: $(STAMP) system-deps
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

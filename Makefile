# Every target bootstraps .venv by itself (idempotent: re-installs only when pyproject.toml changes).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LINT_DIRS := $(wildcard src tests bench)

.PHONY: demo test check lint fmt bench snapshots clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/opsconsole demo

test: $(STAMP)
	$(BIN)/ruff format --check $(LINT_DIRS)
	$(BIN)/ruff check $(LINT_DIRS)
	env -u NO_COLOR -u TEXTUAL_THEME $(BIN)/pytest -q -p no:cacheprovider

check: $(STAMP)
	$(BIN)/ruff format --check $(LINT_DIRS)
	$(BIN)/ruff check $(LINT_DIRS)
	$(BIN)/mypy
	env -u NO_COLOR -u TEXTUAL_THEME $(BIN)/pytest -q -p no:cacheprovider

fmt: $(STAMP)
	$(BIN)/ruff format $(LINT_DIRS)
	$(BIN)/ruff check --fix $(LINT_DIRS)

snapshots: $(STAMP)
	env -u NO_COLOR -u TEXTUAL_THEME $(BIN)/pytest -q tests/snapshots --snapshot-update

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) build dist *.egg-info

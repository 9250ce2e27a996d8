# One command to run the bot, one to check everything. Each creates .venv when missing and
# installs the project into it from pyproject.toml, so a fresh clone needs only Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run demo test lint typecheck sync check bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[rehearsal]"
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,rehearsal]"
	touch $@

run: $(VENV)/.installed-run
	$(BIN)/python -m bot

demo: $(VENV)/.installed-run
	$(BIN)/python -m bot demo

sync: $(VENV)/.installed-run
	$(BIN)/python -m bot sync

# Checks the configuration (token, secret, data folder, database, prompt files); changes nothing.
check: $(VENV)/.installed-run
	$(BIN)/python -m bot check

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/python -m pytest

# Benchmarks against a bare discord.py bot and raw aiosqlite (a few minutes); see README.
bench: $(VENV)/.installed-test
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache

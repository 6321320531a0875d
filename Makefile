# The two commands of the README's quick start. Each builds .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint fmt dist clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Opens the console on the demo programs, starting their daemon first if none answers.
# Quitting the console leaves the daemon running; `.venv/bin/circus-tui ctl quit` stops it.
run: $(STAMP)
	$(BIN)/circus-tui --config docs/examples/demo.toml

test: $(STAMP)
	$(BIN)/ruff check daemon tui tests docs
	$(BIN)/ruff format --check daemon tui tests docs
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

# The sdist and the wheel, as they would be published, in dist/.
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .

bench: $(STAMP)
	$(BIN)/python -m pytest -q -s tests/bench

lint: $(STAMP)
	$(BIN)/ruff check daemon tui tests docs
	$(BIN)/ruff format --check daemon tui tests docs

fmt: $(STAMP)
	$(BIN)/ruff format daemon tui tests docs
	$(BIN)/ruff check --fix daemon tui tests docs

clean:
	rm -rf $(VENV) dist build *.egg-info

# Quick start on a fresh machine with Python 3.11: `make demo`, then `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-unit bench chaos lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/aispm demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-unit: $(STAMP)
	$(BIN)/python -m pytest -q -m "not integration"

bench: $(STAMP)
	$(BIN)/python -m streams.harness.bench

# >= 100,000 events while the worker is SIGKILLed 8 times and the store fails once; one JSON line out.
chaos: $(STAMP)
	$(BIN)/python -m streams.harness.chaos

lint: $(STAMP)
	$(BIN)/ruff check streams schemas models tests

clean:
	rm -rf $(VENV) var

# CallScope: `make demo` runs the main job offline, `make test` runs the whole suite.
# Both set everything up from nothing (a .venv with CPU torch and the offline models).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test install lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# CPU torch first, from its own pin, so nothing below pulls a CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/callscope import-labels data/demo/calls.jsonl
	$(BIN)/callscope status

test: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check app ingest retrieval eval tests

bench: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m eval.bench_ingest

clean:
	rm -rf .callscope .pytest_cache

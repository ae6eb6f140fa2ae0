# CallScope: `make demo` runs the main job offline, `make test` runs the whole suite.
# Both set everything up from nothing (a .venv with CPU torch and the offline models).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test install lint bench bench-labels clean

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
	$(BIN)/python data/demo/split_eval.py .callscope/demo-eval
	HF_HUB_OFFLINE=1 $(BIN)/callscope eval classify --train .callscope/demo-eval/train.jsonl \
		--test .callscope/demo-eval/test.jsonl --text-col turns --label-col labels
	HF_HUB_OFFLINE=1 $(BIN)/callscope ask "Which customers asked to speak to a supervisor?" --k 3
	HF_HUB_OFFLINE=1 $(BIN)/callscope ask "客户的快递为什么延误了？" --k 2
	HF_HUB_OFFLINE=1 $(BIN)/callscope eval labels --out .callscope/label-report

test: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check app ingest retrieval eval tests

bench: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m eval.bench_ingest

# The label-quality noise benchmark compares with cleanlab (AGPL-3.0, benchmark-only extra).
bench-labels: $(STAMP)
	$(BIN)/pip install --quiet -e ".[bench]"
	HF_HUB_OFFLINE=1 $(BIN)/python -m eval.bench_labels --per-label 0 --json docs/bench_labels.json

clean:
	rm -rf .callscope .pytest_cache

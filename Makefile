# CallScope: `make demo` runs the main job offline, `make test` runs the whole suite.
# Both set everything up from nothing (a .venv with CPU torch and the offline models).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test stress install lint bench bench-labels clean screenshots

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# CPU torch first, from its own pin, so nothing below pulls a CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	# The Ray extra too, so `make stress` runs the Ray path on a local 2-CPU cluster.
	$(BIN)/pip install --quiet -e ".[dev,ray]"
	# The local-llm extra: llama.cpp built for this CPU (no AMX; ~5 minutes the first time,
	# then from pip's wheel cache) and the 0.5B model the real-LLM tests run (tests/llm_real).
	$(BIN)/callscope llm install qwen2.5-coder-0.5b
	touch $(STAMP)

# The whole main job on the bundled demo corpus, offline, then the API and UI on
# http://127.0.0.1:8000 (Ctrl+C stops). `callscope demo --no-serve` stops before serving.
demo: $(STAMP)
	HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False $(BIN)/callscope demo

# The layer contract first (pyproject.toml [tool.importlinter]): a wrong import fails here.
# Three pytest workers on two cores: much of the suite waits on subprocesses, servers and the
# browser, and 3 finished in 597 s where 2 took 702-742 s (docs/benchmarks.md "Suite time").
test: $(STAMP)
	$(BIN)/lint-imports --no-cache
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -n 3 --dist loadfile

# The long suites (docs/benchmarks.md "Stress"): schema fuzzing with many examples per API
# operation, kill -9 during imports and a served job, the Ray batch on a local cluster, the
# search-index build at 7,500 turns, then the load benchmark on a real server.
stress: $(STAMP)
	$(BIN)/lint-imports --no-cache
	FUZZ_EXAMPLES=300 HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -m stress tests/app/api/test_fuzz.py
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -m stress tests --ignore=tests/app/api/test_fuzz.py
	HF_HUB_OFFLINE=1 $(BIN)/python -m eval.bench_load --json docs/bench_load.json

# The UI's browser tests, saving a screenshot of each tab (installs Debian chromium if missing).
screenshots: $(STAMP)
	CALLSCOPE_SCREENSHOTS=docs/screenshots HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False \
		$(BIN)/python -m pytest tests/ui/test_browser.py tests/ui/test_browser_insights.py -q

lint: $(STAMP)
	$(BIN)/ruff check app ingest retrieval eval tests ui

bench: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m eval.bench_ingest

# The label-quality noise benchmark compares with cleanlab (AGPL-3.0, benchmark-only extra).
bench-labels: $(STAMP)
	$(BIN)/pip install --quiet -e ".[bench]"
	HF_HUB_OFFLINE=1 $(BIN)/python -m eval.bench_labels --per-label 0 --json docs/bench_labels.json

clean:
	rm -rf .callscope .pytest_cache

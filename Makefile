# Every target sets up .venv by itself, so a fresh clone needs only python3 and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test fuzz bench lint clean system-deps

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP) system-deps
	$(PY) -m glassgrad demo

# glass draws with Graphviz's dot and checks its SVGs in Chromium; without root this only warns.
system-deps:
	@command -v dot >/dev/null && command -v chromium >/dev/null || \
		(apt-get update && apt-get install -y graphviz chromium) || \
		echo "warning: could not install graphviz/chromium; glass picture tests will skip"

test: $(STAMP) system-deps
	$(PY) -m pytest -q -n 2 tests

# The differential fuzzer's long profile: FUZZ_N random programs (default 2000) on PyTorch and
# glassgrad; prints each mismatch class with a reduced, runnable reproducer.
fuzz: $(STAMP)
	cd tests && FUZZ_N=$${FUZZ_N:-2000} PYTHONPATH=../src:$$PYTHONPATH ../$(PY) -m fuzz

bench: $(STAMP)
	$(PY) benchmarks/run.py
	$(PY) benchmarks/distributed.py

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks examples tools
	$(VENV)/bin/ruff format --check src tests benchmarks examples tools

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache glassgrad-demo

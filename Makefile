# execbench — the README's commands.  `make run` and `make test` do all set-up on a fresh clone.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test test-slow test-browser test-backends bench notebook wheel smoke-wheel clean

setup: $(STAMP)

# the package (editable) with the LEM stack, the dev tools and the upstream `lems` comparison extra;
# --no-compile: pip's byte-compiling of all 1.7 GB took 56 of the 94 s.  Instead, execbench/bytecode.py
# compiles site-packages (test suites aside), the package and its strategies on all cores (about 16 s on
# 2): Python would write a module's bytecode on first use, but never where PYTHONDONTWRITEBYTECODE is set
$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"execbench needs Python 3.11, found {sys.version.split()[0]}"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-compile -e ".[lem,agents,dev,upstream,dashboard]"
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m execbench.bytecode
	touch $(STAMP)

# the headline command: the LEM from its shipped unified crypto checkpoint (strategies/checkpoints/lem-crypto)
run: setup
	$(BIN)/execbench run --strategy lem --asset BTCUSDT

# one worker per core; each test file runs whole on one worker (its module fixtures are built once);
# the long end-to-end checks run under `make test-slow` (CI runs both), the browser test under `make test-browser`
test: setup
	$(BIN)/python -m pytest -n auto --dist loadfile -m "not browser and not slow"

# the long end-to-end checks (`@pytest.mark.slow`: LEM training and checkpoints, the compare report, the
# example notebook, a Dask sweep, ...): CI runs them after `make test`
test-slow: setup
	$(BIN)/python -m pytest -n auto --dist loadfile -m "slow and not browser"

# the dashboard in headless Chromium (Debian's chromium and chromium-driver, installed here if missing; needs
# apt and root or sudo); screenshots and the measured load times go to reports/examples/dashboard/
test-browser: setup
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { 	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); 	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver; }
	EXECBENCH_SCREENSHOTS=reports/examples/dashboard $(BIN)/python -m pytest tests/test_dashboard_browser.py -m browser -s

# the LEM tests under keras' other backends, where installed into the venv (not part of CI), e.g.
#   .venv/bin/pip install tensorflow-cpu   or   .venv/bin/pip install torch
# TensorFlow's oneDNN kernels reorder float sums, so two identical models can differ at 1e-7; the
# round-trip tests demand identical allocations, hence TF_ENABLE_ONEDNN_OPTS=0.
test-backends: export TF_ENABLE_ONEDNN_OPTS = 0
test-backends: export TF_CPP_MIN_LOG_LEVEL = 2
test-backends: setup
	@for backend in tensorflow torch; do \
	  if $(BIN)/python -c "import $$backend" 2>/dev/null; then \
	    echo "== LEM tests with KERAS_BACKEND=$$backend"; \
	    KERAS_BACKEND=$$backend $(BIN)/python -m pytest tests/test_lem_model.py tests/test_lem_loss.py \
	      tests/test_lem_features.py tests/test_lem_strategy.py tests/test_lem_upstream.py || exit 1; \
	  else echo "== $$backend is not installed in $(VENV): skipped"; fi; \
	done

bench: setup
	$(BIN)/python benchmarks/bench_engine.py
	$(BIN)/python benchmarks/bench_lem.py
	$(BIN)/python benchmarks/bench_env.py
	$(BIN)/python benchmarks/bench_cli.py
	$(BIN)/python benchmarks/bench_sweep.py
	$(BIN)/python benchmarks/bench_policies.py
	$(BIN)/python benchmarks/bench_allocator.py
	$(BIN)/python benchmarks/bench_results_file.py
	$(BIN)/python benchmarks/bench_commands.py

notebook: setup
	$(BIN)/python examples/build_notebook.py

# the wheel: the library, the built-in strategies (execbench.strategies), the bundled data
# (execbench.bundled) and the shipped LEM checkpoint
wheel: setup
	rm -rf dist build  # setuptools reuses build/lib: a file deleted from the tree would stay in the wheel
	$(BIN)/python -m build --wheel --outdir dist . > /dev/null
	@ls -l dist/*.whl

# the wheel installed into a clean venv outside the checkout, run from an unrelated folder (CI runs it);
# packages come from pip's cache of the first install
smoke-wheel: wheel
	@d=$$(mktemp -d) && trap 'rm -rf "$$d"' EXIT && \
	  $(PYTHON) -m venv "$$d/venv" && "$$d/venv/bin/python" -m pip install --quiet --no-compile "$$(ls $(CURDIR)/dist/*.whl)" && \
	  cd "$$d" && venv/bin/execbench assets > /dev/null && \
	  venv/bin/execbench run --strategy twap --asset BTCUSDT --test-start 2026-04-01 --out "$$d/run" && \
	  test -s "$$d/run/paper_table.csv" && venv/bin/execbench report "$$d/run" > /dev/null && \
	  test -s "$$d/run/report.pdf" && echo "smoke-wheel: the wheel runs and reports outside the checkout"

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis

# gan-course: two commands are the contract.
#   make lab   set everything up (once) and open the course in JupyterLab
#   make test  set everything up (once) and run the unit tests and every notebook under nbval
# Set-up is idempotent: a second run reuses .venv and the downloaded data.

PYTHON      ?= python3
VENV        ?= .venv
PY          := $(VENV)/bin/python
# torch first, pinned: an open range resolves to a ~2.6 GB CUDA build on a machine without torch.
# Override for another build, e.g. make lab TORCH_SPEC="torch==2.13.* --index-url https://download.pytorch.org/whl/cu128"
TORCH_SPEC  ?= torch==2.13.*
STAMP       := $(VENV)/.installed
DATASET     ?= mnist
LAB_PORT    ?= 8888
# JupyterLab refuses to run as root unless told; containers and cloud GPU boxes often are root.
LAB_ARGS    ?= $(if $(filter 0,$(shell id -u)),--allow-root,)
PYTEST_ARGS ?=

.PHONY: help setup data lab test test-unit test-notebooks test-browser bench clean-venv

help:
	@echo "make lab           set up and open the course in JupyterLab"
	@echo "make test          set up and run unit tests + every notebook under nbval (quick mode)"
	@echo "make test-browser  drive JupyterLab in headless Chromium (installs chromium via apt)"
	@echo "make bench         python -m ganlib bench on this machine"

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

setup: $(STAMP)

data: setup
	$(PY) -m ganlib fetch-data $(DATASET)

lab: data
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks --ServerApp.port=$(LAB_PORT) $(LAB_ARGS)

test: data
	GANLIB_QUICK=1 MPLBACKEND=Agg $(PY) -m pytest -q -p no:cacheprovider \
	  --nbval-lax --nbval-current-env --nbval-cell-timeout=1800 \
	  tests notebooks/*.ipynb $(PYTEST_ARGS)

test-unit: setup
	GANLIB_QUICK=1 MPLBACKEND=Agg $(PY) -m pytest -q tests $(PYTEST_ARGS)

test-notebooks: data
	GANLIB_QUICK=1 $(PY) -m pytest -q -p no:cacheprovider --nbval-lax --nbval-current-env notebooks/*.ipynb $(PYTEST_ARGS)

test-browser: data
	bash tests/browser/setup.sh
	$(PY) -m pytest -q -p no:cacheprovider tests/browser $(PYTEST_ARGS)

bench: setup
	$(PY) -m ganlib bench

clean-venv:
	rm -rf $(VENV)

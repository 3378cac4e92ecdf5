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
# JupyterLab settings for this venv (news fetching and update checks off, so a first open asks
# nothing); the source is .jupyter/lab-overrides.json.
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json
DATASET     ?= mnist
LAB_PORT    ?= 8888
# JupyterLab refuses to run as root unless told; containers and cloud GPU boxes often are root.
LAB_ARGS    ?= $(if $(filter 0,$(shell id -u)),--allow-root,)
PYTEST_ARGS ?=
# make test-lowest: a second venv with every non-torch dependency (runtime and dev) at exactly the
# minimum pyproject.toml declares, torch as TORCH_SPEC; the pins are derived, never written twice.
LOWEST_VENV  ?= .venv-lowest
LOWEST_PY    := $(LOWEST_VENV)/bin/python
LOWEST_STAMP := $(LOWEST_VENV)/.installed
LOWEST_PINS  := $(LOWEST_VENV)/lowest-pins.txt
define LOWEST_PINS_PY
import re, sys, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
specs = project["dependencies"] + [s for extra in project.get("optional-dependencies", {}).values() for s in extra]
for spec in specs:
    m = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9][A-Za-z0-9_.]*)", spec.replace(" ", ""))
    if m is None:
        sys.exit(f"test-lowest: write {spec!r} in pyproject.toml as name>=version")
    if m[1].lower() != "torch":
        print(f"{m[1]}=={m[2]}")
endef
export LOWEST_PINS_PY

.PHONY: help setup data lab test test-unit test-notebooks test-browser bench clean-venv test-lowest notebooks

help:
	@echo "make lab           set up and open the course in JupyterLab"
	@echo "make test          set up and run unit tests + every notebook under nbval (quick mode)"
	@echo "make test-browser  drive JupyterLab in headless Chromium (installs chromium via apt)"
	@echo "make test-lowest   the same tests at the lowest dependency versions pyproject.toml declares"
	@echo "make bench         python -m ganlib bench on this machine"
	@echo "make notebooks     re-execute every notebook from the top in full mode (what is committed)"

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

$(LAB_OVERRIDES): .jupyter/lab-overrides.json | $(STAMP)
	@mkdir -p $(dir $@)
	cp $< $@

setup: $(STAMP) $(LAB_OVERRIDES)

data: setup
	$(PY) -m ganlib fetch-data $(DATASET)

lab: data
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks --ServerApp.port=$(LAB_PORT) $(LAB_ARGS)

test: data
	GANLIB_QUICK=1 MPLBACKEND=Agg $(PY) -m pytest -q -p no:cacheprovider \
	  --nbval-lax --nbval-current-env --nbval-cell-timeout=1800 \
	  tests notebooks/*.ipynb $(PYTEST_ARGS)

$(LOWEST_STAMP): pyproject.toml
	@test -x $(LOWEST_PY) || $(PYTHON) -m venv $(LOWEST_VENV)
	$(LOWEST_PY) -m pip install --quiet --upgrade pip
	$(LOWEST_PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(LOWEST_PY) -c "$$LOWEST_PINS_PY" > $(LOWEST_PINS)
	$(LOWEST_PY) -m pip install --quiet -r $(LOWEST_PINS) -e ".[dev]"
	@touch $(LOWEST_STAMP)

test-lowest: $(LOWEST_STAMP)
	@echo "test-lowest: $$(tr '\n' ' ' < $(LOWEST_PINS))$$($(LOWEST_PY) -c 'import torch; print("torch==" + torch.__version__)')"
	$(LOWEST_PY) -m ganlib fetch-data $(DATASET)
	GANLIB_QUICK=1 MPLBACKEND=Agg $(LOWEST_PY) -m pytest -q -p no:cacheprovider \
	  --nbval-lax --nbval-current-env --nbval-cell-timeout=1800 \
	  tests notebooks/*.ipynb $(PYTEST_ARGS)

test-unit: setup
	GANLIB_QUICK=1 MPLBACKEND=Agg $(PY) -m pytest -q tests $(PYTEST_ARGS)

test-notebooks: data
	GANLIB_QUICK=1 $(PY) -m pytest -q -p no:cacheprovider --nbval-lax --nbval-current-env notebooks/*.ipynb $(PYTEST_ARGS)

# Installs Debian's chromium (apt) and the playwright client when missing; GANLIB_BROWSER=1 runs the
# browser tests even under GANLIB_QUICK=1; under CI=true a missing chromium fails instead of skipping.
test-browser: data
	PY=$(PY) bash tests/browser/setup.sh
	GANLIB_BROWSER=1 MPLBACKEND=Agg $(PY) -m pytest -q -p no:cacheprovider tests/browser $(PYTEST_ARGS)

bench: setup
	$(PY) -m ganlib bench

# What is committed: one clean full run of every notebook from the top, in a fresh kernel each.
# Earlier runs of notebooks 05/06 would be shown rather than retrained, so runs/ is moved aside
# first (nothing is deleted). No per-cell timing metadata and no widget state (the explorer stores
# a static picture), so a re-execution changes only what it computed.
notebooks: data
	@if [ -d runs ]; then dest=runs.before-$$(date +%Y%m%d-%H%M%S); mv runs $$dest; echo "moved runs/ to $$dest"; fi
	for nb in notebooks/[0-9]*.ipynb; do \
	  MPLBACKEND=module://matplotlib_inline.backend_inline $(PY) -m jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.timeout=-1 --ExecutePreprocessor.record_timing=False \
	    --ExecutePreprocessor.store_widget_state=False "$$nb" || exit 1; \
	done

clean-venv:
	rm -rf $(VENV)

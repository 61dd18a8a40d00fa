# Quick start: `make demo` (install into .venv and run the main job), `make test` (install and test).
# Every target installs into .venv first if it is not complete yet; nothing is reinstalled after.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.pdr-installed


.PHONY: install demo renderer-demo test test-slow test-all lint format bench

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

# The main job end to end on the built-in synthetic faces (CPU, minutes): train the small preset
# with LOOCC-LV, write test outputs, extract features of the test identities' face tracks and
# cluster them by identity (ward HAC on per-track means, the paper's BBT/Buffy protocol).
# Re-running resumes (or, once finished, only re-evaluates) runs/demo.
demo: $(STAMP)
	$(PY) run.py --config experiments/demo.yaml --num_workers 2
	$(PY) run.py test --checkpoint runs/demo/best.pt --split test --max_images 16 --num_workers 0 --overwrite
	$(PY) run.py extract --checkpoint runs/demo/best.pt --split tracks --output runs/demo/features_tracks.npz --num_workers 0 --overwrite
	$(PY) clustering/cluster_eval.py runs/demo/features_tracks.npz --groups depth,albedo --attributes identity --output_dir runs/demo --overwrite

renderer-demo: $(STAMP)
	$(PY) -m unsup3d.renderer.demo --output docs/renderer_demo.png

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Default suite: CPU only, slow tests left out (pyproject addopts: -m 'not slow').
test: lint
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q

# The tests marked slow (longer than ~30 s each).
test-slow: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q -m slow

test-all: lint
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q -m "slow or not slow"

bench: $(STAMP)
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

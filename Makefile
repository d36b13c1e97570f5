# corpuskit: `make data` then `make train`. Every target installs what it needs first.
PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
WORKERS ?= $(shell nproc 2>/dev/null || echo 2)
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# text `make train` scores in bits per byte after training: web pages and a textbook, neither in
# the embedded corpus (the held-out books are: corpuskit/ablation/heldout/README.md)
HELDOUT ?= corpuskit/ablation/heldout/web.txt.gz,corpuskit/ablation/heldout/textbook.txt.gz

.PHONY: install data train test bench clean help

help:
	@echo "make data    install, then run pipelines/default.yaml on the embedded corpus -> data/ and data/report.html"
	@echo "make train   train the default model on data/shards -> runs/default, report in runs/report.html"
	@echo "make test    install, then run the test suite"
	@echo "make bench   run the benchmark scripts (prints figures)"

$(PY):
	$(PYTHON) -m venv $(VENV)

# torch is installed first and pinned (a CPU build on this project's machines);
# override with `make data TORCH=torch==2.x`.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

data: $(STAMP)
	$(VENV)/bin/corpuskit run pipelines/default.yaml --output data --workers $(WORKERS)
	$(VENV)/bin/corpuskit report data --output data/report.html

train: $(STAMP)
	$(PY) -m trainer train --config trainer/configs/default.yaml --data data/shards --out runs/default --overwrite \
	  heldout=$(HELDOUT)
	$(VENV)/bin/corpuskit report data --output runs/report.html \
	  $$(for m in runs/*/metrics.jsonl; do printf -- '--train %s ' "$${m%/metrics.jsonl}"; done)

# The browser test renders the run report in a real headless Chromium (Debian's package).
test: $(STAMP)
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
	  || echo "could not install chromium: the browser test will be skipped"
	$(PY) -m pytest -q tests

bench: $(STAMP)
	@echo "bench: some scripts need the dev sets in ../shared/corpora (CORPUSKIT_SHARED=DIR for another copy); without them they print 'skipped: needs ...'"
	@for script in bench/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf data runs

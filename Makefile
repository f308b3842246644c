# Two commands do everything on a fresh machine:  make run  (dashboard)  ·  make test  (whole suite)
# While developing:  make test-fast  (all but the slow and browser tests)
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
PORT ?= 8501

.PHONY: setup run test test-fast lint format bench browser clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $(STAMP)

setup: $(STAMP)

run: setup
	$(VENV)/bin/streamlit run app.py --server.port $(PORT)

# Debian's Chromium for the browser tests; installed when missing and we may (root), otherwise those tests skip.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null) || \
	  echo "chromium not installed: the browser tests will skip"; }

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# the whole suite in two worker processes, each test file kept on one worker (its module fixtures, a trained run or
# a Ray instance, are made once): 486 s on 2 cores where one process took 777 s, and CI's box 919 s with setup
test: setup browser lint
	$(PY) -m pytest -n 2 --dist loadfile

# everything but the tests marked slow (real training, subprocesses) and the browser tests, in two worker
# processes (pytest-xdist): about 50 s of pytest on 2 cores
test-fast: setup lint
	$(PY) -m pytest -q -n 2 -m "not slow and not browser"

bench: setup
	$(PY) -m nnlab bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

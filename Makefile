# The two commands of the README:
#   make lab   install everything and start JupyterLab with the extension on the demo notebook
#   make test  install what the tests need and run all of them
# Only Python 3, node and npm need to be on the machine; everything else is
# installed into .venv by pip and jlpm (from the committed yarn.lock).

PYTHON ?= python3
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
PORT ?= 8888
# Extra arguments for `jupyter lab`, e.g. LAB_ARGS="--no-browser --ip=0.0.0.0".
LAB_ARGS ?=
# Extra arguments for pytest, e.g. PYTEST_ARGS="-k restart".
PYTEST_ARGS ?=
# The Python suite's processes (pytest-xdist; each runs whole files, so a
# module's server or Hub is started once). Its tests mostly wait on kernels
# and servers, so two share two cores well; PYTEST_WORKERS=0 runs it in one.
PYTEST_WORKERS ?= 2
# Runs of the Python suite under CPU load for `make stress`.
N ?= 5

.PHONY: lab test user-dirs-snapshot lint docs i18n fuzz soak test-min test-python test-upstream test-js test-ui test-compat bench-ui stress install-lab install-test chromium clean

# The venv's jupyter, jlpm and node tools first on PATH for sub-commands.
export PATH := $(BIN):$(PATH)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# `labextension develop`: an editable install copies the built labextension
# into the venv's share/jupyter, where JupyterLab would keep serving that copy
# after the next `jlpm build`; a link to the source tree's build serves each one.
# The link is taken away before pip installs again: pip would write the
# wheel's install.json through it into the build, and the next build would
# refuse a second install.json.
LINKED := $(VENV)/share/jupyter/labextensions/jupyter-session-ext

install-lab: $(BIN)/python
	if [ -L $(LINKED) ]; then rm $(LINKED); fi
	$(BIN)/python -m pip install --quiet -e ".[lab]" -c constraints/lab.txt
	$(BIN)/jupyter labextension develop . --overwrite

install-test: $(BIN)/python
	if [ -L $(LINKED) ]; then rm $(LINKED); fi
	$(BIN)/python -m pip install --quiet -e ".[test]" -c constraints/test.txt
	$(BIN)/jupyter labextension develop . --overwrite

lab: install-lab
	cd demo && $(BIN)/jupyter lab active_sessions_demo.ipynb --port=$(PORT) \
		--ServerApp.allow_root=True $(LAB_ARGS)

# Everything: the linters, the docs, server tests (real server and kernels),
# jupyter_server's own tests with the extension loaded, the panel's unit
# tests, the browser tests (Galata in headless Chromium), and the wheel beside
# older and newer Jupyters; then that the user's own Jupyter and IPython
# folders are as they were before.
test: user-dirs-snapshot lint docs test-python test-upstream test-js test-ui test-compat
	$(BIN)/python tests/untouched_dirs.py check $(USER_DIRS_BEFORE)

# What the user's Jupyter and IPython folders hold before the tests run.
USER_DIRS_BEFORE := $(abspath $(VENV))/user-dirs-before.json
user-dirs-snapshot: install-test
	$(BIN)/python tests/untouched_dirs.py snapshot $(USER_DIRS_BEFORE)

# ruff (lint and format) and mypy (strict on the state core) over the Python;
# eslint and prettier over the TypeScript and the fleet page's JavaScript.
lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	jlpm lint

# The translations: the messages of labextension/src and the settings schema
# read into labextension/i18n/jupyter_session_ext.pot, each catalog
# (jupyter_session_ext/locale/<lang>/LC_MESSAGES/jupyter_session_ext.po)
# brought in step with it, how many each has left to translate, and the JSON
# JupyterLab reads made from them. A new language: make i18n NEW_LANGUAGE=de_DE.
NEW_LANGUAGE ?=
i18n: install-test
	$(BIN)/python labextension/i18n/extract.py $(if $(NEW_LANGUAGE),--init $(NEW_LANGUAGE))
	$(BIN)/python labextension/i18n/compile.py

# The documentation site (Sphinx, MyST), warnings as errors: docs/_build/html.
docs: install-test
	$(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

test-python: install-test chromium
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# jupyter_server's kernel, session, event and gateway tests (from the sdist of
# the installed version, fetched by pip) with the extension in every ServerApp.
test-upstream: install-test
	$(BIN)/python tests/upstream/run.py

# The shapers of untrusted input with many more generated examples than
# `make test` runs (tests/test_shapers.py), and the OpenAPI fuzzing.
fuzz: install-test
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -s tests/test_shapers.py tests/test_fuzz.py $(PYTEST_ARGS)

# The Python suite N times with two CPU hogs: counts per test (tests/stress.py).
stress: install-test
	$(BIN)/python tests/stress.py -n $(N) $(PYTEST_ARGS)

test-js: install-test
	jlpm test

# Debian's Chromium: Playwright's own browser download does not work here.
# Root (CI) installs it with apt-get; anyone else is told what to install,
# never asked for a password. CHROMIUM_PATH names a Chromium elsewhere.
CHROMIUM_PATH ?= /usr/bin/chromium
export CHROMIUM_PATH
chromium:
	@if [ -x "$(CHROMIUM_PATH)" ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q chromium; \
	else \
		echo "The browser tests need Chromium, and there is none at $(CHROMIUM_PATH)." >&2; \
		echo "Install it (Debian: sudo apt-get install chromium; elsewhere your system's" >&2; \
		echo "Chromium) and, if it is not at /usr/bin/chromium, name it:" >&2; \
		echo "  make test CHROMIUM_PATH=/path/to/chromium" >&2; \
		exit 1; \
	fi

ui-tests/node_modules/.package-lock.json: ui-tests/package-lock.json
	cd ui-tests && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund

test-ui: install-test chromium ui-tests/node_modules/.package-lock.json
	cd ui-tests && npx playwright test

# The wheel of HEAD (committed changes only: it is built from a clean tree)
# installed with no node on PATH beside JupyterLab 4.0, 4.4 and 4.6 and
# Notebook 7.0, each in a venv of its own (tests/compat_venv.py): JupyterLab
# lists it as compatible, its browser check passes, the lab extra keeps the
# JupyterLab there (tests/compat), and the panel's core scenario in each
# (ui-tests/compat). The wheel and the venvs are kept in .venv-compat/ and
# remade when HEAD's tree or the pins change.
test-compat: install-test chromium ui-tests/node_modules/.package-lock.json
	$(BIN)/python -m pytest tests/compat
	cd ui-tests && npx playwright test --config playwright-compat.config.js

# The Python suite with the lowest versions pyproject.toml claims, on the
# lowest and the newest Python it claims (tests/min_versions.py; not part of
# `make test`: it needs those Pythons, e.g. from pyenv).
MIN_PYTHONS ?= 3.10 3.13
test-min: install-test
	$(BIN)/python tests/min_versions.py --python $(MIN_PYTHONS) $(PYTEST_ARGS)

# The soak with faults: many kernels for many minutes against their clients'
# ground truth, once per seed (benchmarks/soak.py; not part of `make test`).
# Writes the "soak" section of benchmarks/RESULTS.md.
SEEDS ?= 1 2 3
MINUTES ?= 10
soak: install-test
	cd benchmarks && $(BIN)/python soak.py --kernels 15 --minutes $(MINUTES) --seed $(SEEDS)

# The panel's cost in Chromium with 100 and 20 busy real kernels; writes the
# "panel" section of benchmarks/RESULTS.md (not part of `make test`).
bench-ui: install-test chromium ui-tests/node_modules/.package-lock.json
	cd ui-tests && npx playwright test --config playwright-bench.config.js

clean:
	rm -rf $(VENV) .upstream .venv-compat node_modules lib jupyter_session_ext/labextension tsconfig.tsbuildinfo \
		ui-tests/node_modules ui-tests/test-results ui-tests/playwright-report

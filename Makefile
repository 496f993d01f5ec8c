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

.PHONY: lab test install-lab install-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install-lab: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[lab]"

install-test: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"

lab: install-lab
	cd demo && $(BIN)/jupyter lab active_sessions_demo.ipynb --port=$(PORT) \
		--ServerApp.allow_root=True $(LAB_ARGS)

test: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) node_modules lib jupyter_session_ext/labextension tsconfig.tsbuildinfo

# The two commands of the README: `make demo` and `make test`.
# Each creates .venv and installs fcnlib with its dev extra when missing, so a fresh machine needs nothing else.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test bench clean-venv

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/fcn demo

# Quick mode shrinks the notebooks' data and epochs; nbval re-executes every notebook.
test: $(STAMP)
	FCNLIB_QUICK=1 TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python -m pytest -q --nbval-lax tests notebooks

bench: $(STAMP)
	$(BIN)/fcn bench all

clean-venv:
	rm -rf $(VENV)

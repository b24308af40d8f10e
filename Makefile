# Two commands: `make book` builds the HTML book (every chapter executed),
# `make test` runs the unit tests and every chapter under nbval.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
JOBS   ?= auto
STAMP  := $(VENV)/.expreg-installed

# Progress bars are noise in logs and in the built pages.  (Do not set MPLBACKEND:
# the kernels' inline backend is what puts the figures into the pages.)
export TQDM_DISABLE = 1
unexport MPLBACKEND

.PHONY: book test env clean

env: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[book,test]"
	touch $(STAMP)

book: $(STAMP)
	rm -rf _build/.doctrees _build/html
	$(BIN)/jupyter-book build . --all -W -n --keep-going
	@echo "Book: $(CURDIR)/_build/html/index.html"

test: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) --dist loadfile

clean:
	rm -rf _build

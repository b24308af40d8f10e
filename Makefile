# Two commands: `make book` builds the HTML book (every chapter executed),
# `make test` runs the unit tests and every chapter under nbval.
# Also: `make pdf` (the whole book as one PDF; needs LaTeX), `make check-html`
# (headless Chromium opens every built chapter page), `make lock` (refresh the lock).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
JOBS   ?= auto
STAMP  := $(VENV)/.expreg-installed
# Exact versions of the book toolchain (see README, "The lock").  The lock was
# resolved on one Python minor version; on another one `make env` says so and
# installs from the ranges in pyproject.toml.  `make env LOCK=` skips it.
LOCK   ?= requirements/book-lock.txt
JB     := $(BIN)/jupyter-book build . --all -W -n --keep-going

# Progress bars are noise in logs and in the built pages.  (Do not set MPLBACKEND:
# the kernels' inline backend is what puts the figures into the pages.)
export TQDM_DISABLE = 1
unexport MPLBACKEND

.PHONY: book test env clean pdf check-html lock

env: $(STAMP)

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@want=$$(sed -n 's/^# python: //p' $(LOCK) 2>/dev/null); \
	have=$$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	if [ -n "$(LOCK)" ] && [ "$$want" = "$$have" ]; then \
	  echo "installing with the lock $(LOCK) (Python $$have)"; \
	  $(BIN)/python -m pip install --quiet -c $(LOCK) -e ".[book,test]"; \
	else \
	  echo "no lock for Python $$have (lock: '$$want'): installing from the ranges in pyproject.toml"; \
	  $(BIN)/python -m pip install --quiet -e ".[book,test]"; \
	fi
	touch $(STAMP)

book: $(STAMP)
	rm -rf _build/.doctrees _build/html
	$(JB)
	@echo "Book: $(CURDIR)/_build/html/index.html"

# pytest runs one kernel per core in parallel: one BLAS thread each keeps the cores from being
# oversubscribed (an explicit setting in the environment wins).
test: $(STAMP)
	OPENBLAS_NUM_THREADS=$${OPENBLAS_NUM_THREADS:-1} OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} \
	  $(BIN)/python -m pytest -n $(JOBS) --dist loadfile

# The whole book as one PDF, with the HTML's chapter, equation and lemma numbers
# (Jupyter Book's LaTeX builder, XeLaTeX).  Needs a TeX installation (README, "PDF").
pdf: $(STAMP)
	@command -v latexmk >/dev/null && command -v xelatex >/dev/null || \
	  { echo "make pdf needs latexmk and xelatex (see README, 'PDF')"; exit 1; }
	rm -rf _build/.doctrees _build/latex
	$(BIN)/jupyter-book build . --all -W -n --keep-going --builder pdflatex
	$(BIN)/python tools/check_pdf.py _build/latex/book.pdf _build/html
	@echo "PDF: $(CURDIR)/_build/latex/book.pdf"

# Headless Chromium opens every chapter page of the built book (builds it first
# if there is none).  Prints a skip line and succeeds where Chromium is missing.
check-html: $(STAMP)
	test -f _build/html/index.html || $(MAKE) book
	$(BIN)/python tools/check_html.py _build/html

# Resolve the ranges of pyproject.toml afresh in a scratch venv and freeze it.
lock:
	rm -rf _build/lock-venv
	$(PYTHON) -m venv _build/lock-venv
	_build/lock-venv/bin/python -m pip install --quiet --upgrade pip
	_build/lock-venv/bin/python -m pip install --quiet -e ".[book,test]"
	_build/lock-venv/bin/python tools/lock.py _build/lock-venv/bin/python $(LOCK)
	rm -rf _build/lock-venv

clean:
	rm -rf _build

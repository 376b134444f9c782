# iam-catalog. `make catalog` and `make test` work on a fresh machine: each
# creates the virtualenv and installs the project first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CORPUS_SRC := ../shared/corpus
# Where tests and the bench find the unpacked corpus.
IAM_CATALOG_CORPUS ?= $(CURDIR)/build/corpus
export IAM_CATALOG_CORPUS

.PHONY: venv catalog test lint bench corpus clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	@# The editable install maps iam_catalog to ./iam_catalog through setuptools' finder, so
	@# only iam_catalog is importable (not parsers/, output/, scraper/); setuptools warns that
	@# a folder of that name in the working directory takes precedence, which is the point here.
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

corpus:
	@if [ -d "$(CORPUS_SRC)" ]; then $(CORPUS_SRC)/unpack.sh "$(IAM_CATALOG_CORPUS)" >/dev/null; \
	else echo "no corpus at $(CORPUS_SRC); corpus tests need IAM_CATALOG_CORPUS" >&2; fi

# Fetch snapshots/<UTC date>/ and build it; with no network, build fixtures/pages (see --help).
catalog: $(STAMP)
	$(BIN)/iam-catalog regenerate --snapshots snapshots --out build/catalog --fixtures fixtures/pages

test: $(STAMP) corpus
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP) corpus
	$(BIN)/python -m tests.bench

clean:
	rm -rf build .pytest_cache

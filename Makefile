# dsnwatch: make install | test | lint | accuracy | bench
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORPUS ?= ../shared/dsn-corpus

.PHONY: install test lint accuracy bench clean

$(BIN)/dsnwatch: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/dsnwatch ## a .venv with the project and its dev extras

test: install ## every test, the lab included
	DSNWATCH_CORPUS=$(CORPUS) $(BIN)/pytest -q

lint: install ## ruff, formatting and types
	$(BIN)/ruff check dsnwatch tests
	$(BIN)/ruff format --check dsnwatch tests
	$(BIN)/mypy dsnwatch

accuracy: install ## score the DSN reader on the corpus
	$(BIN)/python -m dsnwatch.dsn.score $(CORPUS)

bench: install ## messages per second, with Sisimai beside it when installed
	$(BIN)/python -m dsnwatch.dsn.bench $(CORPUS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# dsnwatch: make install | test | lint | accuracy | bench | faults | lab | lab-down | screenshots
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORPUS ?= ../shared/dsn-corpus
SHOTS ?= docs/images

.PHONY: install demo test lint accuracy bench fuzz faults clean engine lab lab-down lab-status lab-test screenshots

$(BIN)/dsnwatch: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	DSNWATCH_PURE_PYTHON=1 $(BIN)/pip install -q -e '.[dev]'
	touch $@

# The hot modules compiled in place with mypyc (setup.py), again whenever a source changes.
READER_BUILT := build/.readers-compiled
$(READER_BUILT): $(BIN)/dsnwatch setup.py $(wildcard dsnwatch/dsn/*.py dsnwatch/logs/*.py)
	@echo "compiling the DSN reader and the log readers (mypyc)..."
	$(BIN)/python setup.py -q build_ext --inplace > build-reader.log 2>&1 || (cat build-reader.log; exit 1)
	@rm -f build-reader.log
	@mkdir -p build && touch $@

install: $(BIN)/dsnwatch $(READER_BUILT) ## a .venv with the project and its dev extras; the readers compiled

demo: install engine ## the lab, the DSN pipeline installed in it, and the console on it
	$(BIN)/dsnwatch lab up
	$(BIN)/dsnwatch --lab install
	$(BIN)/dsnwatch --lab

test: install engine ## every test, the lab included
	DSNWATCH_CORPUS=$(CORPUS) $(BIN)/pytest -q

lint: install ## ruff, formatting and types
	$(BIN)/ruff check dsnwatch tests setup.py
	$(BIN)/ruff format --check dsnwatch tests setup.py
	$(BIN)/mypy dsnwatch

accuracy: install ## score the DSN reader on the corpus
	$(BIN)/python -m dsnwatch.dsn.score $(CORPUS)

bench: install ## every benchmark with its peers (lab figures need `make lab`); writes docs/benchmarks.md
	$(BIN)/python -m dsnwatch.bench --corpus $(CORPUS)

fuzz: install ## the long fuzz campaign: 100,000 cases on the DSN reader and the log readers
	DSNWATCH_FUZZ_EXAMPLES=100000 DSNWATCH_CORPUS=$(CORPUS) $(BIN)/pytest -q tests/test_fuzz.py \
		-k "never_raise" -p no:cacheprovider --hypothesis-show-statistics

faults: install engine ## the fault run against the lab: restarts, re-creation, engine restart, IMAP drop, rotation
	$(BIN)/python -m dsnwatch.faults

engine: install ## a Docker engine for the lab: a private dockerd if none answers (root only)
	@$(BIN)/dsnwatch lab engine start --if-needed || [ "$$(id -u)" != 0 ]

lab: install engine ## build (once) and start the lab; writes .lab/lab.toml
	$(BIN)/dsnwatch lab up

lab-down: install ## remove the lab's containers (the image and mailboxes stay)
	$(BIN)/dsnwatch lab down

lab-status: install ## each lab service's health
	$(BIN)/dsnwatch lab status

lab-test: install engine ## the lab tests only
	$(BIN)/pytest -q tests/lab

screenshots: install engine ## the console's screens as SVG, from the real console on the lab, in $(SHOTS)
	$(BIN)/dsnwatch lab up
	$(BIN)/dsnwatch --lab install
	DSNWATCH_TESTS_MIN_INTERVAL=0 $(BIN)/dsnwatch --lab test all
	$(BIN)/python -m dsnwatch.tui.screenshots $(SHOTS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dsnwatch/*.so dsnwatch/dsn/*.so dsnwatch/logs/*.so

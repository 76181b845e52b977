# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint check-migrations bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/jvap db upgrade
	$(BIN)/jvap demo
	$(BIN)/jvap serve

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(MAKE) check-migrations

# The models and the migrations must agree (`alembic check` on a scratch database).
check-migrations: install
	@tmp=$$(mktemp -d) && \
	JVAP_DATABASE_URL=sqlite:///$$tmp/check.db $(BIN)/alembic upgrade head && \
	JVAP_DATABASE_URL=sqlite:///$$tmp/check.db $(BIN)/alembic check && rm -rf $$tmp

bench: install
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) var

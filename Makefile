# Two commands matter: `make run` and `make test`. Both work from a fresh clone and are idempotent.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 5000
# pytest-xdist processes: one per core by default.
TEST_WORKERS ?= $(shell nproc 2>/dev/null || echo 2)
LINT_PATHS := incident_service workers seeds tests bench config.py setup.py

.PHONY: run test install translations lint typecheck services browser bench clean

# workers/ is listed so that an editable install made before the package existed is redone.
$(STAMP): pyproject.toml setup.py constraints.txt workers/__init__.py
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP) translations

translations: $(STAMP)
	@if ls incident_service/translations/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then \
		$(BIN)/pybabel -q compile -d incident_service/translations; fi

run: install
	$(BIN)/incident-service init
	$(BIN)/incident-service seed
	$(BIN)/incident-service run --host 127.0.0.1 --port $(PORT) --no-reload

services:
	bash scripts/ensure_services.sh

browser:
	bash scripts/ensure_chromium.sh
	bash scripts/ensure_axe.sh

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

typecheck: $(STAMP)
	$(BIN)/mypy

test: install services browser lint typecheck
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadgroup

bench: install services
	$(BIN)/python bench/intake.py
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/queue.py
	$(BIN)/python bench/release.py
	$(BIN)/python bench/login_flood.py

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache .hypothesis

# Cunyi: `make run` serves the Leye demo on 127.0.0.1:8000; `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= 2

.PHONY: run test install migrate seed messages lint clean

$(STAMP): requirements.in requirements-dev.in constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.in -r requirements-dev.in -c constraints.txt
	touch $(STAMP)

install: $(STAMP)

migrate: install
	mkdir -p var
	$(BIN)/python manage.py migrate --no-input -v 0

seed: migrate
	$(BIN)/python manage.py load_seeds

run: seed
	$(BIN)/python manage.py collectstatic --no-input -v 0
	@echo "Serving on http://127.0.0.1:8000/ (admin: /admin/, phone pages: /m/, API docs: /api/docs/). Ctrl-C stops web, worker and beat."
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile.dev

test: install
	mkdir -p var
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

messages: install
	for app in core clinics clinics/settlements staffing staffing/rosters staffing/payroll telemedicine notifications operations dashboard config; do \
		(cd $$app && $(CURDIR)/$(BIN)/django-admin makemessages -l zh_Hans --no-obsolete >/dev/null && \
		 $(CURDIR)/$(BIN)/django-admin compilemessages >/dev/null) || exit 1; done

# lint-imports checks the dependency rules of pyproject.toml's [tool.importlinter] contracts.
lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-logo --cache-dir var/import_linter_cache

clean:
	rm -rf var/broker var/static

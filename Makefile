# Two commands do everything: `make run` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint migrate demo clean worker listen system-deps

$(PY):
	@python_bin=$$(sh .ci/find-python) || exit 1; \
	echo "Creating $(VENV) with $$python_bin"; \
	"$$python_bin" -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

system-deps:
	@sh .ci/system-deps

migrate: $(STAMP) system-deps
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py demo_load

run: demo
	@echo "Serving on http://$(HOST):$(PORT)/  (cart: /cart/, pharmacy site: /pharmacy/)"
	@echo "Outbox worker started: HL7 goes to the destinations set in /pharmacy/"
	@$(PY) manage.py outbox_worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	$(PY) manage.py runserver $(HOST):$(PORT)

worker: migrate
	$(PY) manage.py outbox_worker

listen: $(STAMP)
	$(PY) manage.py mllp_listen --port 2575

test: $(STAMP) system-deps
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles

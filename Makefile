# Two commands do everything: `make run` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
HL7_IN_PORT ?= 2576

.PHONY: run test lint migrate demo clean worker listen system-deps messages rules-doc

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
	@echo "HL7 from the HIS: MLLP on 127.0.0.1:$(HL7_IN_PORT) (try: $(PY) manage.py his_simulate --port $(HL7_IN_PORT))"
	@$(PY) manage.py outbox_worker & worker=$$!; \
	$(PY) manage.py mllp_inbound --port $(HL7_IN_PORT) & inbound=$$!; \
	trap 'kill $$worker $$inbound 2>/dev/null; wait $$worker $$inbound' EXIT INT TERM; \
	$(PY) manage.py runserver $(HOST):$(PORT)

worker: migrate
	$(PY) manage.py outbox_worker

listen: $(STAMP)
	$(PY) manage.py mllp_listen --port 2575

# The interop tests run independent validators and peers under node (package.json).
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

test: $(STAMP) system-deps node_modules/.package-lock.json
	$(PY) -m pytest $(PYTEST_ARGS)

# After adding or changing user-facing text: refresh the catalogues, translate the empty entries,
# then run it again to compile. No source locations: they make every merge of the .po conflict.
messages: $(STAMP)
	$(PY) manage.py makemessages -l vi --no-location --ignore=.venv --ignore=bench --ignore=tests --ignore=staticfiles --ignore=node_modules -v0
	$(PY) manage.py compilemessages -v0 --ignore=.venv

# docs/rules.md, the rules page the pharmacy and therapeutics committee signs off, is written from
# scanning/rules/catalogue.py: run this after changing a rule, its words or its tests, and commit it.
rules-doc: $(STAMP)
	$(PY) manage.py rules_doc

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-logo
	$(VENV)/bin/mypy
	$(PY) manage.py rules_doc --check

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles

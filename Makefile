# `make run`: the whole product on this machine (SQLite, filesystem broker, sandbox marketplace).
# `make test`: the test suite (SQLite here; PostgreSQL + Redis when DATABASE_URL / REDIS_URL are set).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test venv clean

venv: $(STAMP)

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(STAMP)

run: export DEBUG ?= 1
run: export IMPORT_INTERVAL_SECONDS ?= 15
run: export PATH := $(abspath $(BIN)):$(PATH)
run: venv
	mkdir -p var/broker/queue var/broker/processed
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py ensure_admin
	$(BIN)/python manage.py seed_demo
	$(BIN)/honcho start

# Tests publish Celery messages to Redis when it is configured (the real-worker test needs that),
# and to an in-memory broker otherwise.
test: export CELERY_BROKER_URL := $(or $(REDIS_URL),memory://)
test: venv
	$(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var db.sqlite3 db.sqlite3-wal db.sqlite3-shm

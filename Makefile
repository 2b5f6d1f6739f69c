# `make run`: the whole product on this machine (SQLite, filesystem broker, sandbox marketplace).
# `make test`: the test suite (SQLite here; PostgreSQL + Redis when DATABASE_URL / REDIS_URL are set).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test venv clean property hand-mutants mutation

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
	mkdir -p var/broker/queue var/broker/processed var/broker/control
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py ensure_admin
	$(BIN)/python manage.py seed_demo
	$(BIN)/honcho start

# Tests publish Celery messages to Redis when it is configured (the real-worker test needs that),
# and to an in-memory broker otherwise.
test: export CELERY_BROKER_URL := $(or $(REDIS_URL),memory://)
test: venv
	$(BIN)/pytest $(PYTEST_ARGS)

# Slow exhaustive checks of the money and sync rules (README: "Checking the tests"); not in CI.
PROPERTY_TESTS := tests/creditmemos/test_money_properties.py tests/creditmemos/test_exactly_once.py
property: export CELERY_BROKER_URL := $(or $(REDIS_URL),memory://)
property: venv
	HYPOTHESIS_PROFILE=thorough $(BIN)/pytest $(PROPERTY_TESTS) $(PYTEST_ARGS)

hand-mutants: export CELERY_BROKER_URL := $(or $(REDIS_URL),memory://)
hand-mutants: venv
	$(BIN)/python tools/hand_mutants.py $(MUTANTS)

# mutmut (requirements-mutation.txt, configured in setup.cfg) on SQLite and the in-memory broker, so
# its parallel children share no database; same random data for every mutant (derandomized
# hypothesis, fixed factory seed); niced, to leave the shared cores to interactive work.
# MUTANTS narrows the run to mutant-name patterns, e.g. MUTANTS='creditmemos.rules*'; without it,
# mutants already checked keep their result (rm -rf mutants to start over).
MUTATION_STAMP := $(VENV)/.mutation-installed
$(MUTATION_STAMP): requirements-mutation.txt $(STAMP)
	$(BIN)/pip install --quiet -r requirements-mutation.txt
	touch $(MUTATION_STAMP)

mutation: $(MUTATION_STAMP)
	env -u DATABASE_URL -u REDIS_URL -u CI CELERY_BROKER_URL=memory:// HYPOTHESIS_PROFILE=mutation \
		FACTORY_SEED=$(or $(FACTORY_SEED),9) nice -n 10 \
		$(BIN)/mutmut run --max-children $(or $(MUTATION_CHILDREN),2) $(MUTANTS)
	$(BIN)/python tools/mutation_score.py

clean:
	rm -rf $(VENV) var db.sqlite3 db.sqlite3-wal db.sqlite3-shm mutants

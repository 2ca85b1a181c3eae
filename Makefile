# The two commands of the README. Everything else a developer or CI needs follows from them.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Run the product on the embedded default: SQLite, in-process tasks, the simulator.
run: $(STAMP)
	DJANGO_DEBUG=1 $(VENV)/bin/python manage.py demo $(ADDR)

# Run the test suite (embedded by default; set DATABASE_URL/REDIS_URL for the real services).
test: $(STAMP)
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

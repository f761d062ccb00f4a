# The two set-up commands: `make run` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run sandbox test screenshots bench bench-memory clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

# With no .env and no TIPLINE_BOT_TOKEN: the sandbox (the real bot against a local Telegram
# emulator, played in a browser; nothing reaches Telegram). With them: the real bot.
run: $(VENV)/.installed
	@if [ ! -f .env ] && [ -z "$$TIPLINE_BOT_TOKEN" ]; then \
		exec $(BIN)/tipline sandbox; \
	fi; \
	exec $(BIN)/tipline run

sandbox: $(VENV)/.installed
	@exec $(BIN)/tipline sandbox

test: $(VENV)/.installed-test
	$(BIN)/ruff check bot handlers storage sandbox tests benchmarks
	$(BIN)/ruff format --check bot handlers storage sandbox tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q

# The screenshots in docs/: the browser test's tour, saved there (needs chromium, see .ci/run).
screenshots: $(VENV)/.installed-test
	TIPLINE_SCREENSHOTS=docs $(BIN)/python -m pytest -q tests/browser

bench: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks

# Not part of `make bench`: 2 x 10,000 tips in one bot process, about 15-25 minutes.
bench-memory: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks --phases memory

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis

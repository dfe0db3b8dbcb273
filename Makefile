# Two entry points for a fresh Linux machine with Python 3.11:
#   make demo   install into ./.venv, then run the whole method on the built-in synthetic scene
#   make test   install into ./.venv, then run the whole test suite
# Both install on first use only (the stamp file tracks pyproject.toml).

PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
# nerfstudio needs torch + torchvision from one release line; on x86_64 these are the builds that
# load together (PyPI's torchvision beside the CPU-only torch 2.13 wheel does not). Override on
# other platforms or CUDA versions, e.g. `make TORCH_SPEC="torch==2.9.1 torchvision==0.24.1" test`.
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
DEMO_OUTPUT ?= demo_output
PYTEST_ARGS ?=

.PHONY: install demo test clean

$(BIN)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11 or run make PYTHON=python3"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade --quiet pip
	$(BIN)/pip install --quiet $(TORCH_SPEC)
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/humansync-demo --output $(DEMO_OUTPUT)

test: install
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(DEMO_OUTPUT) .pytest_cache

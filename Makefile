# Stance Station: `make run` starts the station (simulated unless configured otherwise),
# `make test` sets up and runs every check, `make bench` writes the benchmark report.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# On a Raspberry Pi, picamera2 and libcamera come from the OS packages: let the venv see them.
SYSTEM_SITE := $(shell test -d /usr/lib/python3/dist-packages/picamera2 && echo --system-site-packages)

.PHONY: run test bench lint typecheck debian-test-deps install-pi pi-check clean

$(BIN)/python:
	$(PYTHON) -m venv $(SYSTEM_SITE) $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@echo "Installing the station into $(VENV) ..."
	$(BIN)/python -m pip install --quiet --progress-bar off -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	@echo "Installing the station with its development tools into $(VENV) ..."
	$(BIN)/python -m pip install --quiet --progress-bar off -e '.[dev]'
	@touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/station serve

debian-test-deps:
	@bash scripts/ensure-debian-packages.sh chromium systemd shellcheck poppler-utils faketime desktop-file-utils

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

test: $(VENV)/.installed-dev debian-test-deps
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python -m pytest

bench: $(VENV)/.installed-dev debian-test-deps
	$(BIN)/python -m bench

install-pi:
	bash scripts/install-pi.sh

# The install on an emulated arm64 Debian (debootstrap + qemu-user-static, as root; the
# root is cached in .cache/): minutes, so not part of `make test`. docs/raspberry-pi.md.
pi-check:
	bash scripts/pi-check.sh

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

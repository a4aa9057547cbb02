# 出口退税桌面客户端 — set-up, run, test.
# `make run` and `make test` build everything they need on a fresh machine.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

# Debian packages the tests and the real window need: Qt's offscreen/xcb platform,
# a CJK font (PDFs, screenshots), pdftoppm, Xvfb for screenshots, makensis for the installer.
DEB_PACKAGES := libgl1 libegl1 libfontconfig1 libxkbcommon0 libglib2.0-0 libdbus-1-3 \
	libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 \
	libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libx11-xcb1 \
	fonts-noto-cjk poppler-utils xvfb nsis

.PHONY: run test check bench fuzz dist sysdeps venv clean screenshots

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory sysdeps
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Installs the missing Debian packages when we are root on a Debian-like system; otherwise
# says which are missing and goes on (the Python side still installs).
sysdeps:
	@missing=""; \
	if command -v dpkg-query >/dev/null 2>&1; then \
	  for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	  done; \
	fi; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "warning: missing system packages:$$missing (install them as root)"; \
	  fi; \
	fi

run: $(STAMP)
	$(BIN)/python -m ui.main

test: $(STAMP)
	$(BIN)/python -m pytest -q

check: $(STAMP)
	$(BIN)/ruff check app server_stub ui tests installer
	$(BIN)/ruff format --check app server_stub ui tests installer
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m tests.benchmarks

fuzz: $(STAMP)
	$(BIN)/python -m pytest -q tests/fuzz --fuzz-cases=2000

dist: $(STAMP)
	$(BIN)/python installer/build.py

clean:
	rm -rf build dist *.egg-info

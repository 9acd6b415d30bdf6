# Two commands on a fresh machine (see README):
#   make run    set up .venv and open the app (streamlit run app.py)
#   make test   set up .venv with the test tools and Chromium, then run the whole suite
#
# Installs are tracked by stamp files inside .venv, so a second `make run` starts at once and a
# change to a requirements file reinstalls.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8501
# Open a browser tab only where there is a display to open it on (.streamlit/config.toml says
# headless for classroom servers).
HEADLESS := $(if $(DISPLAY)$(WAYLAND_DISPLAY),false,true)

.PHONY: run test test-fast setup setup-dev chromium bench docker clean

run: setup
	$(BIN)/python -m streamlit run app.py --server.port $(PORT) --server.headless $(HEADLESS)

# The whole suite, browser tests included. OMP_NUM_THREADS=1 keeps the small test models from
# fighting over the cores with the Streamlit server the browser tests start.
test: setup-dev
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest

# Everything except the slow and browser tests, for a quick edit-test loop.
test-fast: setup-dev
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -m "not slow and not browser"

bench: setup
	$(BIN)/python -m transformer bench

# A CPU image for a class server (docs/DEPLOY.md); needs Docker, which `make run` does not.
docker:
	docker build -t transformer-lab .

setup: $(VENV)/.installed

setup-dev: $(VENV)/.installed-dev chromium

$(BIN)/python:
	@# Debian/Ubuntu ship venv separately; install it when we are allowed to.
	$(PYTHON) -m venv $(VENV) || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update && apt-get install -y python3-venv && rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); \
	  else echo "python3 -m venv failed: install python3-venv (Debian/Ubuntu) and retry." >&2; exit 1; fi; }

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(BIN)/python -m pip install -r requirements-dev.txt
	touch $@

# Playwright's own browser download cannot reach its CDN from the project's machines, so the
# browser tests drive Debian's Chromium at /usr/bin/chromium.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	  else \
	    echo "Note: /usr/bin/chromium is missing and this is not a root Debian shell;" \
	         "browser tests will be skipped (in CI they fail). Install it with: sudo apt-get install chromium"; \
	  fi; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache test-results

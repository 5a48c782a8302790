# mt5crs.mesh: one-command setup, lab, demo and tests. Run as root on Debian/Ubuntu.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
INVENTORY ?= inventory/lab
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

# Debian packages for the lab (nspawn, netns, stand-ins) and the integration tests (real servers;
# prometheus: promtool for the alert rules and a real Prometheus in the lab test; chromium: the
# docs screenshot test).
APT_PACKAGES := debootstrap systemd-container iproute2 iptables iputils-ping openssh-client \
	dnsmasq-base openssl redis-server postgresql git rsync prometheus chromium

.PHONY: setup apt venv lab-up lab-down lab-status demo test check test-unit test-integration \
	sanity lint molecule bench chaos build clean mutation test-matrix galaxy-import ansible-test docs bench-ops release vendor

setup: apt venv

apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
		| grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "setup: installing $$missing"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@echo "setup: creating $(VENV) with pinned dependencies"
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	@$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	@touch $@

lab-up: setup
	@bash lab/lab.sh up

lab-down:
	@bash lab/lab.sh down

lab-status:
	@bash lab/lab.sh status

# MITOGEN=1 runs the playbook with the mitogen_linear strategy (opt-in; docs/operations-speed.md).
MITOGEN_ENV = $(if $(MITOGEN),ANSIBLE_STRATEGY=mitogen_linear ANSIBLE_STRATEGY_PLUGINS=$$($(BIN)/python -c \
	'import ansible_mitogen, os; print(os.path.join(os.path.dirname(ansible_mitogen.__file__), "plugins", "strategy"))'),)

demo: lab-up
	@$(MITOGEN_ENV) $(BIN)/ansible-playbook -i $(INVENTORY) playbooks/establish_mesh.yml

test: setup
	@bash tests/run-all.sh

# The quick tier (no lab): static checks, unit and runtime tests, mutation of the changed files.
check: setup
	@bash tests/check.sh

test-unit: setup
	@$(BIN)/pytest -q tests/unit tests/runtime

test-integration: setup
	@$(BIN)/pytest -q tests/integration

sanity: setup
	@bash tests/sanity/run.sh

lint: setup
	@$(BIN)/ansible-lint --offline --profile production -q

molecule: lab-up
	@bash tests/molecule.sh

mutation: setup
	@$(BIN)/python tests/mutation/run.py

# The collection's HTML docs (antsibull-docs + Sphinx, offline, warnings are errors).
docs: setup
	@bash docs/site/build.sh

# The lowest and highest ansible-core of meta/runtime.yml, each in its own venv (make test runs it).
test-matrix: setup
	@bash tests/matrix/run.sh

galaxy-import: setup
	@bash tests/galaxy/run.sh

ansible-test: setup
	@bash tests/ansible_test.sh

bench: setup
	@$(BIN)/python tests/bench/run_bench.py

# Operations timed on the lab against a one-task play (issue: operations speed); MITOGEN=1 for mitogen_linear.
bench-ops: lab-up
	@$(BIN)/python tests/bench/ops.py $(if $(MITOGEN),--mitogen,)

chaos: lab-up
	@$(BIN)/python tests/chaos/run_chaos.py

# The tarball carries the runtime prebuilt in roles/mesh_runtime/files/ (no src/, no pyproject.toml:
# a collection's roles read only inside the collection's own directories). DIST=dir to build elsewhere.
DIST ?= dist
# The wire package's copy for the probe modules (src/mt5mesh/wire/__init__.py says why).
vendor:
	@$(PYTHON) tools/vendor_wire.py

build: setup
	@$(PYTHON) tools/vendor_wire.py --check
	@$(BIN)/python roles/mesh_runtime/files/pack_runtime.py --prebuild . > /dev/null
	@$(BIN)/ansible-galaxy collection build --force --output-path $(DIST) .

# A release: galaxy.yml's version, CHANGELOG.rst from the fragments, a commit and a tag (docs/development.md).
release: setup
	@bash tools/release.sh "$(VERSION)"

clean:
	rm -rf dist build *.egg-info src/*.egg-info tests/output reports

#!/usr/bin/env bash
# ansible-test units and integration from the collection tree, as a collection's CI runs them:
# the module and module_utils unit tests (tests/unit), and the ZeroMQ probe modules' targets
# (tests/integration/targets) against the real gateway on loopback. --requirements installs
# tests/{unit,integration}/requirements.txt into ansible-test's venvs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ANSIBLE_TEST_COMMAND=units bash "$here/sanity/run.sh" --requirements
ANSIBLE_TEST_COMMAND=integration bash "$here/sanity/run.sh" --requirements mesh_gateway_ping mesh_gateway_heartbeat mesh_wait_for_gateway
echo "ANSIBLE-TEST PASSED: units and integration (mesh_gateway_ping, mesh_gateway_heartbeat, mesh_wait_for_gateway)"

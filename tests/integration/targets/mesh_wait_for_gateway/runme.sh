#!/usr/bin/env bash
# Against the real gateway on loopback (setup_loopback_gateway); ansible-test integration --venv.
set -eux
source ../setup_loopback_gateway/gateway.sh
start_gateway
# ansible-test refuses an implicit interpreter: the one running this test is the one to use.
ansible-playbook -i localhost, -c local test.yml -e "ansible_python_interpreter=$(command -v python)" \
    -e "rep_port=$REP_PORT pub_port=$PUB_PORT" "$@"

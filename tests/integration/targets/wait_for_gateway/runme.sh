#!/usr/bin/env bash
# Against the real gateway on loopback (setup_loopback_gateway); ansible-test integration --venv.
set -eux
source ../setup_loopback_gateway/gateway.sh
start_gateway
ansible-playbook -i localhost, -c local test.yml -e "rep_port=$REP_PORT pub_port=$PUB_PORT" "$@"

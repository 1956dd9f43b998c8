#!/usr/bin/env bash
# The whole test suite against a real local Kafka broker: venv, dev install, broker up, pytest,
# broker down. Extra arguments go to pytest (e.g. scripts/test.sh -m "not integration").
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
venv="${KAFKACTL_VENV:-$repo/.venv}"

if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -e '.[dev]'

# A broker of our own on a free port, with its data in a fresh folder, unless KAFKA_BROKERS is
# given (then the tests use that broker and this script starts nothing).
if [[ -z "${KAFKA_BROKERS:-}" ]]; then
  port="$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  cport="$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  export KAFKA_LOCAL_PORT="$port" KAFKA_LOCAL_CONTROLLER_PORT="$cport"
  KAFKA_LOCAL_DIR="$(mktemp -d -t kafkactl-test-XXXXXX)"
  export KAFKA_LOCAL_DIR
  trap 'scripts/kafka-local stop || true; rm -rf "$KAFKA_LOCAL_DIR"' EXIT
  scripts/kafka-local start
  export KAFKA_BROKERS="127.0.0.1:$port"
fi

"$venv/bin/ruff" check kafkactl tests
"$venv/bin/python" -m pytest "$@"

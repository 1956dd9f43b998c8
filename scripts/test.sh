#!/usr/bin/env bash
# The whole test suite against a real local Kafka broker: venv, dev install, broker up, pytest,
# broker down. Extra arguments go to pytest instead of the default run
# (e.g. scripts/test.sh -m "not integration").
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
venv="${KAFKACTL_VENV:-$repo/.venv}"

if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -e '.[dev,fast]'

# A broker of our own on free ports, with its data in a fresh folder, unless KAFKA_BROKERS is
# given (then the tests use that broker and this script starts nothing). Besides the plaintext
# listener it has SSL, SASL_PLAINTEXT and SASL_SSL listeners (KAFKA_LOCAL_SECURE=1) for the
# security tests, which read the KAFKA_LOCAL_* variables exported here.
# What this script started is stopped on exit, whatever happens.
cleanups=()
cleanup() { local c; for c in "${cleanups[@]}"; do eval "$c" || true; done; }
trap cleanup EXIT
if [[ -z "${KAFKA_BROKERS:-}" ]]; then
  # Five distinct free ports: plaintext, controller, SSL, SASL_PLAINTEXT, SASL_SSL. Below the
  # ephemeral range (32768-60999 here): while the broker-restart tests have it down, a client's
  # outgoing connection could otherwise take its port, and it could not bind it again.
  read -r port cport ssl_port sasl_port sasl_ssl_port < <("$venv/bin/python" -c '
import random, socket
ports, socks = [], []
while len(ports) < 5:
    port = random.randint(20000, 32000)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        s.close()
        continue
    if port not in ports:
        ports.append(port)
        socks.append(s)
print(" ".join(map(str, ports)))
')
  export KAFKA_LOCAL_PORT="$port" KAFKA_LOCAL_CONTROLLER_PORT="$cport"
  export KAFKA_LOCAL_SECURE=1 KAFKA_LOCAL_SSL_PORT="$ssl_port"
  export KAFKA_LOCAL_SASL_PLAINTEXT_PORT="$sasl_port" KAFKA_LOCAL_SASL_SSL_PORT="$sasl_ssl_port"
  export KAFKA_LOCAL_SASL_USER="${KAFKA_LOCAL_SASL_USER:-kafkactl}"
  export KAFKA_LOCAL_SASL_PASSWORD="${KAFKA_LOCAL_SASL_PASSWORD:-kafkactl-secret}"
  KAFKA_LOCAL_DIR="$(mktemp -d -t kafkactl-test-XXXXXX)"
  export KAFKA_LOCAL_DIR
  cleanups+=('scripts/kafka-local stop; rm -rf "$KAFKA_LOCAL_DIR"')
  scripts/kafka-local start
  export KAFKA_BROKERS="127.0.0.1:$port"
fi

# A schema registry of our own (scripts/schema-registry-local: built once from Maven Central,
# cached in ~/.cache/kafkactl; in memory) unless KAFKACTL_TEST_SCHEMA_REGISTRY_URL is given. Only
# the schema tests use it (they pass it to kafkactl themselves): the rest of the suite runs
# without a registry, as most users do.
if [[ -z "${KAFKACTL_TEST_SCHEMA_REGISTRY_URL:-}" ]]; then
  registry_port="$("$venv/bin/python" -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
')"
  export SCHEMA_REGISTRY_LOCAL_PORT="$registry_port"
  SCHEMA_REGISTRY_LOCAL_DIR="$(mktemp -d -t kafkactl-registry-XXXXXX)"
  export SCHEMA_REGISTRY_LOCAL_DIR
  cleanups+=('scripts/schema-registry-local stop; rm -rf "$SCHEMA_REGISTRY_LOCAL_DIR"')
  scripts/schema-registry-local start
  KAFKACTL_TEST_SCHEMA_REGISTRY_URL="$(scripts/schema-registry-local url)"
  export KAFKACTL_TEST_SCHEMA_REGISTRY_URL
fi

"$venv/bin/ruff" check kafkactl tests benchmarks
"$venv/bin/mypy"
# Without arguments: the suite on KAFKACTL_TEST_WORKERS pytest workers (default 3: two cores,
# but a test spends most of its time waiting on the broker or a subprocess), one test file per
# worker (`--dist loadfile`: a file's module fixtures, such as the Connect worker, start once),
# then the tests that restart the shared broker, alone, then the cluster fault suite (a 3-node
# cluster of its own; scripts/test.sh -m cluster runs it alone). With arguments: pytest with
# exactly those (add -n N yourself to spread them).
if [[ $# -gt 0 ]]; then
  "$venv/bin/python" -m pytest "$@"   # not exec: the EXIT trap stops what this script started
  exit $?
fi
parallel=0 serial=0
"$venv/bin/python" -m pytest -n "${KAFKACTL_TEST_WORKERS:-3}" --dist loadfile \
  -m "not restarts_broker and not cluster" || parallel=$?
"$venv/bin/python" -m pytest -m restarts_broker || serial=$?
# The cluster fault suite last, alone: it starts a 3-node cluster of its own (three more JVMs)
# and kills, pauses and restarts its nodes; the shared broker is idle by then.
cluster=0
"$venv/bin/python" -m pytest -m cluster || cluster=$?
echo "test.sh: parallel run exit $parallel, broker-restart run exit $serial," \
  "cluster run exit $cluster" >&2
[[ $parallel -eq 0 && $serial -eq 0 && $cluster -eq 0 ]]

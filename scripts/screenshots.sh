#!/usr/bin/env bash
# Pictures of kafkactl in a terminal for the README: docs/screens/*.svg (or the folder given).
# scripts/screenshots.py runs the demo's orders through consume (mid-run and after Ctrl-C),
# health, dlq summary and replay-dlq --dry-run, each on a pseudo-terminal read through a VT
# emulator, and saves each screen as SVG. On a fresh broker of its own (topic "orders", group
# "billing", as in the README), or on KAFKA_BROKERS if set (topic orders-<time>).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
venv="${KAFKACTL_VENV:-$repo/.venv}"
out="${1:-$repo/docs/screens}"

[[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
# kafkactl with the dev extra (pyte, the VT emulator); this checkout's code runs either way.
if ! PYTHONPATH="$repo" "$venv/bin/python" -c 'import kafkactl.cli.app, kafka, confluent_kafka, pyte' 2>/dev/null; then
  "$venv/bin/python" -m pip install --quiet -e '.[dev,fast]'
fi

if [[ -z "${KAFKA_BROKERS:-}" ]]; then
  read -r port cport < <("$venv/bin/python" -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
')
  export KAFKA_LOCAL_PORT="$port" KAFKA_LOCAL_CONTROLLER_PORT="$cport"
  KAFKA_LOCAL_DIR="$(mktemp -d -t kafkactl-screens-XXXXXX)"
  export KAFKA_LOCAL_DIR
  trap 'scripts/kafka-local stop || true; rm -rf "$KAFKA_LOCAL_DIR"' EXIT
  scripts/kafka-local start
  export KAFKA_BROKERS="127.0.0.1:$port" SCREENSHOTS_TOPIC=orders
fi

PYTHONPATH="$repo" "$venv/bin/python" scripts/screenshots.py "$out"

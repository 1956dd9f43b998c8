#!/usr/bin/env bash
# Creates the demo topics (orders and payments, with group billing's retry tiers and DLQ).
# Extra arguments go to kafkactl create-topics, e.g. --partitions 6.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kafkactl="${KAFKACTL:-$repo/.venv/bin/kafkactl}"
exec "$kafkactl" create-topics orders payments --group "${GROUP:-billing}" --partitions 3 "$@"

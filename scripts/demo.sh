#!/usr/bin/env bash
# The whole story in one command: produce orders, consume them with a handler that fails some,
# watch retries and the DLQ, fix the bug, replay the dead letters, and see them processed.
# Uses KAFKA_BROKERS if a broker answers there; otherwise starts the local one and stops it after.
# Likewise KAFKA_SCHEMA_REGISTRY_URL for the schema step (else scripts/schema-registry-local).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
venv="${KAFKACTL_VENV:-$repo/.venv}"
export KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:9092}"
export KAFKA_RETRY_DELAYS="${KAFKA_RETRY_DELAYS:-1s,2s,4s}"
export KAFKA_LOG_LEVEL="${KAFKA_LOG_LEVEL:-WARNING}"
export KAFKA_LOG_FORMAT="${KAFKA_LOG_FORMAT:-pretty}"
export PYTHONPATH="$repo/scripts${PYTHONPATH:+:$PYTHONPATH}"
export COLUMNS="${COLUMNS:-120}"

step() { printf '\n\033[1;34m== %s\033[0m\n' "$*" >&2; }
say() { printf '   %s\n' "$*" >&2; }

step "1. Install kafkactl into $venv"
[[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
{ "$venv/bin/python" -m pip install --upgrade pip && "$venv/bin/python" -m pip install -e '.[fast,otel,schemas]'; } \
  >"$venv/demo-install.log" 2>&1 || { cat "$venv/demo-install.log" >&2; exit 1; }
kafkactl() { "$venv/bin/kafkactl" "$@"; }
say "$(kafkactl --version)"

step "2. A Kafka broker at $KAFKA_BROKERS"
started=""
if kafkactl health --timeout 3s >/dev/null 2>&1; then
  say "a broker answers already; using it"
else
  port="${KAFKA_BROKERS##*:}"
  KAFKA_LOCAL_PORT="$port" scripts/kafka-local start
  started="$port"
fi
registry_started=""
cleanup() {
  if [[ -n "$registry_started" ]]; then scripts/schema-registry-local stop; fi
  if [[ -n "$started" ]]; then KAFKA_LOCAL_PORT="$started" scripts/kafka-local stop; fi
}
trap cleanup EXIT

run="$(date +%s)"
topic="orders-demo-$run"
group="billing"
step "3. Create $topic with the retry tiers and DLQ of group $group"
kafkactl create-topics "$topic" --group "$group" --partitions 3

step "4. Pipe 200 orders (and 2 broken lines) into produce"
orders="$(mktemp)"
"$venv/bin/python" - "$orders" <<'PY'
import json, sys
with open(sys.argv[1], "w") as out:
    for i in range(200):
        currency = "XXX" if i % 25 == 3 else "EUR"
        amount = -5 if i % 50 == 11 else 10 + i
        out.write(json.dumps({"id": i, "customer": f"c{i % 17}", "amount": amount, "currency": currency}) + "\n")
        if i == 99:
            out.write('{"id": "broken", \n')
            out.write('{"customer": "no id"}\n')
PY
say "every order is keyed by its id; broken lines are reported with their line numbers"
kafkactl produce "$topic" --key-field id --input "$orders" --reject-file "$orders.rejects" \
  || say "produce exited $? because 2 lines were rejected (see above); they are in $orders.rejects"

step "4b. Read the topic like kcat: no group, no commits, no side effect (the last 2 per partition)"
kafkactl consume "$topic" --from -2 -e -q -f '{partition}:{offset}  key {key}  {value}\n'

step "5. Consume with a handler that fails some orders (-e: stop when everything settled)"
say "negative amounts: fatal -> DLQ; currency XXX: a bug -> 3 retry tiers -> DLQ; ids ending in 7: fail once"
kafkactl consume "$topic" --group "$group" --handler demo_handler:process --workers 4 -e

step "6. The group as an operator sees it: members, lag per partition, tiers and DLQ depth"
kafkactl groups describe "$group"

step "6b. Health: lag, tiers and the dead letters waiting"
kafkactl health --topic "$topic" --group "$group" || say "health exited $?: degraded, dead letters are waiting"

step "7. What would a replay do? (--dry-run changes nothing)"
kafkactl replay-dlq "$topic" --group "$group" --dry-run

step "8. The bug is fixed (DEMO_FIXED=1). Replay only the orders that hit it, back to tier 1"
export DEMO_FIXED=1
kafkactl replay-dlq "$topic" --group "$group" --error-class LookupError --yes

step "9. Consume again: the replayed orders are processed; the fatal ones stay in the DLQ"
kafkactl consume "$topic" --group "$group" --handler demo_handler:process -e

step "10. Health after the replay"
kafkactl health --topic "$topic" --group "$group" || say "health exited $?: the negative-amount orders stay parked in the DLQ, as they should"

step "10b. A downstream outage: the breaker holds the orders instead of dead-lettering them"
otopic="$topic-outage"
ogroup="shipping"
down="$(mktemp -u)"
(
  export KAFKA_RETRY_DELAYS=1s
  kafkactl create-topics "$otopic" --group "$ogroup" --partitions 3 -q
  seq 0 299 | sed 's/.*/{"id": &}/' | kafkactl produce "$otopic" --key-field id -q
  say "the shipping service goes down after order 100 and is back 3s later; every order fails meanwhile"
  (for _ in $(seq 600); do [[ -e "$down" ]] && { sleep 3; rm -f "$down"; exit; }; sleep 0.1; done) &
  kafkactl consume "$otopic" --group "$ogroup" -e -w 8 --exec "id=\$(tr -dc 0-9)
    if [ -e '$down' ]; then echo 'shipping service unreachable' >&2; exit 1; fi
    if [ \"\$id\" = 100 ]; then touch '$down'; fi"
  wait
  say "dead letters from the outage: $(kafkactl consume "$otopic.$ogroup.dlq" -e -q | wc -l)"
)

step "11. Tracing: one order fails twice, goes to the DLQ, is replayed - one trace throughout"
ttopic="$topic-traced"
tgroup="tracing"
(
  export KAFKA_RETRY_DELAYS=1s  # one tier: attempt 1, attempt 2, then the DLQ
  kafkactl create-topics "$ttopic" --group "$tgroup" --partitions 1 -q
  echo '{"id": 9001, "amount": 5, "currency": "EUR"}' | kafkactl produce "$ttopic" --key-field id --trace -q
  say "the consume below exports its spans with the console exporter: on stderr, stdout stays clean"
  OTEL_TRACES_EXPORTER=console kafkactl consume "$ttopic" --group "$tgroup" -e -q \
    --exec 'echo "attempt $KAFKA_ATTEMPT sees TRACEPARENT=$TRACEPARENT" >&2; exit 1'
  kafkactl replay-dlq "$ttopic" --group "$tgroup" --yes -q
  kafkactl consume "$ttopic" --group "$tgroup" -e -q \
    --exec 'echo "replayed, processed with TRACEPARENT=$TRACEPARENT (same trace id)" >&2'
)

step "12. Schemas: Avro orders through a schema registry (Confluent wire format)"
if [[ -n "${KAFKA_SCHEMA_REGISTRY_URL:-}" ]] && curl -fsS -m 3 -o /dev/null "$KAFKA_SCHEMA_REGISTRY_URL/subjects" 2>/dev/null; then
  say "a schema registry answers at $KAFKA_SCHEMA_REGISTRY_URL; using it"
else
  say "starting the local registry (Apicurio from Maven Central; the first build takes a few minutes)"
  scripts/schema-registry-local start
  registry_started=1
  KAFKA_SCHEMA_REGISTRY_URL="$(scripts/schema-registry-local url)"
  export KAFKA_SCHEMA_REGISTRY_URL
fi
atopic="$topic-avro"
kafkactl create-topics "$atopic" --no-retry --partitions 1 -q
say "the schema is registered under $atopic-value; the line that does not fit is rejected by number"
printf '%s\n' '{"id": 1, "customer": "c1", "amount": 12.5, "currency": "EUR"}' \
  '{"id": 2, "customer": "c2", "amount": "lots"}' '{"id": 3, "customer": "c3", "amount": 7}' \
  | kafkactl produce "$atopic" --value-schema scripts/demo-order.avsc --key-field id \
  || say "produce exited $? because line 2 does not fit the schema"
say "on the topic: magic byte 0, the schema id, the Avro body (first record, hex):"
kafkactl consume "$atopic" --to 1 -q --decode none -f '{value}' | od -A n -t x1 | head -n 2 >&2
say "consume decodes them through the registry:"
kafkactl consume "$atopic" -e -q

step "Done. Try: kafkactl consume $topic.$group.dlq -e -f '{header:kafkactl.error.class} {value}\\n'"
rm -f "$orders" "$orders.rejects"

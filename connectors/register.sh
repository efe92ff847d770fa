#!/bin/sh
# Registers (or updates) Debezium connectors in Kafka Connect, idempotently, and waits until each runs.
#
#   connectors/register.sh [connectors/package-status.json [connectors/outbox.json ...]]
#
# CONNECT_URL      Kafka Connect REST API (default http://localhost:18083, compose's host port)
# CONNECTOR_NAME   default: the file name without .json ("package-status"); only with a single file
# WAIT_SECONDS     how long to wait for Connect and then for each connector to run (default 180 each)
#
# PUT /connectors/<name>/config creates the connector or replaces its configuration, so running this
# again is harmless. Needs only POSIX sh and curl (compose runs it in curlimages/curl).
set -eu

[ "$#" -gt 0 ] || set -- "$(dirname "$0")/package-status.json"
connect_url="${CONNECT_URL:-http://localhost:18083}"
wait_seconds="${WAIT_SECONDS:-180}"
if [ "$#" -gt 1 ] && [ -n "${CONNECTOR_NAME:-}" ]; then
  echo "register.sh: CONNECTOR_NAME names one connector; give one file with it" >&2
  exit 1
fi
for file in "$@"; do
  [ -f "$file" ] || { echo "register.sh: no such file: $file" >&2; exit 1; }
done

echo "waiting for Kafka Connect at $connect_url ..."
waited=0
until curl -fs -o /dev/null "$connect_url/connectors"; do
  waited=$((waited + 2))
  if [ "$waited" -ge "$wait_seconds" ]; then
    echo "register.sh: Kafka Connect did not answer within ${wait_seconds}s" >&2
    exit 1
  fi
  sleep 2
done

register() {
  file="$1"
  name="${CONNECTOR_NAME:-$(basename "$file" .json)}"
  echo "registering connector '$name' from $file"
  # A freshly started worker may still answer 409 (rebalance) or 500 (request timed out) for a while: retry.
  response="${TMPDIR:-/tmp}/register-$name.json"
  waited=0
  while :; do
    status=$(curl -sS -o "$response" -w '%{http_code}' -X PUT \
      -H 'Content-Type: application/json' --data @"$file" "$connect_url/connectors/$name/config" || true)
    case "$status" in
      201) echo "connector '$name' created"; break ;;
      200) echo "connector '$name' updated (or unchanged)"; break ;;
    esac
    waited=$((waited + 3))
    if [ "$waited" -ge "$wait_seconds" ]; then
      echo "register.sh: PUT /connectors/$name/config answered $status:" >&2
      cat "$response" >&2 2>/dev/null || true
      echo >&2
      exit 1
    fi
    echo "PUT answered $status, retrying: $(cat "$response" 2>/dev/null || true)"
    sleep 3
  done

  echo "waiting for connector '$name' and its task to run ..."
  waited=0
  while :; do
    # Compact the JSON's `"key": value` spacing, whatever the worker's style, so the patterns below match.
    state=$(curl -fsS "$connect_url/connectors/$name/status" 2>/dev/null | tr -d '\n' | sed 's/":[[:space:]]*/":/g' || true)
    case "$state" in
      *'"state":"FAILED"'*)
        echo "register.sh: connector '$name' failed: $state" >&2
        exit 1
        ;;
      *'"connector":{"state":"RUNNING"'*'"tasks":[{'*'"state":"RUNNING"'*)
        echo "connector '$name' is running"
        return 0
        ;;
    esac
    waited=$((waited + 2))
    if [ "$waited" -ge "$wait_seconds" ]; then
      echo "register.sh: connector '$name' not running after ${wait_seconds}s: $state" >&2
      exit 1
    fi
    sleep 2
  done
}

for file in "$@"; do
  register "$file"
done

#!/usr/bin/env bash
# Stop the Rasa server started by serve.sh on $HELPLINE_RASA_PORT (by its pid file).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

pid="$(rasa_pid)"
if [[ -z "$pid" ]]; then
  rm -f "$PID_FILE"
  echo "rasa not running on port $PORT"
  exit 0
fi
kill -TERM "$pid"
for _ in $(seq 1 30); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 1
done
if kill -0 "$pid" 2>/dev/null; then
  echo "rasa: pid $pid ignored TERM for 30 s, killing it" >&2
  kill -KILL "$pid"
fi
rm -f "$PID_FILE"
echo "rasa stopped (pid $pid)"

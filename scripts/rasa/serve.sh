#!/usr/bin/env bash
# Start the Rasa HTTP server on loopback in the background and wait until /status answers.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

WAIT_SECONDS="${HELPLINE_RASA_START_TIMEOUT:-300}"
[[ -x "$VENV/bin/rasa" ]] || die "no rasa environment: run scripts/rasa/setup.sh"
[[ -f "$MODEL_FILE" ]] || die "no model at $MODEL_FILE: run scripts/rasa/train.sh"

if [[ -n "$(rasa_pid)" ]] && rasa_status_ok; then
  echo "rasa already serving on 127.0.0.1:$PORT (pid $(rasa_pid))"
  exit 0
fi
if rasa_status_ok; then
  die "port $PORT answers but is not our server (no live pid in $PID_FILE); stop it or set HELPLINE_RASA_PORT"
fi

mkdir -p "$RASA_VAR"
# Rasa logs at INFO: startup only, never the parsed messages.
(cd "$RASA_VAR" && exec nohup "$VENV/bin/rasa" run --enable-api -i 127.0.0.1 -p "$PORT" \
  -m "$MODEL_FILE" >"$LOG_FILE" 2>&1) &
echo $! >"$PID_FILE"

start=$(date +%s)
until rasa_status_ok; do
  if [[ -z "$(rasa_pid)" ]]; then
    rm -f "$PID_FILE"
    tail -n 20 "$LOG_FILE" >&2
    die "server exited during start-up (log: $LOG_FILE)"
  fi
  if (($(date +%s) - start >= WAIT_SECONDS)); then
    tail -n 20 "$LOG_FILE" >&2
    bash "$ROOT/scripts/rasa/stop.sh" || true
    die "server did not answer /status within $WAIT_SECONDS s (log: $LOG_FILE)"
  fi
  sleep 1
done
echo "rasa serving on http://127.0.0.1:$PORT (pid $(rasa_pid), ready in $(($(date +%s) - start)) s)"

#!/usr/bin/env bash
# One command: environment, database, demo configuration, then the service. The NLU model
# trains in the background meanwhile: until it is loaded (into the running service, no
# restart), messages are analysed by the rules alone and analysed again by the model
# afterwards, where urgency only goes up (docs/nlu.md "First start").
# Embedded default: SQLite under var/. Set HELPLINE_DATABASE_URL for PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '[%3d s] %s\n' "$SECONDS" "$*"; }

step "1/5 Python environment in .venv, without the test tools (first run: about 1-2 minutes from pip's cache; then a no-op)"
bash scripts/setup.sh --runtime
export PATH="$PWD/.venv/bin:$PATH"

step "2/5 database migrations (a few seconds)"
helpline db upgrade

mkdir -p var
if python -c 'import sys; from nlu.paths import default_paths as d, model_is_current as c; sys.exit(not c(d()))'; then
  step "3/5 NLU model: current, nothing to train"
else
  step "3/5 NLU model: training in the background, niced (about 7 minutes on 2 busy cores, about 3 on a quiet one; log: var/nlu-train.log)"
  echo "      until it is loaded, messages are analysed by the rules alone (crisis concepts, harm phrases) and analysed again by the model afterwards; the console says until when"
  nice -n 10 helpline nlu train --if-missing >var/nlu-train.log 2>&1 &
fi

step "4/5 demo configuration (about 10 seconds the first time)"
helpline demo load ${HELPLINE_DEMO_PASSWORD:+--password "$HELPLINE_DEMO_PASSWORD"}

step "5/5 starting the service (answers within a few seconds)"
echo "console: http://${HELPLINE_HOST:-127.0.0.1}:${HELPLINE_PORT:-8000}/console   report form: http://${HELPLINE_HOST:-127.0.0.1}:${HELPLINE_PORT:-8000}/"
# The demo alerts in the console first (always works, no mail server needed), then by e-mail.
export HELPLINE_ALERT_CHANNEL_ORDER="${HELPLINE_ALERT_CHANNEL_ORDER:-console,email,telegram,sms,voice,webhook}"
exec helpline serve

#!/usr/bin/env bash
# One command: environment, database, NLU model, demo configuration, then the service.
# Embedded default: SQLite under var/. Set HELPLINE_DATABASE_URL for PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
helpline db upgrade
helpline nlu train --if-missing
helpline demo load ${HELPLINE_DEMO_PASSWORD:+--password "$HELPLINE_DEMO_PASSWORD"}
echo "console: http://${HELPLINE_HOST:-127.0.0.1}:${HELPLINE_PORT:-8000}/console   report form: http://${HELPLINE_HOST:-127.0.0.1}:${HELPLINE_PORT:-8000}/"
# The demo alerts in the console first (always works, no mail server needed), then by e-mail.
export HELPLINE_ALERT_CHANNEL_ORDER="${HELPLINE_ALERT_CHANNEL_ORDER:-console,email,telegram,sms,voice,webhook}"
exec helpline serve
